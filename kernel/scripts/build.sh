#!/usr/bin/env bash
# The nx `artifact-<arch>` target: kernel + init + initramfs for one arch, inside the build root.
#   kernel/scripts/build.sh riscv64|x86_64
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
arch="${1:?usage: build.sh riscv64|x86_64}"
cd "$here/../.."
start=$(date +%s)
tools/toolchain/run -- kernel/scripts/build-kernel.sh "$arch"
tools/toolchain/run -- kernel/scripts/build-initramfs.sh "$arch"
echo "kernel: $arch artifact built in $(( $(date +%s) - start )) s" >&2
