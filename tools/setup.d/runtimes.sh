#!/usr/bin/env bash
# Installs the WASI runtimes the tests use into $C2W_CACHE (idempotent; a second run takes ~1 s):
#   wasmtime  the real engine from the PyPI `wasmtime` wheel in $C2W_CACHE/venv, driven by
#             test/harness/wasmtime-py.py, installed as $C2W_CACHE/bin/wasmtime-py (wasmtime CLI flags)
#   wazero    `go install` of the wazero CLI into $C2W_CACHE/bin/wazero
#   node      Node's built-in WASI via test/harness/node-wasi.mjs, installed as $C2W_CACHE/bin/node-wasi
# Wizer (npm @bytecodealliance/wizer) is a root devDependency and comes with `npm ci`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. tools/env.sh

WASMTIME_PY_VERSION=50.0.1
WAZERO_VERSION=v1.12.0

log() { printf 'runtimes: %s\n' "$*" >&2; }
bin="$C2W_CACHE/bin"
libexec="$C2W_CACHE/libexec"
venv="$C2W_CACHE/venv"
mkdir -p "$bin" "$libexec"

# Copies a repo file into the cache only when its content changed (fresh clones share the cache).
install_if_changed() { # src dst
  if ! cmp -s "$1" "$2"; then
    cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
  fi
}
write_if_changed() { # dst content
  if [ "$(cat "$1" 2>/dev/null)" != "$2" ]; then
    printf '%s\n' "$2" >"$1.tmp.$$" && chmod +x "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
  fi
}

# --- wasmtime (PyPI wheel) ---
py=/usr/bin/python3
[ -x "$py" ] || py="$(command -v python3)"
if [ "$(cat "$venv/.c2w-wasmtime" 2>/dev/null)" != "$WASMTIME_PY_VERSION" ] || [ ! -x "$venv/bin/python3" ]; then
  log "installing wasmtime $WASMTIME_PY_VERSION (PyPI wheel) into $venv"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir "wasmtime==$WASMTIME_PY_VERSION"
  "$venv/bin/python3" -c 'import wasmtime; wasmtime.Engine()'
  echo "$WASMTIME_PY_VERSION" >"$venv/.c2w-wasmtime"
fi
install_if_changed test/harness/wasmtime-py.py "$libexec/wasmtime-py.py"
write_if_changed "$bin/wasmtime-py" "#!/bin/sh
# wasmtime $WASMTIME_PY_VERSION (PyPI wheel) with wasmtime CLI flags; installed by tools/setup.d/runtimes.sh
exec \"$venv/bin/python3\" \"$libexec/wasmtime-py.py\" \"\$@\""

# --- wazero (go install) ---
if [ "$(cat "$bin/.c2w-wazero" 2>/dev/null)" != "$WAZERO_VERSION" ] || [ ! -x "$bin/wazero" ]; then
  command -v go >/dev/null || { echo "runtimes: go is missing (needed for wazero)" >&2; exit 1; }
  log "installing wazero $WAZERO_VERSION (go install)"
  GOBIN="$bin" go install "github.com/tetratelabs/wazero/cmd/wazero@$WAZERO_VERSION"
  echo "$WAZERO_VERSION" >"$bin/.c2w-wazero"
fi

# --- Node's WASI ---
install_if_changed test/harness/node-wasi.mjs "$libexec/node-wasi.mjs"
write_if_changed "$bin/node-wasi" "#!/bin/sh
# Node's WASI with the flags large modules need; installed by tools/setup.d/runtimes.sh
exec node --no-incremental-marking \"$libexec/node-wasi.mjs\" \"\$@\""

# --- Wizer: checked only (npm ci installs it) ---
if [ -x node_modules/.bin/wizer ] && ! node_modules/.bin/wizer --version >/dev/null 2>&1; then
  echo "runtimes: node_modules/.bin/wizer does not run here" >&2
  exit 1
fi
exit 0
