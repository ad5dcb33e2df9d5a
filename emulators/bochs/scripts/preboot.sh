#!/usr/bin/env bash
# Pre-boots the test guest inside bochs.wasm under Wizer (npm @bytecodealliance/wizer): the
# snapshot stops at the guest's ready point (its first write to port 0xf5) and its _start is
# c2w_resume. Output: build/preboot/bochs-testguest.wasm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$here/../.."
g="$here/build/test-guest"
out="$here/build/preboot"
rm -rf "$out.tmp"; mkdir -p "$out.tmp"
C2W_BOCHS_ARGS=$'--kernel\n'"$g"$'/vmlinuz\n--initrd\n'"$g"$'/initramfs.cpio\n--append\n'"$(cat "$g/cmdline.txt")" \
  "$root/node_modules/.bin/wizer" --allow-wasi --inherit-env true --inherit-stdio false --dir "$g" \
    -r _start=c2w_resume --wasm-bulk-memory true \
    -o "$out.tmp/bochs-testguest.wasm" "$here/build/wasm/bochs.wasm"
cp -r "$here/build/wasm/licenses" "$out.tmp/licenses"
rm -rf "$out"; mv "$out.tmp" "$out"
