"""The database wall holds against raw SQL under the app role, whatever the app role sets."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from pasar.core import rls
from pasar.core.tenant import platform_access, tenant_context, user_context
from pasar.tenancy.models import Flag, Membership, Role
from tests.catalog.helpers import product
from tests.factories import LocationFactory, MembershipFactory, UserFactory
from tests.tenancy.test_isolation import rowcount, scalar

OTHER = "<the other company's id>"
SETTINGS_TO_TRY = [
    ("pasar.company_id", OTHER),
    ("pasar.company_id", ""),
    ("pasar.user_id", OTHER),
    ("pasar.platform", "true"),
    ("pasar.rls_bypass", "on"),
    ("pasar.rls_bypass", "true"),
    ("pasar.platform_proof", "on"),
    ("pasar.context_proof", "0" * 64),
    ("pasar.platform_access", "on"),
    ("pasar.bypass", "on"),
    ("row_security", "off"),
]


def _app_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=settings.PASAR_DB_APP_ROLE,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        password=settings.PASAR_DB_APP_PASSWORD or db["PASSWORD"] or None,
    )


def _companies_seen() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT company_id FROM inventory_location")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "value"), SETTINGS_TO_TRY)
def test_app_role_cannot_widen_rls_by_any_setting(
    company, other_company, two_shops, name, value
) -> None:
    value = str(other_company.pk) if value == OTHER else value

    def attempt(sql: str, params: list) -> int | set[int] | None:
        """What the statement saw or changed; None where PostgreSQL refused it."""
        try:
            with transaction.atomic():
                scalar("SELECT set_config(%s, %s, true)", [name, value])
                seen = _companies_seen() if sql == "SELECT" else rowcount(sql, params)
                transaction.set_rollback(True)  # the setting goes with the savepoint
                return seen
        except DatabaseError:
            # row_security=off makes a query that RLS would filter fail instead.
            return None

    with tenant_context(company):
        assert attempt("SELECT", []) in ({company.pk}, set(), None)
        others = [company.pk]
        assert attempt("DELETE FROM inventory_location WHERE company_id <> %s", others) in (0, None)
        assert attempt(
            "UPDATE inventory_location SET name = 'x' WHERE company_id <> %s", others
        ) in (
            0,
            None,
        )
        assert _companies_seen() == {company.pk}


@pytest.mark.django_db
def test_app_role_sees_nothing_outside_any_context_whatever_it_sets(
    other_company, two_shops
) -> None:
    with transaction.atomic():
        for name, value in SETTINGS_TO_TRY:
            if name == "row_security":
                continue
            value = str(other_company.pk) if value == OTHER else value
            scalar("SELECT set_config(%s, %s, true)", [name, value])
        assert scalar("SELECT count(*) FROM inventory_location") == 0


@pytest.mark.django_db
def test_a_forged_user_id_shows_nobody_elses_memberships(company, other_company) -> None:
    stranger = UserFactory()
    MembershipFactory(company=other_company, user=stranger, role=Role.OWNER)
    me = UserFactory()
    MembershipFactory(company=company, user=me, role=Role.OWNER)
    with user_context(me):
        assert scalar("SELECT count(*) FROM tenancy_membership") == 1
        scalar("SELECT set_config('pasar.user_id', %s, true)", [str(stranger.pk)])
        assert (
            scalar("SELECT count(*) FROM tenancy_membership WHERE user_id = %s", [stranger.pk]) == 0
        )


@pytest.mark.django_db
def test_a_forged_company_finds_nothing_through_the_search_function(company, other_company) -> None:
    product(other_company, "Secret blend", {"sku": "SEC-1", "price": "9.00"})
    with tenant_context(company):
        scalar("SELECT set_config('pasar.company_id', %s, true)", [str(other_company.pk)])
        found = scalar(
            "SELECT count(*) FROM catalog_variant_search("
            "'secret', to_tsquery('simple', 'secret:*'), ARRAY['secret'], NULL, 10)"
        )
    assert found == 0
    with tenant_context(other_company):
        found = scalar(
            "SELECT count(*) FROM catalog_variant_search("
            "'secret', to_tsquery('simple', 'secret:*'), ARRAY['secret'], NULL, 10)"
        )
    assert found >= 1


@pytest.mark.django_db
def test_app_role_cannot_take_the_owners_role_or_read_the_platform_key(company) -> None:
    with tenant_context(company):
        for statement in (
            "SET ROLE postgres",
            f'SET ROLE "{settings.DATABASES["default"]["USER"] or "postgres"}"',
            "SELECT key FROM pasar_private.platform_key",
            "UPDATE pasar_private.platform_key SET key = 'x'",
            "ALTER TABLE inventory_location NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant_isolation ON inventory_location",
            "CREATE OR REPLACE FUNCTION public.pasar_platform_access_active() RETURNS boolean"
            " LANGUAGE sql AS 'SELECT true'",
            "CREATE OR REPLACE FUNCTION public.pasar_current_company() RETURNS bigint"
            " LANGUAGE sql AS 'SELECT 1::bigint'",
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                rowcount(statement)


def _enter(company_id, user_id=None, platform=False, **kwargs) -> None:
    scalar(
        *rls.enter_statement(
            company_id=company_id,
            user_id=user_id,
            platform=platform,
            backend_pid=connection.connection.info.backend_pid,
            **kwargs,
        )
    )


@pytest.mark.django_db
def test_entering_a_context_needs_the_key(company, other_company, two_shops) -> None:
    for forged in (
        {"key": "guessed"},
        {"issued_at_ms": int(time.time() * 1000) - (rls.ENTER_WINDOW_SECONDS + 5) * 1000},
        {"issued_at_ms": int(time.time() * 1000) + (rls.ENTER_WINDOW_SECONDS + 5) * 1000},
    ):
        with pytest.raises(DatabaseError, match="pasar_enter"), transaction.atomic():
            _enter(other_company.pk, **forged)
    with pytest.raises(DatabaseError, match="pasar_enter"), transaction.atomic():
        _enter(None, platform=True, key="guessed")
    with transaction.atomic():
        _enter(other_company.pk)
        assert _companies_seen() == {other_company.pk}


@pytest.mark.django_db(transaction=True)
def test_a_signed_context_opens_only_its_own_backend_and_transaction(
    company, other_company
) -> None:
    LocationFactory(company=company)
    LocationFactory(company=other_company)
    enter_sql, enter_params = rls.enter_statement(
        company_id=None,
        user_id=None,
        platform=True,
        backend_pid=connection.connection.info.backend_pid if connection.connection else 0,
    )
    with platform_access(reason="test: read the proof"):
        proof = scalar("SELECT current_setting('pasar.context_proof')")
        assert scalar("SELECT count(*) FROM inventory_location") == 2
    # The same backend, a later transaction: the proof opens nothing.
    with transaction.atomic():
        scalar("SELECT set_config('pasar.platform', 'true', true)")
        scalar("SELECT set_config('pasar.context_proof', %s, true)", [proof])
        assert scalar("SELECT count(*) FROM inventory_location") == 0
    # Another connection under the app role: neither the proof nor the signed request work.
    with _app_connection() as other:
        other.execute("SELECT set_config('pasar.platform', 'true', false)")
        other.execute("SELECT set_config('pasar.context_proof', %s, false)", [proof])
        assert other.execute("SELECT count(*) FROM inventory_location").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            other.execute(enter_sql, enter_params)


@pytest.mark.django_db
def test_platform_access_still_sees_every_company(company, other_company, two_shops) -> None:
    with platform_access(reason="test: cross-company read"):
        assert scalar("SELECT count(*) FROM inventory_location") == 2
    with tenant_context(company):
        assert scalar("SELECT count(*) FROM inventory_location") == 1


@pytest.mark.django_db
def test_a_company_context_cannot_turn_itself_into_platform_access(company, two_shops) -> None:
    with tenant_context(company):
        scalar("SELECT set_config('pasar.platform', 'true', true)")
        assert scalar("SELECT count(*) FROM inventory_location") == 0


# -- memberships: the extra read condition never widens writes ---------------------------------


@pytest.mark.django_db
def test_one_companys_context_cannot_delete_the_users_memberships_elsewhere(
    company, other_company
) -> None:
    user = UserFactory()
    MembershipFactory(company=company, user=user, role=Role.OWNER)
    MembershipFactory(company=other_company, user=user, role=Role.OWNER)
    with tenant_context(company, user=user):
        # The user reads both of their memberships (the company switcher needs that) ...
        assert scalar("SELECT count(*) FROM tenancy_membership WHERE user_id = %s", [user.pk]) == 2
        # ... but A's context changes none of B's rows.
        assert (
            rowcount("DELETE FROM tenancy_membership WHERE company_id = %s", [other_company.pk])
            == 0
        )
        assert (
            rowcount(
                "UPDATE tenancy_membership SET role = 'sales' WHERE company_id = %s",
                [other_company.pk],
            )
            == 0
        )
    with user_context(user):
        assert rowcount("DELETE FROM tenancy_membership WHERE user_id = %s", [user.pk]) == 0
    with platform_access(reason="test: count"):
        assert Membership.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_extra_read_conditions_are_select_only_policies() -> None:
    for model in rls.tenant_models():
        if not rls.extra_read_condition(model):
            continue
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT policyname, cmd, qual FROM pg_policies WHERE tablename = %s", [table]
            )
            policies = cursor.fetchall()
        for name, command, qual in policies:
            if "user_id" in (qual or ""):
                assert command == "SELECT", (table, name)


# -- platform tables ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_company_context_cannot_give_itself_a_feature_flag(company, other_company) -> None:
    with platform_access(reason="test: a flag for the other company"):
        flag = Flag.objects.create(name="beta-reports")
        flag.companies.add(other_company)
    table = Flag.companies.through._meta.db_table
    with tenant_context(company):
        with pytest.raises(DatabaseError), transaction.atomic():
            rowcount(
                f'INSERT INTO "{table}" (flag_id, company_id) VALUES (%s, %s)',
                [flag.pk, company.pk],
            )
        assert rowcount(f'DELETE FROM "{table}"') == 0
        assert rowcount(f'UPDATE "{table}" SET company_id = %s', [company.pk]) == 0
        # Reading which companies have a flag stays open: flags are evaluated per request.
        assert scalar(f'SELECT count(*) FROM "{table}"') == 1


@pytest.mark.django_db
def test_every_table_holding_company_ids_is_walled() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id'
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
            """
        )
        unwalled = [row[0] for row in cursor.fetchall()]
    assert unwalled == []


# -- functions ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_function_of_ours_is_executable_by_public() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.oid::regprocedure::text
            FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public'
              AND NOT EXISTS (
                  SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
              )
              AND has_function_privilege('public', p.oid, 'EXECUTE')
            """
        )
        open_to_public = [row[0] for row in cursor.fetchall()]
    assert open_to_public == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_function_privilege(%s, oid, 'EXECUTE') FROM pg_proc"
            " WHERE proname = 'catalog_variant_search'",
            [settings.PASAR_DB_APP_ROLE],
        )
        assert [row[0] for row in cursor.fetchall()] == [True]
