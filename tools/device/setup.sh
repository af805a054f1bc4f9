# sourced by the device scripts (train_face.sh, finetune.sh, ...) on the device machine
export XDG_RUNTIME_DIR=/tmp WGPU_BACKEND=vulkan
for f in .gl/*.deb; do dpkg -x $f / ; done; ldconfig
mkdir -p /root/pc /root/faces
[ -x /root/pc/pconv ] || { gunzip -c gpu/pconv.gz > /root/pc/pconv && chmod +x /root/pc/pconv; }
# training faces arrive as tar (or gzipped tar) parts, one or more per call;
# they accumulate in /root/faces while the machine stays warm
for t in gpu/train*.tar gpu/train*.tgz; do [ -f "$t" ] && tar xf $t -C /root/faces --strip-components=1 --skip-old-files; done
# general-model photos (tools/device/pick_general.py) likewise, into
# /root/general/{small,large}
mkdir -p /root/general/small /root/general/large
for t in gpu/general*.tar; do [ -f "$t" ] && tar xf $t -C /root/general --strip-components=1 --skip-old-files; done
P=/root/pc/pconv
echo "faces for training: $(ls /root/faces | wc -l); photos: $(ls /root/general/small | wc -l) small, $(ls /root/general/large | wc -l) large"
$P info > $OUT/info.txt 2>&1
if ! grep -q "using: .*NVIDIA" $OUT/info.txt && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  $P info > $OUT/info.txt 2>&1
fi
head -5 $OUT/info.txt
