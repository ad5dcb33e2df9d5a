#!/usr/bin/env bash
# Builds the c2w guest kernel for one arch (runs inside the build root: tools/toolchain/run).
#   kernel/scripts/build-kernel.sh riscv64|x86_64
# Config: allnoconfig + kernel/configs/common.config + kernel/configs/<arch>.config, merged with
# the kernel's scripts/kconfig/merge_config.sh; every requested symbol is checked afterwards.
# The object tree lives in $C2W_CACHE/linux/build/<debian version>/<arch> and is reused between
# builds (make only rebuilds what changed), compiler calls go through ccache.
# Outputs in kernel/build/<arch>/: Image (riscv64) or bzImage (x86_64), config, System.map,
# COPYING + LICENSES/, SOURCE (the exact Debian package and version).
set -euo pipefail
arch="${1:?usage: build-kernel.sh riscv64|x86_64}"
kdir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${C2W_CACHE:-/var/cache/c2w}"
case "$arch" in
  riscv64) karch=riscv; cross=riscv64-linux-gnu-; image=Image; imgpath=arch/riscv/boot/Image ;;
  x86_64) karch=x86; cross=; image=bzImage; imgpath=arch/x86/boot/bzImage ;;
  *) echo "build-kernel: unknown arch '$arch' (riscv64 or x86_64)" >&2; exit 2 ;;
esac
src="$("$kdir/scripts/source.sh")"
ver="$(cat "$src/.debian-version")"
obj="$cache/linux/build/$ver/$arch"
out="$kdir/build/$arch"
mkdir -p "$obj" "$out"
exec 8>"$obj.lock"
flock 8

export CCACHE_DIR="$cache/ccache" CCACHE_BASEDIR="$src" CCACHE_MAXSIZE=5G CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP="@${SOURCE_DATE_EPOCH:-1700000000}" KBUILD_BUILD_USER=c2w KBUILD_BUILD_HOST=c2w KBUILD_BUILD_VERSION=1
mk=(make -s -C "$src" O="$obj" ARCH="$karch" CROSS_COMPILE="$cross" -j"${C2W_JOBS:-2}")
if command -v ccache >/dev/null; then mk+=(CC="ccache ${cross}gcc" HOSTCC="ccache gcc"); fi

frags=("$kdir/configs/common.config" "$kdir/configs/$arch.config")
start=$(date +%s)
# merge_config.sh -n: allnoconfig with the fragments as KCONFIG_ALLCONFIG. It calls make itself.
(cd "$src" && ARCH="$karch" CROSS_COMPILE="$cross" scripts/kconfig/merge_config.sh -n -O "$obj" "${frags[@]}" >"$obj/merge.log" 2>&1) \
  || { cat "$obj/merge.log" >&2; echo "build-kernel: merge_config failed" >&2; exit 1; }
# Every symbol a fragment sets must be in the final config with that value (later fragments win).
bad=0
declare -A want=()
for f in "${frags[@]}"; do
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*=*) want["${line%%=*}"]="${line#*=}" ;;
    esac
  done <"$f"
done
for sym in "${!want[@]}"; do
  v="${want[$sym]}"
  if [ "$v" = n ]; then
    if grep -q "^$sym=" "$obj/.config"; then echo "build-kernel: $sym requested n, got $(grep "^$sym=" "$obj/.config")" >&2; bad=1; fi
  else
    got="$(grep "^$sym=" "$obj/.config" || true)"
    if [ "$got" != "$sym=$v" ]; then echo "build-kernel: $sym requested $v, got '${got:-not set}'" >&2; bad=1; fi
  fi
done
[ "$bad" = 0 ] || { echo "build-kernel: the $arch config does not match its fragments (see above)" >&2; exit 1; }

"${mk[@]}" "$image"
end=$(date +%s)
cp "$obj/$imgpath" "$out/$image"
cp "$obj/.config" "$out/config"
cp "$obj/System.map" "$out/System.map"
cp "$src/COPYING" "$out/COPYING"
rm -rf "$out/LICENSES"; mkdir -p "$out/LICENSES"
cp "$src/LICENSES/preferred/GPL-2.0" "$src/LICENSES/exceptions/Linux-syscall-note" "$out/LICENSES/"
printf 'linux-source-6.12 %s (Debian)\nkernel %s\n' "$ver" "$(cat "$obj/include/config/kernel.release")" >"$out/SOURCE"
echo "build-kernel: $arch $image $(stat -c %s "$out/$image") bytes in $((end - start)) s" >&2
