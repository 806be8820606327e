#!/bin/bash
# Builds the debug app with this page as its frontend and drives every command through the real IPC in
# a real window, in the private desktop session (tests/session.sh --x11: Xvfb, D-Bus, an unlocked
# keyring, scratch HOME). The page names a profile after its verdict; this prints it (exit 0 only on
# PASS) and saves a screenshot. Usage: src-tauri/tests/ipc-smoke/run.sh [screenshot.png]
# Afterwards rebuild without TAURI_CONFIG to embed the real UI again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
shot=${1:-$root/tests/artifacts/ipc-smoke.png}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
TAURI_CONFIG="{\"build\":{\"frontendDist\":\"$here\"}}" cargo build -p keyward --manifest-path "$root/Cargo.toml"
mkdir -p "$(dirname "$shot")"
KEYWARD_UPDATER_ENDPOINT=http://127.0.0.1:9/latest.json \
KEYWARD_KEYCHAIN_SERVICE=keyward-ipc-smoke APP="$CARGO_TARGET_DIR/debug/keyward" SHOT="$shot" \
  "$root/tests/session.sh" --x11 -- bash -c '
    export KEYWARD_DATA_DIR=$KEYWARD_SESSION_DIR/data
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
    echo "${verdict:-smoke: no verdict (see the app log, kept with KEYWARD_SESSION_KEEP=1)}"
    case "$verdict" in "smoke: PASS"*) exit 0;; *) exit 1;; esac' 2>/dev/null
