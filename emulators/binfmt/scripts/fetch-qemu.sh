#!/usr/bin/env bash
# Downloads Debian 13's qemu-user for riscv64 (static-pie binaries of every qemu-user target)
# with apt, which checks it against the archive's signed indexes, into $C2W_CACHE/debs.
# Prints the .deb's path. Version: QEMU_USER_VERSION (the candidate of trixie main otherwise).
set -euo pipefail
cache="${C2W_CACHE:-/var/cache/c2w}"
apt="$cache/binfmt/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc" "$cache/debs"
[ -f "$apt/status" ] || : > "$apt/status"
echo 'deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' \
  > "$apt/etc/sources.list"
opts=(-oDir::Etc::SourceList="$apt/etc/sources.list" -oDir::Etc::SourceParts=/dev/null
  -oDir::State::Lists="$apt/lists" -oDir::State::Status="$apt/status" -oDir::Cache="$apt/cache"
  -oAPT::Architecture=riscv64 -oAPT::Architectures::=riscv64 -oAcquire::Languages=none
  -oAcquire::IndexTargets::deb::DEP-11::DefaultEnabled=false -oDebug::NoLocking=1 -qq)
want="${QEMU_USER_VERSION:-}"
existing() { ls "$cache/debs"/qemu-user_*"${want#*:}"*_riscv64.deb 2>/dev/null | head -1; }
if [ -n "$want" ] && [ -n "$(existing)" ]; then existing; exit 0; fi
[ -n "$(ls "$apt/lists" | grep -v partial || true)" ] || apt-get "${opts[@]}" update
[ -n "$want" ] || want="$(apt-cache "${opts[@]}" policy qemu-user | sed -n 's/^ *Candidate: *//p')"
[ -n "$want" ] && [ "$want" != "(none)" ] || { echo "fetch-qemu: no qemu-user for riscv64 in trixie main" >&2; exit 1; }
if [ -z "$(existing)" ]; then
  tmp="$(mktemp -d "$cache/debs/.qemu-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get "${opts[@]}" download "qemu-user=$want" 2>/dev/null) \
    || { apt-get "${opts[@]}" update && (cd "$tmp" && apt-get "${opts[@]}" download "qemu-user=$want"); }
  for f in "$tmp"/*.deb; do mv "$f" "$cache/debs/$(basename "$f" | sed 's/%3a/_/gi')"; done
fi
existing
