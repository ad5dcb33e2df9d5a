#!/usr/bin/env bash
# Builds the guest init and the initramfs for one arch (runs inside the build root).
#   kernel/scripts/build-initramfs.sh riscv64|x86_64
# Outputs in kernel/build/<arch>/: init (static), busybox (Debian busybox-static, for debugging
# and for test root filesystems), initramfs.cpio (newc: /init, /bin/busybox + a few applet
# links, /dev/console), cmdline.txt, busybox.SOURCE.
set -euo pipefail
arch="${1:?usage: build-initramfs.sh riscv64|x86_64}"
kdir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${C2W_CACHE:-/var/cache/c2w}"
case "$arch" in
  riscv64) cc=riscv64-linux-gnu-gcc; debarch=riscv64 ;;
  x86_64) cc=gcc; debarch=amd64 ;;
  *) echo "build-initramfs: unknown arch '$arch'" >&2; exit 2 ;;
esac
out="$kdir/build/$arch"
mkdir -p "$out"
src="$("$kdir/scripts/source.sh")"

# 1. init: static, stripped.
$cc -static -O2 -s -Wall -Wextra -Wno-unused-parameter -Werror -o "$out/init" "$kdir/init/init.c"

# 2. busybox-static from Debian for this arch (same version as the build root's amd64 candidate).
bbver="$(apt-cache policy busybox-static | sed -n 's/^ *Candidate: *//p')"
[ -n "$bbver" ] && [ "$bbver" != "(none)" ] || { echo "build-initramfs: no busybox-static candidate in the build root's apt lists" >&2; exit 1; }
filever="${bbver#*:}"  # pool file names drop the epoch
deb="$cache/debs/busybox-static_${filever}_${debarch}.deb"
if [ ! -s "$deb" ]; then
  mkdir -p "$cache/debs"
  url="http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_${filever}_${debarch}.deb"
  echo "build-initramfs: fetching $url" >&2
  /usr/lib/apt/apt-helper download-file "$url" "$deb.tmp" >/dev/null 2>&1 \
    || { echo "build-initramfs: could not download busybox-static $bbver for $debarch" >&2; rm -f "$deb.tmp"; exit 1; }
  mv "$deb.tmp" "$deb"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/bb"
bb="$tmp/bb/usr/bin/busybox"; [ -f "$bb" ] || bb="$tmp/bb/bin/busybox"
install -m 0755 "$bb" "$out/busybox"
printf 'busybox-static %s %s (Debian)\nlicence: GPL-2.0 (see COPYING)\n' "$bbver" "$debarch" >"$out/busybox.SOURCE"
cp "$tmp/bb/usr/share/doc/busybox-static/copyright" "$out/busybox.copyright" 2>/dev/null || true

# 3. initramfs (newc) with the kernel's gen_init_cpio: device nodes without root, fixed mtimes.
gcc -O2 -o "$tmp/gen_init_cpio" "$src/usr/gen_init_cpio.c"
{
  echo "dir /dev 0755 0 0"
  echo "nod /dev/console 0600 0 0 c 5 1"
  for d in proc sys bin sbin c2w mnt; do echo "dir /$d 0755 0 0"; done
  echo "dir /tmp 01777 0 0"
  echo "dir /root 0700 0 0"
  echo "file /init $out/init 0755 0 0"
  echo "file /bin/busybox $out/busybox 0755 0 0"
  for a in sh ash cat ls mount umount mkdir ps dmesg echo grep sed vi stat df du find ln rm mv cp \
           uname sleep sync poweroff reboot head tail hexdump od ip ifconfig chroot env id; do
    echo "slink /bin/$a busybox 0777 0 0"
  done
} >"$tmp/list"
"$tmp/gen_init_cpio" -t "${SOURCE_DATE_EPOCH:-1700000000}" "$tmp/list" >"$out/initramfs.cpio"
printf '%s\n' "console=hvc1 quiet panic=-1" >"$out/cmdline.txt"
echo "build-initramfs: $arch init $(stat -c %s "$out/init") bytes, initramfs $(stat -c %s "$out/initramfs.cpio") bytes" >&2
