#!/usr/bin/env bash
# Debian packages the project needs: Chromium for the browser tests, poppler-utils
# for reading PDFs, wrk for `make bench`. Installed here so that nothing is installed
# by hand. `system-deps.sh bench` installs only what `make bench` needs (wrk).
set -euo pipefail
need=()
if [ "${1:-all}" != bench ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fi
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif [ "${1:-all}" = bench ]; then
  echo "error: cannot install wrk (Debian package); make bench needs it" >&2
  exit 1
else
  echo "warning: cannot install ${need[*]}; browser tests will be skipped (they fail under CI=true)" >&2
fi
