#!/bin/bash
# Here, before a GPU window: builds what the device calls carry, at HEAD:
# gpu/pconv.gz (the stripped release binary) and gpu/t/{ops_gpu_vs_cpu,
# mixed_precision}.gz (the stripped test binaries check.sh runs), all
# git-ignored. Prints their sizes and the commit.
set -eu
cd "$(git rev-parse --show-toplevel)"
mkdir -p gpu/t
cargo build --release
strip -o /tmp/pconv-stripped target/release/pconv
gzip -c /tmp/pconv-stripped > gpu/pconv.gz
for t in ops_gpu_vs_cpu mixed_precision; do
  # The test's own executable (cargo also reports the pconv binary's).
  bin=$(cargo test --release --no-run --test $t --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["test"] and m.get("executable"):
        print(m["executable"])' | tail -n 1)
  strip -o /tmp/$t-stripped "$bin"
  gzip -c /tmp/$t-stripped > gpu/t/$t.gz
done
ls -la gpu/pconv.gz gpu/t/*.gz
echo "built at $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
