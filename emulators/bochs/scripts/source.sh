#!/usr/bin/env bash
# Prints the path of a pristine+patched Bochs source tree, preparing it on first use.
# Debian's bochs source package (Debian 13) is fetched with `apt-get source` inside the build
# root, checked against the archive's SHA-256 sums, unpacked with Debian's own quilt series
# applied, then our patches (emulators/bochs/patches/series). Cached in $C2W_CACHE keyed by the
# Debian version and the hash of our patches; never committed.
# Must run inside the build root (tools/toolchain/run -- ...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${C2W_CACHE:=/var/cache/c2w}"
ver="$(cat "$here/DEBIAN_VERSION")"          # e.g. 3.0+dfsg-1
upver="${ver%-*}"                            # 3.0+dfsg
dl="$C2W_CACHE/src/bochs-$ver.dl"
phash="$(cd "$here/patches" && cat series $(grep -v '^#' series) | sha256sum | cut -c1-12)"
dest="$C2W_CACHE/src/bochs-$ver-$phash"
if [ -f "$dest/.ready" ]; then echo "$dest"; exit 0; fi

mkdir -p "$dl"
orig="$dl/bochs_${upver}.orig.tar.xz"
deb="$dl/bochs_${ver}.debian.tar.xz"
if [ ! -f "$orig" ] || [ ! -f "$deb" ]; then
  # The .dsc may be missing from the mirror; the tarballs are what we need and are verified below.
  (cd "$dl" && apt-get source --download-only "bochs=$ver" >&2 || true)
fi
sums="$(apt-cache showsrc bochs | awk -v v="$ver" '/^Package:/{p=0} /^Version:/{p=($2==v)} p' | sed -n '/^Checksums-Sha256:/,/^[A-Z]/p')"
for f in "$orig" "$deb"; do
  [ -f "$f" ] || { echo "bochs source: $f was not downloaded" >&2; exit 1; }
  want="$(echo "$sums" | awk -v n="$(basename "$f")" '$3==n {print $1}')"
  have="$(sha256sum "$f" | cut -d' ' -f1)"
  [ -n "$want" ] && [ "$want" = "$have" ] || { echo "bochs source: checksum mismatch for $f" >&2; exit 1; }
done

tmp="$dest.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
tar -C "$tmp" -xf "$orig"
mv "$tmp"/bochs-* "$tmp/src"
tar -C "$tmp/src" -xf "$deb"
(cd "$tmp/src" && while read -r p; do
   case "$p" in ''|'#'*) continue ;; esac
   patch -s -p1 < "debian/patches/$p"
 done < debian/patches/series)
(cd "$tmp/src" && while read -r p; do
   case "$p" in ''|'#'*) continue ;; esac
   echo "applying $p" >&2
   patch -s -p1 --no-backup-if-mismatch < "$here/patches/$p"
 done < "$here/patches/series")
echo "$ver" > "$tmp/src/DEBIAN_SOURCE_VERSION"
rm -rf "$dest"; mv "$tmp/src" "$dest"; rmdir "$tmp"
touch "$dest/.ready"
echo "$dest"
