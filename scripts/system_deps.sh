#!/usr/bin/env bash
# Checks the Debian packages a task needs; installs the missing ones when run as root.
#   scripts/system_deps.sh test   -> what `make test` needs (Chromium for the browser tests, zbar to read QR codes back, and the demo's)
#   scripts/system_deps.sh demo   -> what `make demo` needs (Pango, HarfBuzz and fonts: WeasyPrint's PDFs)
#   scripts/system_deps.sh bench  -> what `make bench` needs (pgbench, PostgreSQL's own load generator, for the ceiling)
set -euo pipefail

# WeasyPrint renders invoices and reports with Pango and HarfBuzz, in DejaVu fonts.
pdf=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)

case "${1:-test}" in
  test) packages=(chromium libzbar0 "${pdf[@]}") ;;
  demo) packages=("${pdf[@]}") ;;
  bench) packages=(postgresql-client) ;;
  *) echo "unknown set: $1" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "These Debian packages are needed and missing: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
