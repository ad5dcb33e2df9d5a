#!/usr/bin/env bash
# A small x86_64 guest for emulators/bochs tests and benchmarks, until the kernel project's
# x86_64 guest (virtio console/control port) is what Bochs boots: Debian 13's own kernel
# (linux-image-amd64, from the build root's archive) and an initramfs with the host's static
# busybox whose /init runs a shell on ttyS0 and reports the shell's exit status on I/O port
# 0xf4 (the c2w exit port of host/c2w_host.cc).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here/../.."
. tools/env.sh
out="$here/build/test-guest"
busybox="${BUSYBOX:-/bin/busybox}"
file -L "$busybox" | grep -q 'x86-64.*statically linked' \
  || { echo "test-guest: $busybox is not a static x86-64 busybox (apt-get install busybox-static)" >&2; exit 1; }
dl="$C2W_CACHE/bochs-work/guest-dl"
mkdir -p "$dl"
tools/toolchain/run --bind "$dl" -- bash -c '
  set -e; cd "$1"
  pkg=$(apt-cache depends linux-image-amd64 | sed -n "s/.*Depends: \(linux-image-[^ ]*\)/\1/p" | head -1)
  ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1
  rm -rf x && mkdir x && dpkg-deb -x "$pkg"_*.deb x
  cp x/boot/vmlinuz-* vmlinuz; echo "$pkg $(dpkg-deb -f "$pkg"_*.deb Version)" > kernel-version
  rm -rf x' bash "$dl"
rm -rf "$out.tmp"; mkdir -p "$out.tmp/root/bin" "$out.tmp/root/proc" "$out.tmp/root/sys" "$out.tmp/root/dev" "$out.tmp/root/tmp"
cp "$busybox" "$out.tmp/root/bin/busybox"
cat > "$out.tmp/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
stty -F /dev/ttyS0 raw -echo
echo "c2w-guest: ready"
printf '\001' | dd of=/dev/port bs=1 seek=245 2>/dev/null
# no setsid: a session leader's exit would hang up ttyS0 and drop output not yet sent
sh </dev/ttyS0 >/dev/ttyS0 2>&1
status=$?
sleep 2
printf "\\$(printf %o "$status")" | dd of=/dev/port bs=1 seek=244 2>/dev/null
echo "c2w-guest: exit port failed"
poweroff -f
INIT
chmod +x "$out.tmp/root/init"
(cd "$out.tmp/root" && find . | sort | cpio -o -H newc --quiet --reproducible) > "$out.tmp/initramfs.cpio"
rm -rf "$out.tmp/root"
cp "$dl/vmlinuz" "$out.tmp/vmlinuz"
cp "$dl/kernel-version" "$out.tmp/kernel-version"
echo "console=ttyS0,115200 quiet" > "$out.tmp/cmdline.txt"
rm -rf "$out"; mv "$out.tmp" "$out"
