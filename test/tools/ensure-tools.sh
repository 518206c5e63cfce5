#!/usr/bin/env bash
# Installs the system tools the test suites drive for real (socat makes serial PTY pairs).
# Runs before `npm test`; does nothing when they are already there.
set -euo pipefail
missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "the tests need: ${missing[*]} (install them, e.g. sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing test tools: ${missing[*]}" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
