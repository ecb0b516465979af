#!/usr/bin/env bash
# Run by `npm test` (its pretest hook), by the tests' globalSetup
# (test/setup/system-deps.ts) and, for Chromium
# alone, by test/inspector/browser.ts when it finds no browser: the test suite
# runs real servers and a real browser (headless Chromium, PostgreSQL, Redis).
# On a fresh Debian machine this installs the missing Debian packages when run
# as root (or with password-less sudo). Without either, it unpacks Debian's
# Chromium under node_modules/.cache (see unpack_chromium) and stops with the
# one command to run for what else is missing. When everything is present it
# only checks paths: no apt call.
set -euo pipefail

# Without root, Chromium still comes from Debian: its packages (and the
# libraries this machine lacks) are fetched with apt-get download and unpacked
# here, where test/inspector/browser.ts looks for it after /usr/bin/chromium.
LOCAL_CHROMIUM="$(cd "$(dirname "$0")/.." && pwd)/node_modules/.cache/troupe-chromium"

# The packages to ensure: the arguments (chromium, postgresql, redis-server),
# or all three. test/inspector/browser.ts asks for chromium alone when a
# browser is launched outside the test run (benchmarks, the screenshot script).
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(chromium postgresql redis-server)
wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

missing=()
wants chromium && { [ -x /usr/bin/chromium ] || [ -x "$LOCAL_CHROMIUM/tree/usr/lib/chromium/chromium" ] || missing+=(chromium); }
wants postgresql && { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql); }
wants redis-server && { command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server); }

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

# Unpacks Debian's chromium, and the packages it needs that this machine
# lacks, into $LOCAL_CHROMIUM with a private apt state: no root needed.
unpack_chromium() {
  local apt=(apt-get -o "Dir::State::Lists=$LOCAL_CHROMIUM/apt/lists"
    -o "Dir::Cache=$LOCAL_CHROMIUM/apt/cache" -o Debug::NoLocking=1
    -o "APT::Sandbox::User=$(id -un)")
  rm -rf "$LOCAL_CHROMIUM"
  mkdir -p "$LOCAL_CHROMIUM/apt/lists/partial" "$LOCAL_CHROMIUM/apt/cache/archives/partial" \
    "$LOCAL_CHROMIUM/debs" "$LOCAL_CHROMIUM/tree"
  echo "Fetching Debian's chromium into $LOCAL_CHROMIUM (no root here)" >&2
  "${apt[@]}" -qq update
  local packages
  mapfile -t packages < <("${apt[@]}" -s install chromium | awk '/^Inst /{print $2}')
  [ ${#packages[@]} -gt 0 ] || { echo "apt-get found no chromium package to fetch" >&2; exit 1; }
  (cd "$LOCAL_CHROMIUM/debs" && "${apt[@]}" -qq download "${packages[@]}")
  for deb in "$LOCAL_CHROMIUM"/debs/*.deb; do dpkg-deb -x "$deb" "$LOCAL_CHROMIUM/tree"; done
  rm -rf "$LOCAL_CHROMIUM/debs" "$LOCAL_CHROMIUM/apt"
  [ -x "$LOCAL_CHROMIUM/tree/usr/lib/chromium/chromium" ] || { echo "chromium did not unpack" >&2; exit 1; }
}

if [ "${as_root[*]}" = unavailable ] && command -v apt-get >/dev/null 2>&1 \
  && [[ " ${missing[*]} " == *" chromium "* ]]; then
  unpack_chromium
  missing=("${missing[@]/chromium}")
  read -r -a missing <<<"${missing[*]}"
  [ ${#missing[@]} -eq 0 ] && exit 0
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
if wants chromium; then [ -x /usr/bin/chromium ] || { echo "chromium did not install" >&2; exit 1; }; fi
