#!/usr/bin/env bash
# Interpreter micro-benchmark: builds cpubench.c (user level, no libc) in the build root and runs
# it on rv64-user, native and wasm32-wasi under Node, printing CPU seconds and the Node/native
# ratio. Needs `tools/nx run emulator-riscv64:artifact`.   bash bench/riscv64/cpubench.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
b="$root/emulators/riscv64/build"
for f in "$b/native/rv64-user" "$b/wasm/rv64-user.wasm"; do
  [ -f "$f" ] || { echo "cpubench: $f missing (tools/nx run emulator-riscv64:artifact)" >&2; exit 1; }
done
"$root/tools/toolchain/run" -- riscv64-linux-gnu-gcc -O2 -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib \
  -ffreestanding -fno-pic -static -Wl,-Ttext-segment=0x80000000 -o "$b/cpubench.elf" "$root/bench/riscv64/cpubench.c"
cpu() { /usr/bin/time -f %U -o "$b/cpubench.time" "$@" >/dev/null && cat "$b/cpubench.time"; }
med() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
runs=${1:-3} n="" w=""
for _ in $(seq "$runs"); do
  n="$n$(cpu "$b/native/rv64-user" "$b/cpubench.elf")\n"
  w="$w$(cpu node "$root/test/harness/node-wasi.mjs" --dir "$b" "$b/wasm/rv64-user.wasm" "$b/cpubench.elf")\n"
done
rm -f "$b/cpubench.time"
nm=$(printf "$n" | med) wm=$(printf "$w" | med)
echo "cpubench ($runs runs, median CPU seconds): native $nm, node $wm (x$(awk -v w="$wm" -v n="$nm" 'BEGIN { printf "%.2f", w / n }'))"
echo "checksum: $("$b/native/rv64-user" "$b/cpubench.elf")"
