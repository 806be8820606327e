#!/usr/bin/env bash
# The private desktop session every test that needs one runs in: a scratch HOME and XDG_RUNTIME_DIR,
# a D-Bus session bus of its own and gnome-keyring as its Secret Service (a login keyring unlocked with
# a known password), optionally an X display (Xvfb) with a notification daemon (dunst). Runs the given
# command in it, then ends every process the session started, and fails (exit 75) when the keyring daemon died
# while the command ran (instead of a dozen "keychain locked" failures).
#
# Usage: tests/session.sh [--x11] [--no-keyring] [--bus-config FILE] [--password PW] -- COMMAND [ARGS...]
#   --x11         also Xvfb (DISPLAY) and dunst, for apps with windows and notifications
#   --no-keyring  start no keyring daemon: the first Secret Service call activates one over D-Bus,
#                 which in the fresh HOME has no keyring at all (for "no default keyring" tests)
#   --bus-config  the session bus's configuration (e.g. one that can activate nothing)
#   --password    the login keyring's password (default: keyward)
# Inside: HOME, XDG_*, DBUS_SESSION_BUS_ADDRESS, DISPLAY (with --x11) and KEYWARD_SESSION_DIR (the
# scratch dir, removed afterwards unless KEYWARD_SESSION_KEEP=1). Exit status: the command's.
set -uo pipefail

x11=no keyring=yes password=keyward bus_config=(--session)
while [ $# -gt 0 ]; do
  case "$1" in
    --x11) x11=yes ;;
    --no-keyring) keyring=no ;;
    --bus-config) bus_config=("--config-file=$2"); shift ;;
    --password) password=$2; shift ;;
    --) shift; break ;;
    *) echo "session.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ $# -gt 0 ] || { echo "usage: session.sh [--x11] [--no-keyring] [--bus-config FILE] [--password PW] -- COMMAND..." >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keyward-session.XXXXXX")
mkdir -p "$scratch/home/.config" "$scratch/home/.local/share" "$scratch/home/.cache"
mkdir -m 700 "$scratch/run"

# Every process started from here on carries this variable, daemons that D-Bus activates included
# (they inherit the bus daemon's environment): teardown ends whatever still has it.
export KEYWARD_SESSION_DIR=$scratch
teardown() {
  local status=$?
  trap - EXIT INT TERM
  # Not in the environment of the grep below, which would otherwise find itself.
  unset KEYWARD_SESSION_DIR
  session_pids() { grep -lzx "KEYWARD_SESSION_DIR=$scratch" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
  local pids attempt
  pids=$(session_pids)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null
    # Up to 2 s to end, then KILL.
    for attempt in $(seq 1 40); do
      sleep 0.05
      pids=$(session_pids)
      [ -n "$pids" ] || break
    done
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
  fi
  if [ "${KEYWARD_SESSION_KEEP:-0}" = 1 ]; then echo "session.sh: kept $scratch" >&2; else rm -rf "$scratch"; fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Tools keep finding their own homes after HOME moves.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export HOME=$scratch/home XDG_RUNTIME_DIR=$scratch/run XDG_CONFIG_HOME=$scratch/home/.config \
  XDG_DATA_HOME=$scratch/home/.local/share XDG_CACHE_HOME=$scratch/home/.cache
# Nothing may reach the caller's desktop session; no accessibility bus outside the session either.
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK DISPLAY WAYLAND_DISPLAY XDG_STATE_HOME
export NO_AT_BRIDGE=1

# Polls `check` every 50 ms for up to 10 s; fails with `what` and the log.
wait_for() {
  local what=$1 log=$2; shift 2
  for _ in $(seq 1 200); do "$@" && return 0; sleep 0.05; done
  echo "session.sh: $what did not start; its log:" >&2; cat "$log" >&2; exit 1
}

if [ $x11 = yes ]; then
  # -displayfd: Xvfb picks a free display and writes its number once it accepts connections.
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$scratch/display" >"$scratch/xvfb.log" 2>&1 &
  wait_for Xvfb "$scratch/xvfb.log" test -s "$scratch/display"
  export DISPLAY=":$(cat "$scratch/display")"
fi

dbus-daemon "${bus_config[@]}" --nofork --nopidfile --print-address=3 3>"$scratch/bus" >"$scratch/dbus.log" 2>&1 &
wait_for dbus-daemon "$scratch/dbus.log" test -s "$scratch/bus"
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$scratch/bus")

has_secret_service() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true
}
if [ $keyring = yes ]; then
  # In the foreground, as our child, so a daemon that dies is noticed and its log shown.
  printf %s "$password" | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$scratch/keyring.log" 2>&1 &
  keyring_pid=$!
  wait_for gnome-keyring "$scratch/keyring.log" has_secret_service
fi

if [ $x11 = yes ]; then
  dunst >"$scratch/dunst.log" 2>&1 &
fi

"$@"
status=$?
if [ $keyring = yes ] && ! kill -0 "$keyring_pid" 2>/dev/null; then
  wait "$keyring_pid"
  echo "session.sh: gnome-keyring-daemon exited (status $?) while $1 ran; its log:" >&2
  cat "$scratch/keyring.log" >&2
  # EX_TEMPFAIL: the runner may start a fresh session once (xtask's rust-tests does).
  status=75
fi
exit $status
