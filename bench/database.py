"""A fresh database for the benchmark, beside the one DATABASE_URL names, on the same server.

`python -m bench.database` prints its URL after dropping and recreating it, so every run starts
from the same empty state and never touches the demo's data.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SUFFIX = "_bench"


def bench_database_url(database_url: str) -> tuple[str, str]:
    """(URL of the benchmark database, its name): the same server and login, `<name>_bench`."""
    parts = urlsplit(database_url)
    bench_name = (parts.path.lstrip("/") or "pasar") + SUFFIX
    return urlunsplit(parts._replace(path="/" + bench_name)), bench_name


def recreate(database_url: str) -> str:
    url, name = bench_database_url(database_url)
    # CREATE/DROP DATABASE cannot run inside a transaction; connect to the caller's database.
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def main() -> int:
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("DATABASE_URL is not set.", file=sys.stderr)
        return 1
    try:
        print(recreate(database_url))
    except psycopg.Error as error:
        print(
            f"Could not create the benchmark database: {error}\n"
            "The login in DATABASE_URL needs the CREATEDB privilege.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
