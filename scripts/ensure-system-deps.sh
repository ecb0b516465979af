#!/usr/bin/env bash
# Run by the tests' globalSetup (test/setup/system-deps.ts): the test suite
# runs real servers and a real browser (headless Chromium, PostgreSQL, Redis).
# On a fresh Debian machine this installs the missing Debian packages when run
# as root (or with password-less sudo), and otherwise stops with the one
# command to run. When everything is present it only checks paths: no apt call.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)

[ ${#missing[@]} -eq 0 ] && exit 0

# As root, apt-get directly; otherwise through sudo when it needs no password
# (a CI runner or a developer machine set up that way).
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(unavailable)
  fi
fi

if [ "${as_root[*]}" = unavailable ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "troupe tests need these system packages: ${missing[*]}" >&2
  echo "Install them, then run npm test again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "Installing system packages for the tests: ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium did not install" >&2; exit 1; }
