#!/usr/bin/env bash
# Installs the Debian packages shmconform needs, and only those missing.
# Idempotent and silent when nothing is missing. Not root and something
# missing: prints the exact apt-get line and exits 1.
#
#   ci/bootstrap.sh run    what the main job needs (build, local + UML targets)
#   ci/bootstrap.sh vm     + what kernels of other architectures need (run --matrix, -t qemu:...)
#   ci/bootstrap.sh test   everything the project's own tests use
#   ci/bootstrap.sh oci    podman and the OCI runtimes (runc, crun, gVisor's runsc);
#                          the harness calls it when an oci:/gvisor target is asked for
#   ci/bootstrap.sh lava   LAVA's dispatcher (lava-run) and QEMU, for `lava` verbs and
#                          `-t lava:...`; called by the harness only when those are used
set -euo pipefail

profile=${1:-run}

run_packages=(
  cmake ninja-build g++ libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest python3-pytest-timeout python3-jinja2 python3-yaml python3-jsonschema
  user-mode-linux busybox-static cpio util-linux
)
# podman pulls conmon, containers-storage and its configuration; the static
# busybox is the image's shell (the round script runs inside the container).
oci_packages=(podman runc crun runsc conmon catatonit busybox-static)
vm_packages=(
  "${run_packages[@]}"
  qemu-system-x86 qemu-system-arm qemu-user googletest bubblewrap
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf g++-riscv64-linux-gnu
)
test_packages=(
  "${vm_packages[@]}" "${oci_packages[@]}"
  python3-pytest-xdist python3-pyflakes lcov strace clang-format
  openssh-server openssh-client
  stress-ng chromium fonts-dejavu-core
)
# lava-dispatcher pulls in libguestfs and friends: only for LAVA users. The
# device-type templates come from lava-server, downloaded and unpacked into the
# harness's cache by the harness itself, never installed.
lava_packages=(
  lava-dispatcher qemu-system-x86 qemu-system-arm busybox-static cpio python3-jinja2 python3-yaml
)

case "$profile" in
  run) wanted=("${run_packages[@]}") ;;
  vm) wanted=("${vm_packages[@]}") ;;
  test) wanted=("${test_packages[@]}") ;;
  oci) wanted=("${oci_packages[@]}") ;;
  lava) wanted=("${lava_packages[@]}") ;;
  *) echo "bootstrap: unknown profile '$profile' (use: run, vm, test, oci, lava)" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "shmconform: missing Debian packages; as root run: $line" >&2
  exit 1
fi
echo "shmconform: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null || true  # one stale index must not stop the install
# Wait for another apt/dpkg run (a parallel job) instead of failing on its lock.
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
