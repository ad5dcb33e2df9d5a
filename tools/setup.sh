#!/usr/bin/env bash
# All set-up a fresh machine needs: host packages, node modules, the build root, test runtimes.
# Idempotent; a second run takes seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tools/env.sh
bash tools/host-deps
[ -d node_modules/.bin ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
bash tools/toolchain/setup >/dev/null
for s in tools/setup.d/*.sh; do [ -e "$s" ] && bash "$s"; done
exit 0
