#!/usr/bin/env bash
# Builds the benchmark initramfs (busybox amd64): init prints "MARK <name>" lines around the
# workloads, the host timestamps them as they arrive (wall time, not guest time).
#   bench/bochs/guest.sh OUT.cpio
set -euo pipefail
out="${1:?usage: guest.sh OUT.cpio}"
busybox="${BUSYBOX:-/bin/busybox}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
cat > "$tmp/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=64m tmp /tmp
echo "MARK init"
i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
echo "MARK a"
head -c 16777216 /dev/urandom > /tmp/data
echo "MARK b0"
sha256sum /tmp/data > /dev/null
echo "MARK b"
gzip -1 -c /tmp/data > /dev/null
echo "MARK c"
sleep 1
printf '\000' | dd of=/dev/port bs=1 seek=244 2>/dev/null
poweroff -f
INIT
chmod +x "$tmp/init"
(cd "$tmp" && find . | sort | cpio -o -H newc --quiet) > "$out"
