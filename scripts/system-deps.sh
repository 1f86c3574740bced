#!/usr/bin/env bash
# Debian packages the project needs: Pango and HarfBuzz's subset library for WeasyPrint's PDF
# reports (without libharfbuzz-subset0 a Chinese report takes 17 times as long), Chromium for
# the browser tests, poppler-utils for reading PDFs, wrk for `make bench`. Installed here so
# that nothing is installed by hand. `system-deps.sh bench` installs only what `make bench`
# needs (wrk and the report libraries), `system-deps.sh run` only the report libraries.
set -euo pipefail
need=()
has_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
has_lib libharfbuzz-subset.so.0 || need+=(libharfbuzz-subset0)
has_lib libpangoft2-1.0.so.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ "${1:-all}" = all ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fi
if [ "${1:-all}" != run ]; then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
elif [ "${1:-all}" = bench ]; then
  echo "error: cannot install ${need[*]} (Debian packages); make bench needs them" >&2
  exit 1
else
  echo "warning: cannot install ${need[*]}; browser tests will be skipped (they fail under CI=true) and PDF reports may be slow or fail" >&2
fi
