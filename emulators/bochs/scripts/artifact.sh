#!/usr/bin/env bash
# nx targets of emulators/bochs: `artifact.sh wasm` (build/wasm: bochs.wasm + licences) and
# `artifact.sh native` (build/native: the same patched Bochs for the host, the benchmark
# reference). Builds run inside the project's build root.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kind="${1:?usage: artifact.sh wasm|native|wasm-eh}"
cd "$here/../.."
. tools/env.sh
out="$here/build/$kind"
rm -rf "$out.tmp"; mkdir -p "$out.tmp"
start=$(date +%s)
tools/toolchain/run -- "$here/scripts/build.sh" "$kind" "$out.tmp" >/dev/null
src="$(tools/toolchain/run -- "$here/scripts/source.sh")"
mkdir -p "$out.tmp/licenses"
cp "$src/COPYING" "$out.tmp/licenses/bochs-COPYING"
{
  echo "Bochs $(cat "$here/DEBIAN_VERSION") from Debian's bochs source package (Debian 13 trixie),"
  echo "with Debian's quilt patches and these c2w patches (emulators/bochs/patches):"
  grep -v '^#' "$here/patches/series" | sed 's/^/  /'
  echo "Bochs is free software under the GNU LGPL 2.1 or later (bochs-COPYING)."
} > "$out.tmp/licenses/bochs-SOURCE.txt"
rm -rf "$out"; mv "$out.tmp" "$out"
echo "bochs: $kind built in $(( $(date +%s) - start )) s: $(ls "$out" | tr '\n' ' ')" >&2
