#!/usr/bin/env sh
# Copies the front-end packages locked in package-lock.json into pasar/static/vendor/.
# The copies are committed, so `make demo` and `make test` need no Node.js; run this (with
# npm) only after changing package.json, then commit the new files.
set -eu
cd "$(dirname "$0")/.."

npm ci --ignore-scripts --no-audit --no-fund
mkdir -p pasar/static/vendor
cp node_modules/htmx.org/dist/htmx.min.js pasar/static/vendor/htmx.min.js
cp node_modules/htmx.org/LICENSE pasar/static/vendor/htmx.LICENSE
echo "htmx $(node -p 'require("./node_modules/htmx.org/package.json").version') copied to pasar/static/vendor/"
