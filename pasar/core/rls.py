"""Row-level security: the second wall between companies.

After every `migrate`, each table of a `TenantModel` (or a model with `rls_protected = True`)
gets RLS enabled and forced, and these policies:

- `tenant_isolation` (every command): a row is visible and writable only when its company_id
  is the transaction's proven company, or while platform access is proven.
- `tenant_extra_read` (SELECT only), for models that widen what is readable with
  `rls_extra_read_condition` (a user sees their own memberships in every company). Writes
  never get the extra condition: a company's context changes only that company's rows.
- `owner_maintenance`: the tables' owner (migrations, data fixes) sees every row. The app
  never logs in as the owner.

Nothing the app role can set by itself widens what it sees. The transaction's context (company,
user, platform access) is entered with `pasar_enter(...)`, a SECURITY DEFINER function that
accepts it only with a keyed hash over the context, this backend's pid and the time it was
issued, made with a key that only the tables' owner can read in the database
(`pasar_private.platform_key`, written here from settings.PASAR_PLATFORM_DB_KEY). It stores a
proof bound to this backend's current transaction; `pasar_current_company()`,
`pasar_current_user()` and `pasar_platform_access_active()`, which the policies call, return the
context only while that proof matches. The plain settings `pasar.company_id` and `pasar.user_id`
are kept for logs and reading only: setting them, or replaying a proof or a request seen
elsewhere, opens nothing (a request is bound to its backend, a proof to its transaction). SQL
injection through the app role therefore cannot lower the wall.

The app connects as PASAR_DB_APP_ROLE, which owns nothing, so the policies always apply.
"""

import hashlib
import time
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models import Model

# Scalar subqueries, so PostgreSQL evaluates each once per statement (an InitPlan), not per row.
CURRENT_COMPANY = "(SELECT pasar_current_company())"
CURRENT_USER = "(SELECT pasar_current_user())"
PLATFORM_ACCESS = "(SELECT pasar_platform_access_active())"
COMPANY_MATCH = f"company_id = {CURRENT_COMPANY}"
PROOF_SETTING = "pasar.context_proof"
# How far the app's clock and the database's may disagree about when a context was issued.
ENTER_WINDOW_SECONDS = 300

# The keyed hash puts the key on both sides of the message (no length extension) and every
# field is a typed number or boolean, so one message cannot pass for another.
_CONTEXT_FIELDS = """
    coalesce(ctx_company::text, '') || ':' || coalesce(ctx_user::text, '') || ':'
    || ctx_platform::text
"""
_TRANSACTION_PROOF = f"""
    encode(sha256(convert_to(
        k.key || ':context:' || pg_backend_pid()::text || ':'
        || (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint::text || ':'
        || {_CONTEXT_FIELDS} || ':' || k.key,
        'UTF8')), 'hex')
"""


def _proven(result: str) -> str:
    """Body of a context reader: `result` when the transaction's proof matches, else NULL."""
    # Built from this module's constants only, never from input.
    return f"""
DECLARE
    proof text := current_setting('{PROOF_SETTING}', true);
    ctx_company bigint := NULLIF(current_setting('pasar.company_id', true), '')::bigint;
    ctx_user bigint := NULLIF(current_setting('pasar.user_id', true), '')::bigint;
    ctx_platform boolean := coalesce(current_setting('pasar.platform', true), '') = 'true';
BEGIN
    IF proof IS NULL OR proof = '' THEN
        RETURN NULL;
    END IF;
    IF proof = (SELECT {_TRANSACTION_PROOF} FROM pasar_private.platform_key k) THEN
        RETURN {result};
    END IF;
    RETURN NULL;
END
"""  # noqa: S608


def _reader(name: str, returns: str, result: str) -> str:
    # PARALLEL RESTRICTED: the proof names the backend's pid, so only the leader may check it.
    # The policies call the readers in an init plan, which the leader evaluates and hands to
    # parallel workers: a big scan (a GST return over a quarter) may still run in parallel.
    return f"""
CREATE OR REPLACE FUNCTION public.{name}() RETURNS {returns}
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $fn$ {_proven(result)} $fn$;
"""


# Built from the constants above only, never from input.
_CONTEXT_FUNCTIONS = (
    f"""
CREATE SCHEMA IF NOT EXISTS pasar_private;
REVOKE ALL ON SCHEMA pasar_private FROM PUBLIC;
CREATE TABLE IF NOT EXISTS pasar_private.platform_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key text NOT NULL
);
REVOKE ALL ON pasar_private.platform_key FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.pasar_enter(
    ctx_company bigint, ctx_user bigint, ctx_platform boolean, issued_at_ms bigint, signature text
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k pasar_private.platform_key;
BEGIN
    SELECT * INTO k FROM pasar_private.platform_key;
    IF NOT FOUND OR signature IS DISTINCT FROM encode(sha256(convert_to(
            k.key || ':enter:' || pg_backend_pid()::text || ':' || issued_at_ms::text || ':'
            || {_CONTEXT_FIELDS} || ':' || k.key,
            'UTF8')), 'hex') THEN
        RAISE EXCEPTION 'pasar_enter: the context signature is not valid'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Was migrate run after PASAR_PLATFORM_DB_KEY or SECRET_KEY changed?';
    END IF;
    IF abs(extract(epoch FROM clock_timestamp()) * 1000 - issued_at_ms)
            > {ENTER_WINDOW_SECONDS * 1000} THEN
        RAISE EXCEPTION 'pasar_enter: the context was issued too long ago'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The app server''s clock and the database server''s clock disagree.';
    END IF;
    PERFORM set_config('pasar.company_id', coalesce(ctx_company::text, ''), true),
            set_config('pasar.user_id', coalesce(ctx_user::text, ''), true),
            set_config('pasar.platform', ctx_platform::text, true),
            set_config('{PROOF_SETTING}', {_TRANSACTION_PROOF}, true);
END
$fn$;
"""  # noqa: S608
    + _reader("pasar_current_company", "bigint", "ctx_company")
    + _reader("pasar_current_user", "bigint", "ctx_user")
    + _reader("pasar_platform_access_active", "boolean", "ctx_platform")
)


def enter_statement(
    *,
    company_id: int | None,
    user_id: int | None,
    platform: bool,
    backend_pid: int,
    key: str | None = None,
    issued_at_ms: int | None = None,
) -> tuple[str, list[Any]]:
    """The statement that makes the open transaction act for this context.

    `backend_pid` is the connection's server process (psycopg: `connection.info.backend_pid`),
    known without a round trip; the request is valid on that backend only.
    """
    key = settings.PASAR_PLATFORM_DB_KEY if key is None else key
    issued_at_ms = int(time.time() * 1000) if issued_at_ms is None else issued_at_ms
    fields = f"{'' if company_id is None else company_id}:{'' if user_id is None else user_id}"
    message = f"{key}:enter:{backend_pid}:{issued_at_ms}:{fields}:{str(platform).lower()}:{key}"
    signature = hashlib.sha256(message.encode()).hexdigest()
    return (
        "SELECT pasar_enter(%s, %s, %s, %s, %s)",
        [company_id, user_id, platform, issued_at_ms, signature],
    )


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
    return extra.format(current_user_id=CURRENT_USER) if extra else None


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
        cursor.execute(_CONTEXT_FUNCTIONS)
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
