"""The tenant walls: the ORM manager, and PostgreSQL row-level security beneath it."""

import pytest
from django.db import DatabaseError, connection, transaction

from pasar.core.rls import tenant_models
from pasar.core.tenant import TenantNotSet, platform_access, tenant_context
from pasar.inventory.models import Location


def scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def rowcount(sql: str, params: list | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


@pytest.mark.django_db
def test_every_tenant_table_has_forced_rls_and_a_policy() -> None:
    tables = [model._meta.db_table for model in tenant_models()]
    assert "inventory_location" in tables
    assert "tenancy_membership" in tables
    for table in tables:
        enabled, forced = (
            scalar("SELECT relrowsecurity FROM pg_class WHERE relname = %s", [table]),
            scalar("SELECT relforcerowsecurity FROM pg_class WHERE relname = %s", [table]),
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT policyname FROM pg_policies WHERE tablename = %s", [table])
            policies = {row[0] for row in cursor.fetchall()}
        assert (enabled, forced) == (True, True), table
        assert "tenant_isolation" in policies, table
        assert policies <= {"tenant_isolation", "tenant_extra_read", "owner_maintenance"}, table


@pytest.mark.django_db
def test_every_tenant_table_carries_company_id() -> None:
    for model in tenant_models():
        assert "company" in {field.name for field in model._meta.fields}, model


@pytest.mark.django_db
def test_orm_in_one_company_sees_none_of_the_other(company, two_shops) -> None:
    mine, theirs = two_shops
    with tenant_context(company):
        assert list(Location.objects.all()) == [mine]
        assert not Location.objects.filter(pk=theirs.pk).exists()
        assert Location.objects.filter(pk=theirs.pk).update(name="Hacked") == 0
        assert Location.objects.filter(pk=theirs.pk).delete()[0] == 0
    with platform_access(reason="test: check the other row is untouched"):
        assert Location.objects.get(pk=theirs.pk).name == "Jurong"


@pytest.mark.django_db
def test_orm_cannot_save_a_row_into_another_company(company, other_company, two_shops) -> None:
    with tenant_context(company), pytest.raises(TenantNotSet):
        Location(company=other_company, name="Sneaky").save()


@pytest.mark.django_db
def test_raw_sql_reads_nothing_of_the_other_company(company, other_company, two_shops) -> None:
    mine, _ = two_shops
    with tenant_context(company):
        assert scalar("SELECT count(*) FROM inventory_location") == 1
        assert scalar("SELECT min(id) FROM inventory_location") == mine.pk
        assert (
            scalar(
                "SELECT count(*) FROM inventory_location WHERE company_id = %s", [other_company.pk]
            )
            == 0
        )


@pytest.mark.django_db
def test_raw_sql_updates_and_deletes_nothing_of_the_other_company(
    company, other_company, two_shops
) -> None:
    _, theirs = two_shops
    with tenant_context(company):
        assert rowcount("UPDATE inventory_location SET name = 'Hacked'") == 1  # only its own row
        assert rowcount("DELETE FROM inventory_location WHERE id = %s", [theirs.pk]) == 0
    with platform_access(reason="test: check the other row is untouched"):
        assert Location.objects.get(pk=theirs.pk).name == "Jurong"


@pytest.mark.django_db
def test_raw_sql_cannot_insert_or_move_rows_into_the_other_company(
    company, other_company, two_shops
) -> None:
    mine, _ = two_shops
    insert = (
        "INSERT INTO inventory_location (public_id, company_id, name, kind, address_line1,"
        " address_line2, postal_code, allocation_priority, is_active, created_at)"
        " VALUES (gen_random_uuid(), %s, 'Sneaky', 'store', '', '', '', 1, true, now())"
    )
    with tenant_context(company):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rowcount(insert, [other_company.pk])
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            rowcount(
                "UPDATE inventory_location SET company_id = %s WHERE id = %s",
                [other_company.pk, mine.pk],
            )
    with platform_access(reason="test: count rows"):
        assert Location.objects.filter(company=other_company).count() == 1


@pytest.mark.django_db
def test_raw_sql_without_a_company_sees_no_tenant_rows(two_shops) -> None:
    assert scalar("SELECT count(*) FROM inventory_location") == 0
    assert scalar("SELECT count(*) FROM tenancy_membership") == 0


@pytest.mark.django_db
def test_the_app_cannot_switch_rls_off(company, two_shops) -> None:
    with tenant_context(company):
        for statement in (
            "ALTER TABLE inventory_location DISABLE ROW LEVEL SECURITY",
            "SET ROLE postgres",
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                rowcount(statement)
