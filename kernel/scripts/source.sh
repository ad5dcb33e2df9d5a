#!/usr/bin/env bash
# Prints the path of the extracted Debian linux-source tree (runs inside the build root).
# The tarball is extracted once per Debian package version into $C2W_CACHE/linux/src/<version>/.
set -euo pipefail
cache="${C2W_CACHE:-/var/cache/c2w}"
pkg=linux-source-6.12
ver="$(dpkg-query -W -f='${Version}' "$pkg")"
tarball=/usr/src/$pkg.tar.xz
[ -f "$tarball" ] || { echo "kernel: $tarball missing (is $pkg installed in the build root?)" >&2; exit 1; }
dest="$cache/linux/src/$ver"
if [ ! -f "$dest/.extracted" ]; then
  mkdir -p "$cache/linux/src"
  exec 9>"$cache/linux/src/.lock"
  flock 9
  if [ ! -f "$dest/.extracted" ]; then
    echo "kernel: extracting $tarball ($ver) into $dest" >&2
    rm -rf "$dest.tmp" "$dest"
    mkdir -p "$dest.tmp"
    tar -C "$dest.tmp" -xf "$tarball"
    mv "$dest.tmp/$pkg" "$dest"
    rmdir "$dest.tmp"
    echo "$ver" > "$dest/.debian-version"
    touch "$dest/.extracted"
  fi
fi
echo "$dest"
