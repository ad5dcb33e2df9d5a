#!/usr/bin/env bash
# The main job (README: `npm run demo`): builds a sample busybox image locally from Debian's
# busybox-static package (an OCI layout, no Docker), converts it with c2w, and runs it.
# Uses whichever emulator backend is built: Bochs (amd64) first, else the riscv64 machine.
# C2W_DEMO_NO_BUILD=1 skips set-up and builds (use what is built).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tools/env.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

if [ "${C2W_DEMO_NO_BUILD:-}" != 1 ]; then
  say "set-up (host packages, node modules, build root, WASI runtimes)"
  bash tools/setup.sh
  say "build (TypeScript packages, kernel, emulators, pre-booted VM modules; cached in $C2W_CACHE)"
  tools/nx run-many -t build --outputStyle=static
  tools/nx run-many -t artifact --outputStyle=static || say "some artifacts failed to build; continuing with what exists"
fi

say "sample images: busybox-static from Debian (amd64 and riscv64) as an OCI layout"
layout=$(npx tsx -e "import { ensureFixtures } from './test/fixtures/images/index.ts'; console.log(ensureFixtures().layout)")
echo "$layout" >&2

c2w() { node packages/cli/dist/bin.js "$@"; }
c2w --version >&2
arch=
for a in amd64 riscv64; do
  if c2w --version | grep -q "(${a}): built"; then arch=$a; break; fi
done
out=out/demo
mkdir -p "$out"
run() { echo "\$ $*" >&2; "$@"; }
wasmtime=$C2W_CACHE/bin/wasmtime-py

if [ -z "$arch" ]; then
  say "no emulator backend is built yet: showing the conversion pipeline with the packing-contract fixture"
  echo "(packages/pack/build/fixtures/footer.wasm stands in for a VM module: it prints the bundle it finds)" >&2
  export C2W_BOCHS_VM=$PWD/packages/pack/build/fixtures/footer.wasm
  run c2w "oci:$layout:amd64" "$out/busybox-fixture.wasm"
  run "$wasmtime" "$out/busybox-fixture.wasm" echo -n hello
  exit 0
fi

say "convert: c2w oci:$layout:$arch $out/busybox-$arch.wasm"
time c2w --target-arch "$arch" "oci:$layout:$arch" "$out/busybox-$arch.wasm"
ls -l "$out/busybox-$arch.wasm" >&2

say "run"
mkdir -p "$out/share" && echo "from the host" > "$out/share/from-host"
run "$wasmtime" "$out/busybox-$arch.wasm" echo -n hello; echo
run "$wasmtime" "$out/busybox-$arch.wasm" uname -m
run "$wasmtime" --dir "$out/share::/mnt/share" "$out/busybox-$arch.wasm" cat /mnt/share/from-host
echo 'echo "in the container: $(uname -s) $(uname -m)"; ls /' | run "$wasmtime" "$out/busybox-$arch.wasm" sh
run node packages/cli/dist/bin.js run "$out/busybox-$arch.wasm" -- sh -c 'echo out; echo err >&2; exit 7' || echo "exit status: $?" >&2
