# sourced by the device scripts (train_face.sh, finetune.sh, ...) on the device machine
export XDG_RUNTIME_DIR=/tmp WGPU_BACKEND=vulkan
for f in .gl/*.deb; do dpkg -x $f / ; done; ldconfig
mkdir -p /root/pc /root/faces
[ -x /root/pc/pconv ] || { gunzip -c gpu/pconv.gz > /root/pc/pconv && chmod +x /root/pc/pconv; }
# training faces arrive as tar (or gzipped tar) parts, one or more per call;
# they accumulate in /root/faces while the machine stays warm
for t in gpu/train*.tar gpu/train*.tgz; do [ -f "$t" ] && tar xf $t -C /root/faces --strip-components=1 --skip-old-files; done
P=/root/pc/pconv
echo "faces for training: $(ls /root/faces | wc -l)"
$P info > $OUT/info.txt 2>&1
if ! grep -q "using: .*NVIDIA" $OUT/info.txt; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  $P info > $OUT/info.txt 2>&1
fi
head -5 $OUT/info.txt
