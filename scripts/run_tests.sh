#!/usr/bin/env bash
# Runs every test against DATABASE_URL, or the embedded PostgreSQL when it is unset.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=$(.venv/bin/python scripts/dev_database.py)
export DATABASE_URL
export PASAR_ENV=test
exec .venv/bin/pytest "$@"
