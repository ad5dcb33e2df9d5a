#!/usr/bin/env bash
# The backend's VM module: bochs.wasm pre-booted under Wizer (npm @bytecodealliance/wizer).
# wizer.initialize boots kernel/build/x86_64 (mapped at /boot) until init sends ready=1 on the
# control port; the snapshot's _start is c2w_resume. Output: build/vm.wasm + build/licenses.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
k="$root/kernel/build/x86_64"
for f in bzImage initramfs.cpio cmdline.txt; do
  [ -f "$k/$f" ] || { echo "preboot: $k/$f missing (tools/nx run kernel:artifact-x86_64)" >&2; exit 1; }
done
in="$here/build/wasm/bochs.wasm"
[ -f "$in" ] || { echo "preboot: $in missing (tools/nx run emulator-bochs:artifact-wasm)" >&2; exit 1; }
cd "$root"
start=$(date +%s.%N)
rm -f "$here/build/vm.wasm.tmp"
npx wizer --allow-wasi --wasm-bulk-memory true --init-func wizer.initialize \
  -r _start=c2w_resume --mapdir "/boot::$k" -o "$here/build/vm.wasm.tmp" "$in" </dev/null
mv "$here/build/vm.wasm.tmp" "$here/build/vm.wasm"
rm -rf "$here/build/licenses" && mkdir -p "$here/build/licenses"
cp "$here/build/wasm/licenses/"* "$here/build/licenses/"
for f in "$k"/*.copyright "$k"/*.SOURCE "$k"/SOURCE "$k"/COPYING; do
  [ -f "$f" ] && cp "$f" "$here/build/licenses/linux-$(basename "$f")"
done
for f in "$k"/LICENSES/*; do
  [ -f "$f" ] && cp "$f" "$here/build/licenses/linux-$(basename "$f")"
done
cat > "$here/build/licenses/c2w-bochs.txt" <<'TXT'
c2w Bochs backend (emulators/bochs/host, emulators/devices, emulators/host): part of c2w.
The snapshot contains Bochs (LGPL-2.1+, see bochs-*), a booted Linux kernel (GPL-2.0, linux-*)
and busybox (GPL-2.0, busybox.*) with the Debian source versions they were built from.
TXT
echo "preboot: $(stat -c %s "$here/build/vm.wasm") bytes in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
