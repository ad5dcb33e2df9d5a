#!/usr/bin/env bash
# The binfmt backend's VM modules, one per foreign arch (arches.txt): the riscv64 machine's
# wasm build (emulators/riscv64/build/wasm/c2w-rv64.wasm) pre-booted under Wizer with the
# riscv64 kernel and an initramfs that adds /c2w-binfmt/qemu-<name> (Debian's qemu-user) and its
# binfmt_misc registration line; init registers it at boot (kernel/init: register_binfmts).
# Output: build/<oci-arch>/vm.wasm + build/licenses/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/tools/env.sh"
k="$root/kernel/build/riscv64"
vm="$root/emulators/riscv64/build/wasm/c2w-rv64.wasm"
for f in "$k/Image" "$k/initramfs.cpio" "$k/cmdline.txt" "$vm"; do
  [ -f "$f" ] || { echo "binfmt: $f missing (tools/nx run emulator-riscv64:artifact)" >&2; exit 1; }
done
deb="$(bash "$here/scripts/fetch-qemu.sh")"
out="$here/build"
rm -rf "$out.tmp"; mkdir -p "$out.tmp/licenses"
work="$(mktemp -d)"
trap 'rm -rf "$work" "$out.tmp"' EXIT
dpkg-deb -x "$deb" "$work/deb"

hex() { printf '\\x%02x' "$@"; }
# ELF header magic and mask: ident (class, byte order, version; OS ABI and ABI version
# ignored), e_type EXEC or DYN, e_machine.
registration() {
  local qemu="$1" class="$2" order="$3" machine="$4" c d magic mask
  c=$([ "$class" = 64 ] && echo 2 || echo 1); d=$([ "$order" = le ] && echo 1 || echo 2)
  magic="$(hex 0x7f 0x45 0x4c 0x46 "$c" "$d" 1 0 0 0 0 0 0 0 0 0)"
  mask="$(hex 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0 0 0xff 0xff 0xff 0xff 0xff 0xff 0xff)"
  if [ "$order" = le ]; then
    magic+="$(hex 2 0 $((machine & 255)) $((machine >> 8)))"; mask+="$(hex 0xfe 0xff 0xff 0xff)"
  else
    magic+="$(hex 0 2 $((machine >> 8)) $((machine & 255)))"; mask+="$(hex 0xff 0xfe 0xff 0xff)"
  fi
  printf ':qemu-%s:M::%s:%s:/c2w-binfmt/qemu-%s:FP\n' "$qemu" "$magic" "$mask" "$qemu"
}

start=$(date +%s)
grep -v '^#' "$here/arches.txt" | while read -r arch qemu class order machine; do
  [ -n "$arch" ] || continue
  case " ${C2W_BINFMT_ARCHES:-$arch} " in *" $arch "*) ;; *) continue ;; esac
  b="$work/boot-$arch"; mkdir -p "$b" "$work/add-$arch/c2w-binfmt"
  install -m 0755 "$work/deb/usr/bin/qemu-$qemu" "$work/add-$arch/c2w-binfmt/qemu-$qemu"
  registration "$qemu" "$class" "$order" "$machine" > "$work/add-$arch/c2w-binfmt/qemu-$qemu.reg"
  # a second newc archive after the kernel project's: the kernel unpacks both
  (cd "$work/add-$arch" && find c2w-binfmt | LC_ALL=C sort \
     | cpio --quiet -o -H newc --reproducible -R 0:0) > "$work/extra.cpio"
  cat "$k/initramfs.cpio" "$work/extra.cpio" > "$b/initramfs.cpio"
  cp "$k/Image" "$k/cmdline.txt" "$b/"
  mkdir -p "$out.tmp/$arch"
  (cd "$root" && npx wizer --allow-wasi --wasm-bulk-memory true --init-func wizer.initialize \
     --mapdir "/boot::$b" -o "$out.tmp/$arch/vm.wasm" "$vm" </dev/null)
  echo "binfmt: $arch: $(stat -c %s "$out.tmp/$arch/vm.wasm") bytes" >&2
done
cp "$root/emulators/riscv64/build/licenses/"* "$out.tmp/licenses/"
cp "$work/deb/usr/share/doc/qemu-user/copyright" "$out.tmp/licenses/qemu-user.copyright"
printf 'qemu-user %s (riscv64) from Debian 13 trixie main; licences in qemu-user.copyright\n' \
  "$(dpkg-deb -f "$deb" Version)" > "$out.tmp/licenses/qemu-user.SOURCE"
rm -rf "$out"; mv "$out.tmp" "$out"
echo "binfmt: built in $(( $(date +%s) - start )) s" >&2
