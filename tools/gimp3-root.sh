#!/bin/bash
# gimp3-root.sh — the Debian trixie root in which Dreamlayer builds and tests
# its GIMP 3 plug-in (GIMP 3 is not packaged for Debian 12).
#
#   tools/gimp3-root.sh ensure        create the root, or restore it from its
#                                     cached tarball; idempotent; prints timings
#   tools/gimp3-root.sh run CMD...    run CMD inside the root, cwd /src (the
#                                     project source, bind-mounted read-write)
#   tools/gimp3-root.sh clean         remove the root and its tarball
#
# Environment:
#   DREAM_GIMP3_ROOT   where the root lives (default /var/cache/dreamlayer/trixie-root);
#                      the tarball is "$DREAM_GIMP3_ROOT.tar.zst" (or .tar.gz)
#   DREAM_MIRROR       Debian mirror (default: the one this host's apt uses)
#   DREAM_SECURITY_MIRROR  security mirror (default: from this host's apt too)
#
# Needs root and a reachable Debian mirror; installs debootstrap (and zstd)
# on the host if missing. `run` mounts /proc, /sys, /dev, /dev/pts, the
# source and, if present, /tmp/.X11-unix inside a private mount namespace,
# and unmounts them on exit (trap), also when CMD fails.
set -euo pipefail

ROOT=${DREAM_GIMP3_ROOT:-/var/cache/dreamlayer/trixie-root}
SUITE=trixie
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)

# Packages of the root. Changing this list makes `ensure` update the root.
PACKAGES=(
  gimp libgimp-3.0-dev gcc pkg-config libc6-dev meson ninja-build
  libopenblas-dev libjson-glib-dev libyaml-dev libpng-dev libjpeg-dev
  python3 python3-numpy python3-pil
  # the GUI checks (undo, dialog screenshot) under Xvfb
  xvfb xauth x11-utils imagemagick xdotool
  # a debugger for the odd plug-in crash
  gdb
)
STAMP_REL=etc/dreamlayer-root.stamp

