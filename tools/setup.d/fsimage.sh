#!/usr/bin/env bash
# Host packages the @c2w/fsimage tests use beyond tools/host-deps (idempotent, instant when present):
#   attr  getfattr, to read xattrs of host trees (treeFromDirectory) and of mounted EROFS images.
# erofs-utils, cpio and debootstrap come from tools/host-deps.
set -euo pipefail
pkgs=(attr)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fsimage: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
