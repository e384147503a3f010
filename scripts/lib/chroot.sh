# A clean Debian 12 root for the install tests (scripts/package-test, scripts/container-test):
# an `mmdebstrap --variant=minbase bookworm` tarball, made once and cached, unpacked into a
# folder, with /proc and /dev mounted while it is in use. Sourced, not run; needs root.
#   chroot_base_tarball CACHE-DIR      -> prints the cached tarball's path (made on first use)
#   chroot_unpack TARBALL ROOT         a fresh root from the tarball
#   chroot_mount ROOT [APT-CACHE]      /proc, /dev, /dev/shm, /dev/pts, resolv.conf; with APT-CACHE,
#                                      apt's downloads and lists are kept there between runs
#   chroot_umount ROOT                 stops what still runs in ROOT, unmounts; safe to call twice
#   chroot_run ROOT CMD...             runs CMD inside ROOT (as root, with a clean environment)

chroot_base_tarball() {
  local cache=$1 tarball=$1/bookworm-minbase.tar
  mkdir -p "$cache"
  [[ -d $tarball ]] && rm -rf "$tarball"  # an earlier version left a folder here
  if [[ ! -s $tarball ]]; then
    command -v mmdebstrap >/dev/null 2>&1 || {
      echo "chroot: mmdebstrap is missing (scripts/bootstrap installs it)" >&2
      return 1
    }
    echo "chroot: making a minbase bookworm root (once; cached in $tarball)" >&2
    mmdebstrap --quiet --variant=minbase --format=tar bookworm "$tarball.part" >&2 && mv "$tarball.part" "$tarball"
  fi
  echo "$tarball"
}

chroot_unpack() {
  local tarball=$1 root=$2
  chroot_umount "$root"
  rm -rf "$root"
  mkdir -p "$root"
  tar -xf "$tarball" -C "$root"
}

chroot_mount() {
  local root=$1 cache=${2:-}
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind /dev/shm "$root/dev/shm"
  mount --bind /dev/pts "$root/dev/pts"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  if [[ -n $cache ]]; then
    mkdir -p "$cache/archives/partial" "$cache/lists/partial"
    mount --bind "$cache/archives" "$root/var/cache/apt/archives"
    mount --bind "$cache/lists" "$root/var/lib/apt/lists"
  fi
  # A throwaway root: dpkg need not fsync every file it unpacks.
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/enmap-migrate-test-unsafe-io"
  # No service starts inside the root (postgresql's postinst would start its cluster).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
}

# The ids of the processes whose root directory is ROOT.
chroot_pids() {
  local root pid link
  root=$(readlink -f "$1")
  for pid in /proc/[0-9]*; do
    link=$(readlink "$pid/root" 2>/dev/null) || continue
    if [[ $link == "$root" || $link == "$root"/* ]]; then
      echo "${pid#/proc/}"
    fi
  done
  return 0
}

chroot_umount() {
  local root=$1 pids m
  [[ -d $root ]] || return 0
  pids=$(chroot_pids "$root")
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    sleep 1
    pids=$(chroot_pids "$root")
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
  fi
  for m in var/lib/apt/lists var/cache/apt/archives dev/pts dev/shm dev proc; do
    if mountpoint -q "$root/$m"; then
      umount "$root/$m" || umount -l "$root/$m"
    fi
  done
}

chroot_run() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}
