#!/usr/bin/env bash
# Proves the README's quick-start commands work on a bare machine: a minimal Debian root
# (debootstrap minbase) with only Node copied in, a fresh clone of the repository, then each
# README command run verbatim as root inside chroot. A tool a test needs that scripts/run does not
# install fails here. Needs root and debootstrap.
#   usage: bash scripts/fresh-root.sh [repo (default: this checkout)] [branch (default: main)]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${1:-$here}"
branch="${2:-main}"
suite=bookworm
# The mirror this machine's apt already uses (deb822 or one-line sources).
mirror="$(grep -hoE '^(URIs:|deb) +[^ ]*' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | awk '{print $2}' | grep -v security | head -1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ringpoll/fresh-root"
tarball="$cache/$suite-minbase-$(date -u +%Y%m%d).tar.gz"

t0=$SECONDS
phase() { echo "=== fresh-root: $* ($((SECONDS - t0)) s)"; }

work="$(mktemp -d /tmp/ringpoll-fresh-root.XXXXXX)"
root="$work/root"
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  # Only remove the tree once nothing is mounted inside it (never delete through a bind mount).
  if ! grep -q " $root" /proc/self/mounts; then rm -rf "$work"; else echo "fresh-root: left $work (still mounted)" >&2; fi
}
trap cleanup EXIT
bind() { mkdir -p "$root$1"; mount --bind "$1" "$root$1"; mounted+=("$root$1"); }

mkdir -p "$root" "$cache"
if [ -f "$tarball" ]; then
  phase "unpacking cached root $tarball"
  tar -xzf "$tarball" -C "$root"
else
  phase "debootstrap --variant=minbase $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$root/var/cache/apt/archives/"*.deb
  tar -czf "$tarball.tmp" -C "$root" . && mv "$tarball.tmp" "$tarball"
  # Keep only today's root.
  find "$cache" -name "$suite-minbase-*.tar.gz" ! -path "$tarball" -delete
fi

phase "copying the host's Node and npm"
node_bin="$(command -v node)"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# Node's headers come with Node; nodedir keeps node-gyp from downloading them (as on this host).
node_inc="$(dirname "$(dirname "$node_bin")")/include/node"
if [ -d "$node_inc" ]; then
  mkdir -p "$root/usr/local/include"
  cp -a "$node_inc" "$root/usr/local/include/node"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# debootstrap writes no /etc/hosts (an installed system has one): without it "localhost" does not resolve.
cp /etc/hosts "$root/etc/hosts"
# This host's network, like resolv.conf: local CAs (an egress proxy's) join the root's bundle when
# scripts/run installs ca-certificates; Node reads the bundle through NODE_EXTRA_CA_CERTS.
mkdir -p "$root/usr/local/share/ca-certificates"
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
host_env=()
[ -d "$root/usr/local/include/node" ] && host_env+=(npm_config_nodedir=/usr/local)
for v in NODE_EXTRA_CA_CERTS http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -n "${!v:-}" ] && host_env+=("$v=${!v}")
done

phase "cloning $repo ($branch)"
# git is not in minbase and not a given on the target: clone on the host into the root.
git clone -q --branch "$branch" "file://$repo" "$root/root/ringpoll"

# The root is a mount point, as / is on a machine ("mount --make-rslave /" in the netns tests needs one).
mount --bind "$root" "$root"; mounted+=("$root")
mount -t proc proc "$root/proc"; mounted+=("$root/proc")
bind /sys
bind /dev
bind /dev/pts
mkdir -p "$root/run"; mount -t tmpfs tmpfs "$root/run"; mounted+=("$root/run")
mkdir -p "$root/run/netns"

# The README's quick-start commands, verbatim (the lines of its first sh block starting "bash scripts/run").
mapfile -t commands < <(awk '/^## Quick start/{q=1} q&&/^```sh/{b=1;next} b&&/^```/{exit} b' "$root/root/ringpoll/README.md" \
  | grep -E '^bash scripts/run ')
[ "${#commands[@]}" -ge 2 ] || { echo "fresh-root: README quick start has no 'bash scripts/run' lines" >&2; exit 1; }
for cmd in "${commands[@]}"; do
  phase "in chroot: $cmd"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin \
    TERM=dumb CI=true LANG=C.UTF-8 "${host_env[@]}" /bin/bash -c "cd /root/ringpoll && $cmd"
done
phase "done"
