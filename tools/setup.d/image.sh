#!/usr/bin/env bash
# @c2w/image tests: getfattr/setfattr (attr) for xattr fixtures, zstd for zstd layers. Idempotent.
set -euo pipefail
missing=()
for p in attr zstd; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
