#!/bin/bash
# Builds the debug app with this page as its frontend and drives every command through the real IPC in
# a real window (Xvfb, private D-Bus session and keyring, scratch HOME). The page names a profile after
# its verdict; this prints it (exit 0 only on PASS) and saves a screenshot. Usage: src-tauri/tests/ipc-smoke/run.sh [screenshot.png]
# Afterwards rebuild without TAURI_CONFIG to embed the real UI again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
shot=${1:-$root/tests/artifacts/ipc-smoke.png}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
TAURI_CONFIG="{\"build\":{\"frontendDist\":\"$here\"}}" cargo build -p keyward --manifest-path "$root/Cargo.toml"
scratch=$(mktemp -d)
mkdir -m 700 "$scratch/run"
mkdir -p "$(dirname "$shot")"
HOME=$scratch XDG_RUNTIME_DIR=$scratch/run KEYWARD_DATA_DIR=$scratch/data \
KEYWARD_KEYCHAIN_SERVICE=keyward-ipc-smoke APP="$CARGO_TARGET_DIR/debug/keyward" SHOT="$shot" \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
    eval "$(printf pass | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
    export GNOME_KEYRING_CONTROL
    "$APP" > "$HOME/app.log" 2>&1 &
    app=$!
    verdict=""
    for _ in $(seq 1 60); do
      sleep 0.5
      verdict=$(python3 -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); print(next((n for (n,) in db.execute(\"SELECT name FROM profiles\") if n.startswith(\"smoke: \")), \"\"))" "$KEYWARD_DATA_DIR/keyward.sqlite3" 2>/dev/null || true)
      [ -n "$verdict" ] && break
    done
    import -window root "$SHOT"
    kill $app; wait $app 2>/dev/null || true
    echo "${verdict:-smoke: no verdict (see $HOME/app.log)}"
    case "$verdict" in "smoke: PASS"*) exit 0;; *) exit 1;; esac' 2>/dev/null
