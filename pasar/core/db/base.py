from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.db.backends.postgresql import base as postgresql

_owner_mode_depth = 0


class DatabaseWrapper(postgresql.DatabaseWrapper):
    """Logs in as PASAR_DB_APP_ROLE instead of the DATABASE_URL user (the tables' owner).

    The maintenance connection (NAME is None: CREATE/DROP DATABASE) and `owner_mode()` keep the
    owner. The app role is created on first use, so a fresh database needs no manual step.
    """

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self._connects_as_app():
            params["user"] = settings.PASAR_DB_APP_ROLE
            params["password"] = settings.PASAR_DB_APP_PASSWORD or params.get("password", "")
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        try:
            return super().get_new_connection(conn_params)
        except psycopg.OperationalError as error:
            if not self._connects_as_app() or "does not exist" not in str(error):
                raise
        ensure_app_role(self.settings_dict)
        return super().get_new_connection(conn_params)

    def _connects_as_app(self) -> bool:
        return bool(
            settings.PASAR_DB_APP_ROLE
            and self.settings_dict["NAME"] is not None
            and not _owner_mode_depth
        )


def ensure_app_role(settings_dict: dict[str, Any]) -> None:
    """Create the login role the app uses, as the owner. Grants follow after each migrate."""
    role = settings.PASAR_DB_APP_ROLE
    owner = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        autocommit=True,
    )
    with owner:
        exists = owner.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        if not exists:
            owner.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN").format(psycopg.sql.Identifier(role))
            )


@contextmanager
def owner_mode(alias: str = "default") -> Iterator[None]:
    """Run schema work (migrate, flush) connected as the owner, then reconnect as the app."""
    global _owner_mode_depth
    connection = connections[alias]
    if connection.in_atomic_block:
        raise RuntimeError("owner_mode() cannot start inside a transaction.")
    if not _owner_mode_depth:
        connection.close()
    _owner_mode_depth += 1
    try:
        yield
    finally:
        _owner_mode_depth -= 1
        if not _owner_mode_depth:
            connection.close()
