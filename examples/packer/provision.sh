#!/bin/sh
# provision.sh: Packer shell provisioner that makes an image ready for SystemTap kernel probing
# with kdebuginfo (kdebuginfo.pkr.hcl runs it twice, as root).
#
# PROVISION_PHASE=before-reboot
#   Node.js >= 20.19 and kdebuginfo, then the system upgrade (which installs the newest kernel,
#   not yet running), then `kdebuginfo install --kernel newest-installed --verify compile`: the
#   packages for the kernel the image will boot, proven by compiling the probe against it (it
#   cannot run before that kernel boots). Records that kernel for the next phase.
# PROVISION_PHASE=after-reboot
#   The running kernel must be the recorded one (else the boot loader picked another), and
#   `kdebuginfo doctor` must say ready: the debuginfo's build-id matches the running kernel.
#   Then the download cache is removed so the image does not carry the RPMs twice.
#
# Environment:
#   KDEBUGINFO_PACKAGE  what `npm install -g` installs (default kdebuginfo; a packed
#                       kdebuginfo-*.tgz uploaded by a file provisioner works too)
#   KDEBUGINFO_MIRROR   FROM=TO,... URL rewrites to an internal mirror or caching proxy; read
#                       by kdebuginfo itself
#   UPGRADE             1 (default): upgrade the system first; 0: use the kernels already there
#   KDEBUGINFO_STATE    where the kernel is recorded (default /var/lib/kdebuginfo/packer-kernel)
#   KDEBUGINFO_CACHE    kdebuginfo's download cache, removed at the end (default
#                       /var/cache/kdebuginfo, as root); KEEP_CACHE=1 keeps it
#
# EL8 and later, Fedora. CentOS 7 cannot run Node.js 20 (glibc 2.17): build those images with a
# bundle made elsewhere (`kdebuginfo bundle`, then a file provisioner and the bundle's install.sh).
set -eu

PHASE=${PROVISION_PHASE:-}
STATE=${KDEBUGINFO_STATE:-/var/lib/kdebuginfo/packer-kernel}
CACHE=${KDEBUGINFO_CACHE:-/var/cache/kdebuginfo}
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

say() { printf 'provision.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

package_manager() {
  if command -v dnf >/dev/null 2>&1; then
    echo dnf
  elif command -v yum >/dev/null 2>&1; then
    echo yum
  else
    die 'neither dnf nor yum: this recipe is for RPM-based images'
  fi
}

node_is_new_enough() {
  command -v node >/dev/null 2>&1 || return 1
  node -e "const [a, b] = process.versions.node.split('.').map(Number);
    process.exit(a > $NODE_MIN_MAJOR || (a === $NODE_MIN_MAJOR && b >= $NODE_MIN_MINOR) ? 0 : 1)"
}

ensure_node() {
  node_is_new_enough && return 0
  pm=$(package_manager)
  # EL8 and EL9 ship an older default Node.js; their nodejs:20 module stream is new enough.
  # Fedora and EL10 have no module streams and a new enough default: the enable is skipped.
  if "$pm" -q module list nodejs 2>/dev/null | grep -q '^nodejs  *20 '; then
    "$pm" -y module reset nodejs
    "$pm" -y module enable nodejs:20
  fi
  "$pm" -y install nodejs npm
  node_is_new_enough || die "Node.js $(node --version 2>/dev/null || echo 'is missing'): kdebuginfo needs >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR"
}

ensure_kdebuginfo() {
  command -v kdebuginfo >/dev/null 2>&1 && return 0
  npm install -g --no-audit --no-fund "${KDEBUGINFO_PACKAGE:-kdebuginfo}"
  command -v kdebuginfo >/dev/null 2>&1 || die "npm installed ${KDEBUGINFO_PACKAGE:-kdebuginfo} but kdebuginfo is not on PATH ($PATH)"
}

# One field of install --json's document, read with the Node.js kdebuginfo runs on.
json_kernel() {
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).kernel.uname));'
}

before_reboot() {
  ensure_node
  ensure_kdebuginfo
  if [ "${UPGRADE:-1}" = 1 ]; then
    "$(package_manager)" -y upgrade
  fi
  # The kernel the image will boot is the newest installed one, not the one running now; the
  # probe cannot run on it yet, so it is compiled against it (stap -p4 -r <release>).
  status=0
  out=$(kdebuginfo install --kernel newest-installed --yes --verify compile --json) || status=$?
  printf '%s\n' "$out"
  [ "$status" = 0 ] || die "kdebuginfo install failed (exit $status)"
  kernel=$(printf '%s\n' "$out" | json_kernel)
  mkdir -p "$(dirname "$STATE")"
  printf '%s\n' "$kernel" >"$STATE"
  say "ready for $kernel (compiled the probe against it); reboot into it next"
}

after_reboot() {
  [ -r "$STATE" ] || die "$STATE is missing: run PROVISION_PHASE=before-reboot first"
  expected=$(cat "$STATE")
  running=$(uname -r)
  [ "$running" = "$expected" ] ||
    die "booted $running, but provisioned $expected: the boot loader's default is another kernel (grubby --default-kernel)"
  # --offline: the image's readiness does not depend on reaching a mirror from the build network.
  kdebuginfo doctor --offline --kernel "$running" || die "kdebuginfo doctor: $running is not ready for SystemTap (see the checks above)"
  rm -f "$STATE"
  if [ "${KEEP_CACHE:-0}" != 1 ]; then
    rm -rf "$CACHE"
  fi
  say "SystemTap is ready on $running"
}

case $PHASE in
  before-reboot) before_reboot ;;
  after-reboot) after_reboot ;;
  *) die "PROVISION_PHASE must be before-reboot or after-reboot (got '$PHASE')" ;;
esac
