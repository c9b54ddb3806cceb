#!/usr/bin/env bash
# Starts the demo: database, migrations, demo data, then the development server.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=$(.venv/bin/python scripts/dev_database.py)
export DATABASE_URL
export PASAR_ENV=${PASAR_ENV:-development}
port=${PORT:-8000}

.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py seed_demo

cat <<MSG

  Pasar is running at http://127.0.0.1:${port}/
    Back office    http://127.0.0.1:${port}/office/
    Sign up        http://127.0.0.1:${port}/signup/
    API docs       http://127.0.0.1:${port}/api/docs/
    Health         http://127.0.0.1:${port}/healthz
    Admin          http://127.0.0.1:${port}/admin/   (platform@pasar.example)

  Demo logins (password: pasar-demo)
    Kopi Kakis Pte. Ltd.  owner@ admin@ finance@ warehouse@ sales@ kopikakis.example
    Lion Brew Pte. Ltd.   owner@lionbrew.example

MSG
exec .venv/bin/python manage.py runserver "127.0.0.1:${port}"
