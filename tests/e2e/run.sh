#!/bin/bash
# Keyward end to end: runs harness.mjs in the private desktop session (tests/session.sh --x11: scratch
# HOME, Xvfb, D-Bus, an unlocked gnome-keyring, dunst); the harness starts the emulator and a tray host
# and drives the app binary over tauri-driver + WebKitWebDriver. Builds nothing: KEYWARD_APP_BIN and
# KEYWARD_EMULATOR_BIN name the binaries. Screenshots (and on failure logs) go to tests/artifacts/e2e/,
# the JUnit report to E2E_JUNIT (default tests/artifacts/e2e/junit.xml). Ends with `N passed, M failed`.
# Env: E2E_TIMEOUT (seconds, default 900), E2E_ONLY (e.g. "1,2"), KEYWARD_SESSION_KEEP=1 keeps the scratch dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

fail() { echo "e2e: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ -x "${KEYWARD_APP_BIN:-}" ] || fail "KEYWARD_APP_BIN must name the built app binary (cargo build -p keyward)"
[ -x "${KEYWARD_EMULATOR_BIN:-}" ] || fail "KEYWARD_EMULATOR_BIN must name the emulator binary (cargo build -p openrouter-emulator)"
for tool in Xvfb dbus-daemon gnome-keyring-daemon dunst secret-tool import xdotool xwininfo trayer tauri-driver node; do
  command -v "$tool" >/dev/null || fail "$tool is missing (cargo xtask setup installs it)"
done
[ -x /usr/bin/WebKitWebDriver ] || fail "/usr/bin/WebKitWebDriver is missing (apt package webkit2gtk-driver)"
[ -d "$here/node_modules/webdriverio" ] || fail "run npm ci in tests/e2e first (cargo xtask setup does)"

# The secret hygiene scanner must be able to fail before the session relies on it finding nothing.
node --test "$here/hygiene.test.mjs" >/dev/null 2>&1 || { node --test "$here/hygiene.test.mjs"; fail "the secret hygiene scanner's own tests failed"; }

artifacts="$root/tests/artifacts/e2e"
rm -rf "$artifacts"
mkdir -p "$artifacts"
export E2E_ARTIFACTS=$artifacts E2E_JUNIT=${E2E_JUNIT:-$artifacts/junit.xml}
export KEYWARD_EMULATOR_BIN=$(realpath "$KEYWARD_EMULATOR_BIN")
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" WEBKIT_DISABLE_COMPOSITING_MODE=1

# Inside the session: a private copy of the app, so a rebuild during the run cannot pull it away.
# A TMPDIR of the session's own, so the secret hygiene scan knows the temp files it made.
inner='cp "$1" "$KEYWARD_SESSION_DIR/keyward" && mkdir -m 700 "$KEYWARD_SESSION_DIR/tmp" &&
  export E2E_ORIG_TMPDIR=${TMPDIR:-/tmp} TMPDIR=$KEYWARD_SESSION_DIR/tmp &&
  E2E_SCRATCH=$KEYWARD_SESSION_DIR KEYWARD_APP_BIN=$KEYWARD_SESSION_DIR/keyward exec node "$2"'
set +e
timeout --kill-after=10 "${E2E_TIMEOUT:-900}" "$root/tests/session.sh" --x11 --password e2e -- \
  bash -c "$inner" bash "$(realpath "$KEYWARD_APP_BIN")" "$here/harness.mjs" \
  > >(tee "$artifacts/harness.log") 2> "$artifacts/session-stderr.log"
status=$?
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "e2e: timed out after ${E2E_TIMEOUT:-900} s"
  tail -1 "$artifacts/harness.log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$' || echo "0 passed, 1 failed"
fi
exit "$status"
