#!/usr/bin/env bash
# Pre-boots the riscv64 guest inside the wasm machine under Wizer (npm @bytecodealliance/wizer):
# wizer.initialize boots kernel/build/riscv64 (mapped at /boot) until init sends ready=1, and the
# snapshot is the backend's VM module: build/vm.wasm (+ build/licenses).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
k="$root/kernel/build/riscv64"
for f in Image initramfs.cpio cmdline.txt; do
  [ -f "$k/$f" ] || { echo "snapshot: $k/$f missing (tools/nx run kernel:artifact-riscv64)" >&2; exit 1; }
done
in="$here/build/wasm/c2w-rv64.wasm"
[ -f "$in" ] || { echo "snapshot: $in missing (emulators/riscv64/build.sh)" >&2; exit 1; }
cd "$root"
start=$(date +%s.%N)
npx wizer --allow-wasi --wasm-bulk-memory true --init-func wizer.initialize \
  --mapdir "/boot::$k" -o "$here/build/vm.wasm.tmp" "$in" </dev/null
mv "$here/build/vm.wasm.tmp" "$here/build/vm.wasm"
rm -rf "$here/build/licenses" && mkdir -p "$here/build/licenses"
for f in "$k"/*.copyright "$k"/*.SOURCE "$k"/COPYING* "$k"/LICENSE* "$k"/licenses/*; do
  [ -f "$f" ] && cp "$f" "$here/build/licenses/"
done
cat > "$here/build/licenses/c2w-rv64.txt" <<'TXT'
c2w riscv64 machine (emulators/riscv64, emulators/devices, emulators/host): part of c2w.
The snapshot contains a booted Linux kernel and busybox (GPL-2.0); see the other files here
for their licences and the Debian source versions they were built from.
TXT
echo "snapshot: $(stat -c %s "$here/build/vm.wasm") bytes in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
