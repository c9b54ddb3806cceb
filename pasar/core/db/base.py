from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.postgresql import base as postgresql

_owner_mode_depth = 0


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def init_connection_state(self) -> None:
        super().init_connection_state()
        # The maintenance connection (NAME is None: CREATE/DROP DATABASE) stays the owner.
        if self.settings_dict["NAME"] is None or _owner_mode_depth:
            return
        set_app_role(self)


def set_app_role(connection: Any) -> None:
    role = settings.PASAR_DB_APP_ROLE
    if not role:
        return
    raw = connection.connection
    with raw.cursor() as cursor:
        # On a fresh database the role appears with the first migrate; create it on first use
        # so every command, migrate included, already runs under the same rules.
        cursor.execute(
            f"""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                    CREATE ROLE "{role}" NOLOGIN;
                END IF;
                IF NOT pg_has_role(CURRENT_USER, '{role}', 'MEMBER') THEN
                    EXECUTE format('GRANT %I TO %I', '{role}', CURRENT_USER);
                END IF;
            END
            $$;
            SET ROLE "{role}";
            """
        )
    if not connection.get_autocommit():
        raw.commit()


@contextmanager
def owner_mode(alias: str = "default") -> Iterator[None]:
    """Run schema work as the owner role, then hand the connection back to the app role."""
    global _owner_mode_depth  # noqa: PLW0603 - process-wide switch for management commands
    connection = connections[alias]
    _owner_mode_depth += 1
    try:
        if connection.connection is not None:
            with connection.connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
        yield
    finally:
        _owner_mode_depth -= 1
        if not _owner_mode_depth and connection.connection is not None:
            set_app_role(connection)
