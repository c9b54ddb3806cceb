"""The database wall holds against raw SQL under the app role, whatever the app role sets."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from pasar.core import rls
from pasar.core.tenant import platform_access, tenant_context, user_context
from pasar.tenancy.models import Flag, Membership, Role
from tests.factories import LocationFactory, MembershipFactory, UserFactory
from tests.tenancy.test_isolation import rowcount, scalar

SETTINGS_TO_TRY = [
    ("pasar.rls_bypass", "on"),
    ("pasar.rls_bypass", "true"),
    ("pasar.platform_proof", "on"),
    ("pasar.platform_proof", "0" * 64),
    ("pasar.platform_access", "on"),
    ("pasar.bypass", "on"),
    ("row_security", "off"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "value"), SETTINGS_TO_TRY)
def test_app_role_cannot_widen_rls_by_any_setting(company, two_shops, name, value) -> None:
    def attempt(sql: str, params: list) -> int | None:
        """What the statement saw or changed; None where PostgreSQL refused it."""
        try:
            with transaction.atomic():
                scalar("SELECT set_config(%s, %s, true)", [name, value])
                if sql.startswith("SELECT"):
                    return scalar(sql, params)
                return rowcount(sql, params)
        except DatabaseError:
            # row_security=off makes a query that RLS would filter fail instead.
            return None

    with tenant_context(company):
        assert attempt("SELECT count(*) FROM inventory_location", []) in (1, None)
        others = [company.pk]
        assert attempt("DELETE FROM inventory_location WHERE company_id <> %s", others) in (0, None)
        assert attempt("SELECT count(*) FROM inventory_location", []) in (1, None)


@pytest.mark.django_db
def test_app_role_sees_nothing_outside_any_context_whatever_it_sets(two_shops) -> None:
    with transaction.atomic():
        for name, value in SETTINGS_TO_TRY:
            if name == "row_security":
                continue
            scalar("SELECT set_config(%s, %s, true)", [name, value])
        assert scalar("SELECT count(*) FROM inventory_location") == 0


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
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                rowcount(statement)


@pytest.mark.django_db(transaction=True)
def test_a_platform_proof_opens_only_its_own_transaction(company, other_company) -> None:
    LocationFactory(company=company)
    LocationFactory(company=other_company)
    with platform_access(reason="test: read the proof"):
        proof = scalar("SELECT current_setting('pasar.platform_proof')")
        assert scalar("SELECT count(*) FROM inventory_location") == 2
    # The same backend, a later transaction: the proof opens nothing.
    with transaction.atomic():
        scalar("SELECT set_config('pasar.platform_proof', %s, true)", [proof])
        assert scalar("SELECT count(*) FROM inventory_location") == 0
    # Another connection under the app role: nothing either.
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"],
        user=settings.PASAR_DB_APP_ROLE,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        password=settings.PASAR_DB_APP_PASSWORD or db["PASSWORD"] or None,
    ) as other:
        other.execute("SELECT set_config('pasar.platform_proof', %s, false)", [proof])
        assert other.execute("SELECT count(*) FROM inventory_location").fetchone()[0] == 0


@pytest.mark.django_db
def test_platform_access_still_sees_every_company(company, other_company, two_shops) -> None:
    with platform_access(reason="test: cross-company read"):
        assert scalar("SELECT count(*) FROM inventory_location") == 2
    with tenant_context(company):
        assert scalar("SELECT count(*) FROM inventory_location") == 1


@pytest.mark.django_db
def test_rls_bypass_setting_no_longer_exists_as_a_wall_opener(company, two_shops) -> None:
    with tenant_context(company):
        scalar("SELECT set_config('pasar.rls_bypass', 'on', true)")
        assert scalar("SELECT count(*) FROM inventory_location") == 1


@pytest.mark.django_db
def test_a_platform_proof_is_bound_to_the_key(company, other_company, two_shops) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_backend_pid(),"
                " (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint"
            )
            pid, start = cursor.fetchone()
        forged = rls.platform_proof(key="guessed", backend_pid=pid, transaction_start_us=start)
        scalar("SELECT set_config('pasar.platform_proof', %s, true)", [forged])
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
