"""Row-level security: the second wall between companies.

After every `migrate`, each table of a `TenantModel` (or a model with `rls_protected = True`)
gets RLS enabled and forced, and these policies:

- `tenant_isolation` (every command): a row is visible and writable only when its company_id
  equals the transaction's `pasar.company_id`, or while platform access is active.
- `tenant_extra_read` (SELECT only), for models that widen what is readable with
  `rls_extra_read_condition` (a user sees their own memberships in every company). Writes
  never get the extra condition: a company's context changes only that company's rows.
- `owner_maintenance`: the tables' owner (migrations, data fixes) sees every row. The app
  never logs in as the owner.

Platform access (`pasar.core.tenant.platform_access` / `system_access`) is not a setting the
app role can switch on. The policies ask `pasar_platform_access_active()`, a SECURITY DEFINER
function that is true only when `pasar.platform_proof` holds sha256(key:pid:xact-start) for
this backend and this transaction, keyed by a platform key that only the owner can read
(`pasar_private.platform_key`, written here from settings.PASAR_PLATFORM_DB_KEY). A proof
seen in a log or in pg_stat_activity opens nothing elsewhere: it is bound to one backend's
one transaction. SQL injection through the app role therefore cannot lower the wall.

The app connects as PASAR_DB_APP_ROLE, which owns nothing, so the policies always apply.
"""

import hashlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models import Model

COMPANY_MATCH = "company_id = NULLIF(current_setting('pasar.company_id', true), '')::bigint"
# A scalar subquery so PostgreSQL evaluates it once per statement (an InitPlan), not per row.
PLATFORM_ACCESS = "(SELECT pasar_platform_access_active())"
USER_MATCH = "NULLIF(current_setting('pasar.user_id', true), '')::bigint"
PROOF_SETTING = "pasar.platform_proof"

# Built from the constants above only, never from input.
_PLATFORM_FUNCTIONS = f"""
CREATE SCHEMA IF NOT EXISTS pasar_private;
REVOKE ALL ON SCHEMA pasar_private FROM PUBLIC;
CREATE TABLE IF NOT EXISTS pasar_private.platform_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key text NOT NULL
);
REVOKE ALL ON pasar_private.platform_key FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.pasar_platform_access_active() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    proof text := current_setting('{PROOF_SETTING}', true);
BEGIN
    IF proof IS NULL OR proof = '' THEN
        RETURN false;
    END IF;
    RETURN proof = (
        SELECT encode(sha256(convert_to(
            k.key || ':' || pg_backend_pid()::text || ':'
            || (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint::text,
            'UTF8')), 'hex')
        FROM pasar_private.platform_key k
    );
END
$fn$;
"""  # noqa: S608


def tenant_models() -> list[type[Model]]:
    return [
        model
        for model in apps.get_models()
        if getattr(model, "rls_protected", False) and not model._meta.proxy
    ]


def platform_tables() -> list[str]:
    """Tables that name companies but belong to the platform (which companies have a feature):
    every role may read them, only platform access writes them."""
    tables: list[str] = []
    for model in apps.get_models():
        for field_name in getattr(model, "rls_platform_written_relations", ()):
            through = model._meta.get_field(field_name).remote_field.through  # type: ignore[union-attr]
            tables.append(through._meta.db_table)
    return tables


def write_condition() -> str:
    return f"({COMPANY_MATCH}) OR {PLATFORM_ACCESS}"


def extra_read_condition(model: type[Model]) -> str | None:
    extra = getattr(model, "rls_extra_read_condition", None)
    return extra.format(current_user_id=USER_MATCH) if extra else None


def platform_proof(*, key: str, backend_pid: int, transaction_start_us: int) -> str:
    """What `pasar_platform_access_active()` expects in `pasar.platform_proof`."""
    message = f"{key}:{backend_pid}:{transaction_start_us}"
    return hashlib.sha256(message.encode()).hexdigest()


def grant_app_role(cursor: Any, role: str) -> None:
    cursor.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE "{role}" LOGIN;
            END IF;
        END
        $$;
        """
    )
    cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    cursor.execute(
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'
    )
    cursor.execute(f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')


def restrict_functions(cursor: Any, role: str) -> None:
    """The project's own functions in `public` run for the app role alone, never PUBLIC.

    Functions that extensions install are theirs to manage and are left as they are.
    """
    cursor.execute(
        """
        SELECT p.oid::regprocedure::text
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
          AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
          AND NOT EXISTS (
              SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          )
        """
    )
    for (signature,) in cursor.fetchall():
        cursor.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        if role:
            cursor.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')
    cursor.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"
    )


def _policy(cursor: Any, table: str, name: str, clause: str) -> None:
    cursor.execute(f'DROP POLICY IF EXISTS {name} ON "{table}"')
    cursor.execute(f'CREATE POLICY {name} ON "{table}" {clause}')


def _walled(cursor: Any, table: str, *, maintenance_owner: str | None) -> None:
    """RLS on and forced for the table, and the owner's maintenance policy when it has one."""
    cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    cursor.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    if maintenance_owner:
        _policy(
            cursor,
            table,
            "owner_maintenance",
            f'TO "{maintenance_owner}" USING (true) WITH CHECK (true)',
        )


def apply_row_level_security(using: str = "default", **_: Any) -> None:
    """post_migrate handler; idempotent, so it runs after every migrate."""
    role = settings.PASAR_DB_APP_ROLE
    with connections[using].cursor() as cursor:
        cursor.execute(_PLATFORM_FUNCTIONS)
        cursor.execute(
            "INSERT INTO pasar_private.platform_key (key) VALUES (%s)"
            " ON CONFLICT (singleton) DO UPDATE SET key = EXCLUDED.key",
            [settings.PASAR_PLATFORM_DB_KEY],
        )
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        if role:
            grant_app_role(cursor, role)
        restrict_functions(cursor, role)
        # With no separate app role the owner is the app: it must not see past the wall.
        maintenance_owner = owner if role and owner != role else None
        for model in tenant_models():
            table = model._meta.db_table
            _walled(cursor, table, maintenance_owner=maintenance_owner)
            _policy(
                cursor,
                table,
                "tenant_isolation",
                f"USING ({write_condition()}) WITH CHECK ({write_condition()})",
            )
            extra = extra_read_condition(model)
            if extra:
                _policy(cursor, table, "tenant_extra_read", f"FOR SELECT USING ({extra})")
            else:
                cursor.execute(f'DROP POLICY IF EXISTS tenant_extra_read ON "{table}"')
            for privilege in getattr(model, "rls_revoked_privileges", ()):
                cursor.execute(f'REVOKE {privilege} ON "{table}" FROM "{role}"')
        for table in platform_tables():
            _walled(cursor, table, maintenance_owner=maintenance_owner)
            _policy(cursor, table, "platform_read", "FOR SELECT USING (true)")
            _policy(
                cursor,
                table,
                "platform_write",
                f"USING ({PLATFORM_ACCESS}) WITH CHECK ({PLATFORM_ACCESS})",
            )
