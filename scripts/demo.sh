#!/usr/bin/env bash
# Starts the demo: database, migrations, demo data, then gunicorn as production runs it
# (pasar/gunicorn_conf.py: 2 workers x 4 threads, so at most 8 database connections).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -n "${DATABASE_URL:-}" ] && PASAR_DEMO_DATABASE_GIVEN=1
DATABASE_URL=$(.venv/bin/python scripts/dev_database.py)
export DATABASE_URL
export PASAR_ENV=${PASAR_ENV:-development}
# Off as in production: real error pages, static files collected and served by WhiteNoise.
export DEBUG=${DEBUG:-false}
port=${PORT:-8000}
export PORT=$port

.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py collectstatic --no-input -v 0
.venv/bin/python manage.py seed_demo

cat <<MSG

  Pasar is running at http://127.0.0.1:${port}/
    Back office    http://127.0.0.1:${port}/office/
    Sign up        http://127.0.0.1:${port}/signup/
    API docs       http://127.0.0.1:${port}/api/docs/
    Health         http://127.0.0.1:${port}/healthz
    Admin          http://127.0.0.1:${port}/admin/   (platform@pasar.example)

  Emails (invitations, password resets, email confirmations) are printed here, in this terminal.

  Demo logins (password: pasar-demo)
    Kopi Kakis Pte. Ltd.  owner@ admin@ finance@ warehouse@ sales@ kopikakis.example
    Lion Brew Pte. Ltd.   owner@lionbrew.example

MSG
# On Ctrl-C gunicorn stops; the embedded PostgreSQL is left running for the next `make demo`.
if [ -z "${PASAR_DEMO_DATABASE_GIVEN:-}" ]; then
  trap 'echo; echo "  The embedded PostgreSQL keeps running (var/pg). Stop it with: make stop-db"' EXIT
fi
# Ctrl-C is how the demo is stopped: a normal end, not an error for make to report.
trap 'exit 0' INT
.venv/bin/gunicorn -c python:pasar.gunicorn_conf
