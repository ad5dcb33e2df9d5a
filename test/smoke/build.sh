#!/usr/bin/env bash
# Builds the smoke-test guests into test/build/smoke (nx target @c2w/test:artifact):
#   probe.wasm, snapshot.wasm  wasm32-wasi (preview1), clang-19 + wasi-libc of the build root
#   hello-emcc.js/.wasm        emscripten (compiled -O2, linked -O1: -O2 links fail in its minifier)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/test/build/smoke"
. "$root/tools/env.sh"
rm -rf "$out" && mkdir -p "$out"
cd "$root"
tools/toolchain/run -- sh -ec '
  src=test/smoke out=test/build/smoke
  # Debian 13: wasm32-wasi finds wasi-libc and compiler-rt without --sysroot (wasm32-wasip1 does
  # not find libclang_rt.builtins, and /usr/share/wasi-sysroot does not exist there).
  wasi="clang-19 --target=wasm32-wasi -O2 -Wall -Werror"
  $wasi -o $out/probe.wasm $src/probe.c
  $wasi -o $out/snapshot.wasm $src/snapshot.c
  emcc -O2 -Wall -Werror -c -o $out/hello-emcc.o $src/hello-emcc.c
  emcc -O1 -sENVIRONMENT=node -o $out/hello-emcc.js $out/hello-emcc.o
  rm -f $out/hello-emcc.o
'
# emcc writes CommonJS; test/package.json says "type": "module".
echo '{ "type": "commonjs" }' >"$out/package.json"
ls -l "$out" >&2
