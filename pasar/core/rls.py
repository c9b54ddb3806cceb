"""Row-level security: the second wall between companies.

After every `migrate`, each table of a `TenantModel` (or a model with
`rls_protected = True`) gets RLS enabled and forced, and one
policy: a row is visible and writable only when its company_id equals the transaction's
`pasar.company_id`, or when an audited platform bypass is active. Models may widen what
is readable with `rls_extra_read_condition` (memberships are also visible to their own user).
The app connects as PASAR_DB_APP_ROLE, which owns nothing, so the policies always apply.
"""

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models import Model

COMPANY_MATCH = "company_id = NULLIF(current_setting('pasar.company_id', true), '')::bigint"
BYPASS = "current_setting('pasar.rls_bypass', true) = 'on'"
USER_MATCH = "NULLIF(current_setting('pasar.user_id', true), '')::bigint"


def tenant_models() -> list[type[Model]]:
    return [
        model
        for model in apps.get_models()
        if getattr(model, "rls_protected", False) and not model._meta.proxy
    ]


def read_condition(model: type[Model]) -> str:
    condition = write_condition()
    extra = getattr(model, "rls_extra_read_condition", None)
    if extra:
        condition += f" OR ({extra.format(current_user_id=USER_MATCH)})"
    return condition


def write_condition() -> str:
    return f"({COMPANY_MATCH}) OR ({BYPASS})"


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


def apply_row_level_security(using: str = "default", **_: Any) -> None:
    """post_migrate handler; idempotent, so it runs after every migrate."""
    role = settings.PASAR_DB_APP_ROLE
    with connections[using].cursor() as cursor:
        if role:
            grant_app_role(cursor, role)
        for model in tenant_models():
            table = model._meta.db_table
            cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            cursor.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            cursor.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
            cursor.execute(
                f'CREATE POLICY tenant_isolation ON "{table}" '
                f"USING ({read_condition(model)}) WITH CHECK ({write_condition()})"
            )
            for privilege in getattr(model, "rls_revoked_privileges", ()):
                cursor.execute(f'REVOKE {privilege} ON "{table}" FROM "{role}"')
