#!/usr/bin/env bash
# ARM64 smoke check: `edgelite demo` inside a Debian bookworm arm64 root, emulated.
#
#   sudo bash scripts/arm64-smoke.sh [ROOT_DIR]      (default /var/tmp/edgelite-arm64)
#
# 1. Debian packages on the host: debootstrap, qemu-user-static, binfmt-support; the
#    kernel's binfmt_misc runs aarch64 binaries through qemu-aarch64-static (flag F, so it
#    works inside the chroot).
# 2. debootstrap an arm64 root (minbase + python3, python3-venv), kept for later runs.
# 3. A wheel of this checkout (py3-none-any), built on the host with pip; inside the root
#    a venv installs it with its dependencies from PyPI (numpy, numba, llvmlite,
#    flatbuffers: their aarch64 wheels).
# 4. `edgelite demo` twice inside the root: cold (numba compiles the kernels for aarch64)
#    and warm (from the kernel cache). Each step prints how long it took.
# Needs root and network access to the Debian mirror and PyPI. Under emulation the whole
# run takes tens of minutes the first time.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-${EDGELITE_ARM64_ROOT:-/var/tmp/edgelite-arm64}}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
python=${PYTHON:-python3}
start=$SECONDS

step() { printf '\n== [%4ds] %s\n' $((SECONDS - start)) "$*"; }
die() { echo "arm64-smoke: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and binfmt_misc need it)"

step "host packages: debootstrap qemu-user-static binfmt-support"
if ! command -v debootstrap >/dev/null || ! command -v qemu-aarch64-static >/dev/null \
    || ! command -v update-binfmts >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap qemu-user-static \
    binfmt-support >/dev/null
fi

step "binfmt_misc: aarch64 through qemu-aarch64-static"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "cannot mount binfmt_misc (a container without the privilege?): no way to run arm64 binaries"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 || die "update-binfmts --enable qemu-aarch64 failed"
fi
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
  || die "the qemu-aarch64 binfmt entry is registered but disabled"
interpreter=$(awk '/^interpreter/ {print $2}' /proc/sys/fs/binfmt_misc/qemu-aarch64)

step "debootstrap bookworm arm64 into $root"
if [ ! -x "$root/usr/bin/python3" ] || [ ! -d "$root/usr/lib/python3.11/venv" ]; then
  for fs in dev sys proc; do   # left mounted by an interrupted run: never delete through
    mountpoint -q "$root/$fs" 2>/dev/null && umount -l "$root/$fs"
  done
  ! grep -q " $root/" /proc/mounts || die "something is still mounted under $root"
  rm -rf --one-file-system "$root"
  debootstrap --foreign --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror"
  # without binfmt's F flag the kernel looks for the interpreter inside the root
  mkdir -p "$root$(dirname "$interpreter")"
  cp -L "$interpreter" "$root$interpreter"
  chroot "$root" /debootstrap/debootstrap --second-stage
else
  echo "reusing $root"
fi

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for fs in proc sys dev; do
  if ! mountpoint -q "$root/$fs"; then
    case $fs in
      proc) mount -t proc proc "$root/proc" ;;
      sys) mount -t sysfs sys "$root/sys" ;;
      dev) mount --bind /dev "$root/dev" ;;
    esac
    mounted+=("$root/$fs")
  fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot_env=(env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
            PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180)
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then   # a host CA bundle (e.g. a proxy's)
  cp "$PIP_CERT" "$root/etc/ssl/certs/host-pip-ca.crt"
  chroot_env+=(PIP_CERT=/etc/ssl/certs/host-pip-ca.crt)
fi
in_root() { chroot "$root" "${chroot_env[@]}" "$@"; }
in_root uname -m | grep -qx aarch64 || die "the root does not run as aarch64"

step "wheel of $repo (on the host)"
rm -rf "$root/tmp/wheel" && mkdir -p "$root/tmp/wheel"
"$python" -m pip wheel --quiet --no-deps -w "$root/tmp/wheel" "$repo"
wheel=$(cd "$root/tmp/wheel" && ls edgelite-*.whl)
"$python" -m zipfile -l "$root/tmp/wheel/$wheel" | grep -E 'models/|demo/.*png'

step "venv in the root; pip install the wheel (numpy, numba, flatbuffers from PyPI)"
[ -x "$root/opt/edgelite/bin/python" ] || in_root python3 -m venv /opt/edgelite
in_root /opt/edgelite/bin/pip install --quiet "/tmp/wheel/$wheel"
in_root /opt/edgelite/bin/pip install --quiet --force-reinstall --no-deps "/tmp/wheel/$wheel"
in_root /opt/edgelite/bin/python -c 'import platform, numpy, numba; print(platform.machine(), platform.python_version(), "numpy", numpy.__version__, "numba", numba.__version__)'

in_root rm -rf /root/.cache/edgelite/numba
step "edgelite demo (cold: numba compiles the kernels for aarch64)"
t=$SECONDS
in_root /opt/edgelite/bin/edgelite demo --runs 3
echo "cold demo: $((SECONDS - t)) s"

step "edgelite demo (warm: kernels from the cache)"
t=$SECONDS
in_root /opt/edgelite/bin/edgelite demo --runs 3
echo "warm demo: $((SECONDS - t)) s"

step "done: arm64 smoke passed in $((SECONDS - start)) s"
