#!/usr/bin/env bash
# Builds the riscv64 machine in the build root (nx target emulator-riscv64:artifact):
#   build/native/c2w-rv64, build/native/rv64-user  static x86_64 binaries (development, tests)
#   build/wasm/c2w-rv64.wasm                       wasm32-wasi module (exports wizer.initialize)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
rm -rf build/native build/wasm
"$root/tools/toolchain/run" -- make -j2 ${C2W_RV64_TARGETS:-all}
ls -l build/native build/wasm 2>/dev/null >&2 || true