log() { printf '[gimp3-root] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" = 0 ] || die "must run as root"

stamp_text() {
  printf 'suite=%s\npackages=%s\n' "$SUITE" "${PACKAGES[*]}"
}

tarball_path() {
  if command -v zstd >/dev/null 2>&1; then echo "$ROOT.tar.zst"; else echo "$ROOT.tar.gz"; fi
}

# ---- mirrors, from this host's apt configuration ---------------------------

# Prints the first URI of an apt source whose suites match $1 (a regexp),
# reading both one-line (.list) and deb822 (.sources) files.
host_mirror() {
  local want=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      /^[[:space:]]*deb[[:space:]]/ {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        uri = $i; suite = $(i + 1)
        if (suite ~ want && uri ~ /^https?:/) { print uri; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      function flush() { if (types ~ /(^|[ \t])deb([ \t]|$)/ && suites ~ want && uri ~ /^https?:/) { print uri; done = 1 } ; types = suites = uri = "" }
      /^[[:space:]]*$/ { flush(); if (done) exit; next }
      /^Types:/  { sub(/^Types:[ \t]*/, "");  types = $0 }
      /^URIs:/   { sub(/^URIs:[ \t]*/, "");   split($0, u, /[ \t]+/); uri = u[1] }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      END { if (!done) flush() }' "$f"
  done
}

pick_mirrors() {
  MIRROR=${DREAM_MIRROR:-}
  SECURITY=${DREAM_SECURITY_MIRROR:-}
  if [ -z "$MIRROR" ]; then
    # a plain suite (not -security), e.g. "bookworm" or "bookworm-updates"
    local all
    all=$(host_mirror '(^|[ \t])[a-z]+(-updates)?([ \t]|$)' | grep -v -- '-security' || true)
    MIRROR=$( { grep -E '/debian/?$' <<<"$all" || true; echo "$all"; } | grep -v '^$' | head -n1 || true)
  fi
  if [ -z "$SECURITY" ]; then
    SECURITY=$(host_mirror '-security' | grep -E '/debian-security/?$' | head -n1 || true)
  fi
  [ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
  [ -n "$SECURITY" ] || SECURITY=${MIRROR%/debian}/debian-security
  MIRROR=${MIRROR%/}; SECURITY=${SECURITY%/}
}

# ---- mounts ----------------------------------------------------------------

MOUNTED=()
umount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -l "${MOUNTED[i]}" 2>/dev/null || true
  done
  MOUNTED=()
}
mnt() { # mnt TARGET mount-args...
  local target=$1; shift
  mount "$@" "$target"
  MOUNTED+=("$target")
}
mount_root() {
  mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/src" "$ROOT/tmp"
  chmod 1777 "$ROOT/tmp"
  mnt "$ROOT/proc" -t proc proc
  mnt "$ROOT/sys" -t sysfs sysfs
  mnt "$ROOT/dev" --bind /dev
  mnt "$ROOT/dev/pts" --bind /dev/pts
  mnt "$ROOT/src" --bind "$SRC"
  if [ -d /tmp/.X11-unix ]; then
    mkdir -p "$ROOT/tmp/.X11-unix"
    mnt "$ROOT/tmp/.X11-unix" --bind /tmp/.X11-unix
  fi
}

in_root() { # commands run in the chroot, with a sane environment
  chroot "$ROOT" /usr/bin/env -i \
    HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# ---- ensure ----------------------------------------------------------------

host_tools() {
  local need=()
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v zstd >/dev/null 2>&1 || need+=(zstd)
  [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing on the host: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
  fi
}

provision() {
  pick_mirrors
  log "mirror $MIRROR, security $SECURITY"
  cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    > "$ROOT/etc/apt/apt.conf.d/90dreamlayer"
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  # the packages, inside a private mount namespace so nothing is left mounted
  unshare --mount --propagation private -- "$0" __provision
  stamp_text > "$ROOT/$STAMP_REL"
}

provision_inside() {
  trap umount_all EXIT
  mount_root
  in_root apt-get update -q
  in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
  in_root apt-get clean
  rm -rf "$ROOT"/var/lib/apt/lists/*_Packages "$ROOT"/var/lib/apt/lists/*_Translation-* 2>/dev/null || true
}

make_tarball() {
  local t0 tb
  t0=$(now); tb=$(tarball_path)
  log "caching the root as $tb"
  if [[ $tb == *.zst ]]; then
    tar -C "$ROOT" --numeric-owner --one-file-system -cf - . | zstd -q -T0 -3 -o "$tb.tmp" -f
  else
    tar -C "$ROOT" --numeric-owner --one-file-system -czf "$tb.tmp" .
  fi
  mv -f "$tb.tmp" "$tb"
  log "tarball written in $(elapsed "$t0") s ($(du -h "$tb" | cut -f1))"
}

restore_tarball() {
  local tb=$1 t0
  t0=$(now)
  log "restoring the root from $tb"
  rm -rf "$ROOT.tmp"; mkdir -p "$ROOT.tmp"
  if [[ $tb == *.zst ]]; then
    zstd -q -d -c "$tb" | tar -C "$ROOT.tmp" --numeric-owner -xf -
  else
    tar -C "$ROOT.tmp" --numeric-owner -xzf "$tb"
  fi
  mv "$ROOT.tmp" "$ROOT"
  log "restored in $(elapsed "$t0") s"
}

root_is_current() {
  [ -f "$ROOT/$STAMP_REL" ] && [ "$(cat "$ROOT/$STAMP_REL")" = "$(stamp_text)" ] \
    && [ -x "$ROOT/usr/bin/gimp-console-3.0" ]
}

cmd_ensure() {
  local t_all t0 tb
  t_all=$(now)
  mkdir -p "$(dirname "$ROOT")"
  exec 9> "$ROOT.lock"
  flock 9
  if root_is_current; then
    log "root is ready at $ROOT ($(elapsed "$t_all") s)"
    return 0
  fi
  host_tools
  if [ ! -d "$ROOT" ]; then
    for tb in "$ROOT.tar.zst" "$ROOT.tar.gz"; do
      if [ -f "$tb" ] && { [[ $tb != *.zst ]] || command -v zstd >/dev/null 2>&1; }; then
        restore_tarball "$tb" || { log "tarball unusable, removing it"; rm -rf "$ROOT.tmp" "$tb"; }
        break
      fi
    done
  fi
  if root_is_current; then
    log "root is ready at $ROOT (total $(elapsed "$t_all") s)"
    return 0
  fi
  if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    pick_mirrors
    rm -rf "$ROOT" "$ROOT.new"
    t0=$(now)
    log "debootstrap $SUITE from $MIRROR"
    debootstrap --variant=minbase "$SUITE" "$ROOT.new" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 \
      || { tail -n 30 "$ROOT.debootstrap.log" >&2; die "debootstrap failed (log: $ROOT.debootstrap.log)"; }
    mv "$ROOT.new" "$ROOT"
    log "debootstrap took $(elapsed "$t0") s"
  fi
  t0=$(now)
  log "installing packages"
  provision
  log "packages took $(elapsed "$t0") s"
  make_tarball
  log "root is ready at $ROOT (total $(elapsed "$t_all") s)"
}

# ---- run -------------------------------------------------------------------

cmd_run() {
  [ $# -gt 0 ] || die "usage: $0 run CMD..."
  root_is_current || die "no ready root at $ROOT: run '$0 ensure' first"
  exec unshare --mount --propagation private -- "$0" __run "$@"
}

run_inside() {
  trap umount_all EXIT
  trap 'exit 130' INT TERM
  mount_root
  local rc=0
  # pass through a few variables the tests use
  local pass=()
  local v
  for v in DISPLAY DREAM_KEEP DREAM_NO_BUILD DREAM_BUILD_DIR DREAM_GIMP_TIMEOUT CI; do
    [ -n "${!v:-}" ] && pass+=("$v=${!v}")
  done
  chroot "$ROOT" /usr/bin/env -i \
    HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "${pass[@]}" \
    /bin/sh -c 'cd /src && exec "$@"' sh "$@" || rc=$?
  return $rc
}

# ---- clean -----------------------------------------------------------------

cmd_clean() {
  if grep -q " $ROOT/" /proc/mounts; then
    die "something is still mounted under $ROOT; not removing"
  fi
  rm -rf "$ROOT" "$ROOT.new" "$ROOT.tmp" "$ROOT.tar.zst" "$ROOT.tar.gz" "$ROOT.tar."*.tmp \
         "$ROOT.debootstrap.log" "$ROOT.lock"
  log "removed $ROOT and its tarball"
}

case "${1:-}" in
  ensure) shift; cmd_ensure "$@" ;;
  run) shift; cmd_run "$@" ;;
  clean) shift; cmd_clean "$@" ;;
  __provision) shift; provision_inside "$@" ;;
  __run) shift; run_inside "$@" ;;
  *) echo "usage: $0 ensure | run CMD... | clean" >&2; exit 2 ;;
esac
