#!/bin/bash
# The install suite: the Linux packages installed, launched and removed as a person would, on this
# machine. Runs install.mjs in the private desktop session (tests/session.sh --x11: scratch HOME, Xvfb,
# D-Bus, an unlocked gnome-keyring); install.mjs checks both packages' metadata and files, installs
# the .deb with apt, starts a tray host, launches Keyward from its desktop entry with gtk-launch, sees
# its window and its sandbox offer (over AT-SPI), quits it from the tray menu, then removes and
# purges the package (always, also after a failure). Builds and packages nothing: KEYWARD_DEB and
# KEYWARD_RPM name the packages (`cargo xtask test --only install` makes them from the debug build;
# `cargo xtask bundle --debug` too). Needs root: it installs into /usr. Screenshots go to
# tests/artifacts/install/, the JUnit report to INSTALL_JUNIT (default tests/artifacts/install/junit.xml).
# Ends with `N passed, M failed`. Env: INSTALL_TIMEOUT (seconds, default 300).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

fail() { echo "install: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ "$(id -u)" = 0 ] || fail "the install suite installs a package into /usr with apt and dpkg: run it as root (the CI does)"
[ -f "${KEYWARD_DEB:-}" ] || fail "KEYWARD_DEB must name the .deb (cargo xtask bundle --debug makes one)"
[ -f "${KEYWARD_RPM:-}" ] || fail "KEYWARD_RPM must name the .rpm (cargo xtask bundle --debug makes one)"
for tool in Xvfb dbus-daemon gnome-keyring-daemon trayer xdotool xwininfo import gtk-launch \
  desktop-file-validate dpkg-deb apt-get rpm node; do
  command -v "$tool" >/dev/null || fail "$tool is missing (cargo xtask setup installs it)"
done
/usr/bin/python3 -c 'import gi; gi.require_version("Atspi", "2.0")' 2>/dev/null ||
  fail "python3-gi and gir1.2-atspi-2.0 are missing (cargo xtask setup installs them)"
[ -d "$root/tests/e2e/node_modules/webdriverio" ] || fail "run npm ci in tests/e2e first (cargo xtask setup does): the suite uses its tray helpers"

# Whatever happens in the session (a timeout or a signal ends install.mjs before its own clean-up),
# the package does not stay installed.
# shellcheck disable=SC2317 # (called by the EXIT trap)
purge_leftover() {
  local left
  left=$(dpkg-query -W -f='${Status}' keyward 2>/dev/null || true)
  if [ -n "$left" ] && [ "$left" != "unknown ok not-installed" ]; then
    echo "install: keyward is still known to dpkg after the run ($left); purging it"
    dpkg --purge keyward || true
  fi
}
trap purge_leftover EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

artifacts="$root/tests/artifacts/install"
rm -rf "$artifacts"
mkdir -p "$artifacts"
export INSTALL_ARTIFACTS=$artifacts INSTALL_JUNIT=${INSTALL_JUNIT:-$artifacts/junit.xml}
KEYWARD_DEB=$(realpath "$KEYWARD_DEB")
KEYWARD_RPM=$(realpath "$KEYWARD_RPM")
export KEYWARD_DEB KEYWARD_RPM
# As in the e2e session: the web view paints without GPU compositing under Xvfb.
export WEBKIT_DISABLE_COMPOSITING_MODE=1

set +e
timeout --kill-after=10 "${INSTALL_TIMEOUT:-300}" "$root/tests/session.sh" --x11 -- \
  node "$here/install.mjs" > >(tee "$artifacts/install.log") 2> "$artifacts/session-stderr.log"
status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "install: timed out after ${INSTALL_TIMEOUT:-300} s"
  tail -1 "$artifacts/install.log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$' || echo "0 passed, 1 failed"
fi
exit "$status"
