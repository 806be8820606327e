#!/bin/bash
# Keyward end to end: starts a private desktop session (scratch HOME and XDG_RUNTIME_DIR, Xvfb, its own
# D-Bus session bus, an unlocked gnome-keyring as the Secret Service, dunst as the notification daemon)
# and runs harness.mjs in it, which starts the emulator and drives the app binary over tauri-driver +
# WebKitWebDriver. Builds nothing: KEYWARD_APP_BIN and KEYWARD_EMULATOR_BIN name the binaries.
# Screenshots (and on failure logs) go to tests/artifacts/e2e/. Ends with `N passed, M failed`.
# Env: E2E_TIMEOUT (seconds, default 900), E2E_ONLY (e.g. "1,2"), E2E_KEEP_SCRATCH=1 keeps the scratch dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

fail() { echo "e2e: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ -x "${KEYWARD_APP_BIN:-}" ] || fail "KEYWARD_APP_BIN must name the built app binary (cargo build -p keyward)"
[ -x "${KEYWARD_EMULATOR_BIN:-}" ] || fail "KEYWARD_EMULATOR_BIN must name the emulator binary (cargo build -p openrouter-emulator)"
for tool in xvfb-run dbus-run-session gnome-keyring-daemon dunst secret-tool import xdotool xwininfo trayer tauri-driver node; do
  command -v "$tool" >/dev/null || fail "$tool is missing (cargo xtask setup installs it)"
done
[ -x /usr/bin/WebKitWebDriver ] || fail "/usr/bin/WebKitWebDriver is missing (apt package webkit2gtk-driver)"
[ -d "$here/node_modules/webdriverio" ] || fail "run npm ci in tests/e2e first (cargo xtask setup does)"

app_bin=$(realpath "$KEYWARD_APP_BIN")
emulator_bin=$(realpath "$KEYWARD_EMULATOR_BIN")
artifacts="$root/tests/artifacts/e2e"
rm -rf "$artifacts"
mkdir -p "$artifacts"

# The private session's home: created before Xvfb and D-Bus so nothing lands in the real home.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/keyward-e2e.XXXXXX")
mkdir -m 700 "$scratch/run" "$scratch/home"
session_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$session_pid" ]; then
    # The session runs in its own process group (setsid): end whatever of it is left, daemons that
    # outlived their parent included.
    if kill -TERM -- "-$session_pid" 2>/dev/null; then
      sleep 2
      kill -KILL -- "-$session_pid" 2>/dev/null || true
    fi
  fi
  if [ "${E2E_KEEP_SCRATCH:-0}" = 1 ]; then echo "e2e: scratch kept at $scratch" >&2; else rm -rf "$scratch"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy, so a rebuild of the binary during the run cannot pull it away mid-scenario.
cp "$app_bin" "$scratch/keyward"
app_bin="$scratch/keyward"

export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export PATH="$CARGO_HOME/bin:$PATH"
export HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/run" XDG_CONFIG_HOME="$scratch/home/.config" \
  XDG_DATA_HOME="$scratch/home/.local/share" XDG_CACHE_HOME="$scratch/home/.cache"
export KEYWARD_APP_BIN="$app_bin" KEYWARD_EMULATOR_BIN="$emulator_bin" E2E_SCRATCH="$scratch" E2E_ARTIFACTS="$artifacts"
export WEBKIT_DISABLE_COMPOSITING_MODE=1 NO_AT_BRIDGE=1
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY

inner='
  set -u
  eval "$(printf e2e | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
  export GNOME_KEYRING_CONTROL
  dunst > "$E2E_SCRATCH/dunst.log" 2>&1 &
  dunst_pid=$!
  node "$E2E_HARNESS"
  status=$?
  kill "$dunst_pid" 2>/dev/null
  exit $status'

# setsid: one process group to end on timeout or failure; timeout: the hard overall limit.
E2E_HARNESS="$here/harness.mjs" setsid timeout --kill-after=10 "${E2E_TIMEOUT:-900}" \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c "$inner" \
  > >(tee "$artifacts/harness.log") 2> "$artifacts/session-stderr.log" &
session_pid=$!
set +e
wait "$session_pid"
status=$?
set -e
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "e2e: timed out after ${E2E_TIMEOUT:-900} s"
  tail -1 "$artifacts/harness.log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$' || echo "0 passed, 1 failed"
fi
exit "$status"
