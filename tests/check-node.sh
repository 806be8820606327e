#!/usr/bin/env bash
# Checks that Node.js is new enough to build the UI (ui/package.json "engines": >=20.19; Vite 7 and
# its plugins need it) and says exactly what to install when it is not. tests/setup.sh runs it first,
# before any apt or npm step, so `cargo xtask setup|app|test` stop here with the fix instead of
# failing later in `npm ci` or the UI build. Debian 12 and Ubuntu 24.04 ship Node 18 in apt.
# Exit 0: new enough; 1: too old or missing (the message is on stderr).
set -euo pipefail
required_major=20
required_minor=19

os_name=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)

advice() {
  cat >&2 <<ADVICE

Install Node.js 20.19 or newer (22 LTS is fine), then run the command again:

  Debian 12 (bookworm), Ubuntu 22.04 / 24.04 — apt's nodejs is 18 — use NodeSource's Node 22:
    curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash -
    sudo apt-get install -y nodejs          # brings npm too

  Debian 13 (trixie) and newer — apt's nodejs is 20.19:
    sudo apt-get install -y nodejs npm

  Or, without root, nvm (https://github.com/nvm-sh/nvm):
    curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.40.3/install.sh | bash
    . ~/.nvm/nvm.sh && nvm install 22

  (If an older node from apt is installed too, make sure the new one comes first on PATH:
  \`node --version\` must print v20.19 or later.)
ADVICE
}

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js is not installed: the UI's build needs Node.js ${required_major}.${required_minor}+ with npm${os_name:+ (this is $os_name)}." >&2
  advice
  exit 1
fi
version=$(node --version 2>/dev/null || true)
if [[ ! $version =~ ^v([0-9]+)\.([0-9]+)\. ]]; then
  echo "\`node --version\` printed '${version}', not a version: the UI's build needs Node.js ${required_major}.${required_minor}+." >&2
  advice
  exit 1
fi
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
if (( major < required_major || (major == required_major && minor < required_minor) )); then
  echo "Node.js $version is too old: the UI's build needs Node.js ${required_major}.${required_minor} or newer (ui/package.json engines)${os_name:+; this is $os_name}." >&2
  advice
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Node.js $version is here but npm is not: install npm (Debian/Ubuntu: sudo apt-get install -y npm, or NodeSource's nodejs, which includes it)." >&2
  exit 1
fi
echo "Node.js $version (the UI needs ${required_major}.${required_minor}+)"
