#!/usr/bin/env bash
# Installs the system tools the test suites drive for real (socat makes serial PTY pairs;
# mosquitto is started by the MQTT fault tests; Debian's chromium runs the browser tests;
# libfaketime jumps the gateway's clock in the fault suite).
# Runs before `npm test`; does nothing when they are already there.
set -euo pipefail
missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
# The MQTT fault tests start a Mosquitto of their own to restart it mid-stream.
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
# The browser tests drive Debian's Chromium through playwright-core.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The fault suite (npm run test:faults) jumps the gateway's clock with libfaketime.
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || missing+=(faketime)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "the tests need: ${missing[*]} (install them, e.g. sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing test tools: ${missing[*]}" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
