# The benchmark workload, run as the container command `sh -c "$(cat guest.sh)"` (busybox amd64).
# Each MARK line is timestamped by the host as it arrives; the guest's uptime rides along for
# QEMU, whose console is read at exit.
m() { read u _ < /proc/uptime; echo "MARK $1 $u"; }
m s
i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
m a
busybox dd if=/dev/zero bs=1M count=16 2>/dev/null | busybox sha256sum >/dev/null
m b
busybox dd if=/dev/zero bs=1M count=16 2>/dev/null | busybox gzip -1 | busybox wc -c >/dev/null
m c
