#!/usr/bin/env bash
# The test command (README): builds what the tests need (cached outside the checkout), then runs them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tools/env.sh
bash tools/setup.sh
tools/nx run-many -t build artifact --outputStyle=stream
npx biome ci . >/dev/null || { npx biome ci . | tail -40; echo "lint: biome found problems (npm run lint)" >&2; exit 1; }
npx vitest run "$@"
