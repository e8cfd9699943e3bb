#!/usr/bin/env bash
# Installs Debian's chromium when it is missing (the HTML status page is tested in it) and
# prints its path. Used by .ci/run and by the browser tests' setup (test/support/chromium.ts).
set -euo pipefail

bin=/usr/bin/chromium
if [ ! -x "$bin" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is not installed and installing it needs root: apt-get install -y chromium" >&2
    exit 1
  fi
  echo "installing Debian's chromium (browser tests of the status page)" >&2
  apt-get update > /dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium > /dev/null
fi
echo "$bin"
