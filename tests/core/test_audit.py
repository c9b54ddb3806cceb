"""The audit log: append-only at the database, one hash chain per company, tampering detected."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import ProgrammingError, connection, connections, transaction
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pasar.core import request_context
from pasar.core.audit import (
    GENESIS_HASH,
    PLATFORM_ACCESS,
    ChainAnchor,
    audit_chain_verify,
    audit_changes,
    audit_record,
    entry_hash,
)
from pasar.core.db.base import owner_mode
from pasar.core.models import AuditEntry
from pasar.core.tenant import (
    TenantNotSet,
    platform_access,
    system_access,
    tenant_context,
    user_context,
)
from pasar.tenancy.models import Company, Role, User
from tests.conftest import authenticated_client, member
from tests.factories import CompanyFactory, LocationFactory, UserFactory

# -- helpers --------------------------------------------------------------------------------


@contextmanager
def as_table_owner() -> Iterator[Any]:
    """Raw SQL as the tables' owner, the way someone with database access could tamper.

    The owner works on its own connection, so these tests commit their data (transaction=True).
    """
    with owner_mode(), connection.cursor() as cursor:
        yield cursor


def chain_of(company: Company | None) -> list[AuditEntry]:
    with system_access(reason="test: read the chain"):
        return list(AuditEntry.objects.filter(company=company).order_by("sequence"))


def record_many(company: Company, count: int, actor: User | None = None) -> list[AuditEntry]:
    with tenant_context(company, user=actor):
        return [audit_record(action=f"test.step_{n}") for n in range(1, count + 1)]


def verify(company: Company) -> Any:
    with platform_access(reason="test: verify"):
        [report] = audit_chain_verify(company_public_id=str(company.public_id))
    return report


# -- writing entries ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_chain_starts_at_genesis_and_each_entry_links_to_the_one_before(company) -> None:
    first, second, third = record_many(company, 3)

    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.entry_hash
    assert third.previous_hash == second.entry_hash
    assert all(entry.entry_hash == entry_hash(entry) for entry in chain_of(company))


@pytest.mark.django_db
def test_each_company_has_its_own_chain(company, other_company) -> None:
    record_many(company, 2)
    [other_first] = record_many(other_company, 1)

    assert other_first.sequence == 1
    assert other_first.previous_hash == GENESIS_HASH


@pytest.mark.django_db
def test_entry_names_who_what_and_where_from(company, owner) -> None:
    location = LocationFactory(company=company, name="Tiong Bahru")
    request_id = request_context.request_id.set("req-42")
    client_ip = request_context.client_ip.set("203.0.113.9")
    try:
        with tenant_context(company, user=owner):
            entry = audit_record(
                action="location.renamed", obj=location, changes={"name": ["Tiong Bahru", "TB"]}
            )
    finally:
        request_context.request_id.reset(request_id)
        request_context.client_ip.reset(client_ip)

    [stored] = [e for e in chain_of(company) if e.pk == entry.pk]
    assert stored.company_id == company.pk
    assert stored.actor_id == owner.pk
    assert stored.actor_label == owner.email
    assert stored.object_type == "inventory.location"
    assert stored.object_id == str(location.public_id)
    assert stored.object_label == "Tiong Bahru"
    assert stored.changes == {"name": ["Tiong Bahru", "TB"]}
    assert stored.request_id == "req-42"
    assert stored.ip_address == "203.0.113.9"
    assert stored.entry_hash == entry_hash(stored)


@pytest.mark.django_db
def test_an_address_that_is_not_an_ip_is_left_out(company) -> None:
    token = request_context.client_ip.set("not-an-address")
    try:
        [entry] = record_many(company, 1)
    finally:
        request_context.client_ip.reset(token)
    assert entry.ip_address is None


@pytest.mark.django_db
def test_without_a_company_the_entry_joins_the_platform_chain() -> None:
    user = UserFactory()
    with transaction.atomic():
        entry = audit_record(action="user.registered", obj=user, actor=user)

    assert entry.company_id is None
    assert entry.actor_label == user.email
    assert chain_of(None)[-1].pk == entry.pk


@pytest.mark.django_db
def test_onboarding_writes_the_new_company_chain_from_the_users_context() -> None:
    user = UserFactory()
    company = CompanyFactory()
    with user_context(user):
        entry = audit_record(action="company.created", obj=company, company=company)

    assert entry.company_id == company.pk
    assert entry.actor_id == user.pk


@pytest.mark.django_db
def test_one_company_cannot_write_into_another_companys_chain(company, other_company) -> None:
    with tenant_context(company), pytest.raises(TenantNotSet):
        audit_record(action="sneaky", company=other_company)


@pytest.mark.django_db
def test_changes_must_be_before_and_after_pairs(company) -> None:
    with tenant_context(company), pytest.raises(ValueError, match=r"\[before, after\]"):
        audit_record(action="company.updated", changes={"legal_name": "New name"})


@pytest.mark.django_db
def test_platform_access_is_recorded_on_the_platform_chain() -> None:
    staff = UserFactory(is_staff=True)
    with platform_access(reason="support ticket 118", actor=staff):
        pass

    entry = chain_of(None)[-1]
    assert entry.action == PLATFORM_ACCESS
    assert entry.actor_id == staff.pk
    assert entry.object_label == "support ticket 118"


# -- the database keeps it append-only and walled -------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditentry SET action = 'nothing.happened'",
        "DELETE FROM core_auditentry",
        "TRUNCATE core_auditentry",
    ],
)
def test_the_app_role_cannot_change_or_remove_entries(company, statement) -> None:
    record_many(company, 2)
    with (
        tenant_context(company),
        pytest.raises(ProgrammingError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert [entry.action for entry in chain_of(company)] == ["test.step_1", "test.step_2"]


@pytest.mark.django_db
def test_a_company_reads_only_its_own_entries_even_in_raw_sql(company, other_company) -> None:
    record_many(company, 2)
    record_many(other_company, 3)
    with tenant_context(company), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT company_id FROM core_auditentry")
        assert cursor.fetchall() == [(company.pk,)]


# -- audit_changes --------------------------------------------------------------------------


@pytest.mark.django_db
def test_changes_list_only_changed_fields_as_plain_json(company) -> None:
    location = LocationFactory(company=company, name="Bugis", allocation_priority=100)
    before = {
        "name": "Bugis",
        "allocation_priority": 100,
        "company": company,
        "opened": date(2026, 1, 2),
        "limit": Decimal("10.50"),
        "token": uuid.UUID(int=1),
    }
    location.name = "Bugis Junction"
    location.opened = date(2026, 3, 4)
    location.limit = Decimal("12.00")
    location.token = uuid.UUID(int=1)

    changes = audit_changes(
        before, location, ["name", "allocation_priority", "company", "opened", "limit", "token"]
    )

    assert changes == {
        "name": ["Bugis", "Bugis Junction"],
        "opened": ["2026-01-02", "2026-03-04"],
        "limit": ["10.50", "12.00"],
    }
    json.dumps(changes)


@pytest.mark.django_db
def test_changes_accept_an_unsaved_copy_and_name_related_rows_by_public_id(
    company, other_company
) -> None:
    location = LocationFactory(company=company)
    before = LocationFactory.build(company=company, name=location.name)
    before.company = other_company
    changes = audit_changes(before, location, ["name", "company"])
    assert changes == {"company": [str(other_company.public_id), str(company.public_id)]}


# -- verify_audit_chain ---------------------------------------------------------------------


# The owner's connection sees only committed rows.
tamper_test = pytest.mark.django_db(transaction=True)


def run_verify(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit_chain", *args, stdout=out)
    except CommandError as error:
        return 1, out.getvalue() + str(error)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_untouched_chains_verify(company, other_company) -> None:
    record_many(company, 3)
    record_many(other_company, 2)

    status, output = run_verify()

    assert status == 0, output
    assert f"{company.legal_name} ({company.public_id}): 3 entries intact" in output
    assert "All 3 chain(s) intact." in output  # two companies and the platform


@tamper_test
def test_a_changed_field_is_detected(company, other_company) -> None:
    entries = record_many(company, 4)
    record_many(other_company, 2)
    with as_table_owner() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET actor_label = 'someone-else@example.com' WHERE id = %s",
            [entries[1].pk],
        )

    status, output = run_verify()

    assert status == 1
    assert "BROKEN at entry #2: it was changed after it was written" in output
    assert f"{other_company.legal_name} ({other_company.public_id}): 2 entries intact" in output


@tamper_test
def test_an_entry_deleted_from_the_middle_is_detected(company) -> None:
    entries = record_many(company, 5)
    with as_table_owner() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[2].pk])

    status, output = run_verify("--company", str(company.public_id))

    assert status == 1
    assert "BROKEN at entry #4: entry #3 is missing before it" in output


@tamper_test
def test_reordered_entries_are_detected(company) -> None:
    entries = record_many(company, 4)
    with as_table_owner() as cursor:
        # Swap the positions of entries 2 and 3 (through a free number: sequences are unique).
        cursor.execute("UPDATE core_auditentry SET sequence = 99 WHERE id = %s", [entries[1].pk])
        cursor.execute("UPDATE core_auditentry SET sequence = 2 WHERE id = %s", [entries[2].pk])
        cursor.execute("UPDATE core_auditentry SET sequence = 3 WHERE id = %s", [entries[1].pk])

    report = verify(company)

    assert report.broken is not None
    assert report.broken.sequence == 2


@tamper_test
def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(company) -> None:
    entries = record_many(company, 3)
    forged = chain_of(company)[1]
    forged.action = "nothing.to.see"
    forged.entry_hash = entry_hash(forged)
    with as_table_owner() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET action = %s, entry_hash = %s WHERE id = %s",
            [forged.action, forged.entry_hash, entries[1].pk],
        )

    report = verify(company)

    assert report.broken is not None
    assert report.broken.sequence == 3
    assert "does not link to entry #2" in report.broken.reason


@tamper_test
def test_a_cut_off_tail_needs_an_anchor_kept_outside_the_database(company, tmp_path) -> None:
    anchors = tmp_path / "audit-anchors.json"
    entries = record_many(company, 4)
    assert run_verify("--anchors", str(anchors))[0] == 0
    assert json.loads(anchors.read_text())[str(company.public_id)] == {
        "sequence": 4,
        "entry_hash": entries[-1].entry_hash,
    }

    with as_table_owner() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[-1].pk])

    # The links alone still hold: the remaining entries form a valid, shorter chain ...
    assert verify(company).broken is None
    # ... but the anchor from the last check remembers entry #4.
    status, output = run_verify("--anchors", str(anchors))
    assert status == 1
    assert "BROKEN at entry #4: entry #4 is gone from the end" in output
    assert json.loads(anchors.read_text())[str(company.public_id)]["sequence"] == 4


@tamper_test
def test_a_rewritten_chain_differs_from_its_anchor(company) -> None:
    entries = record_many(company, 2)
    anchor = ChainAnchor(sequence=2, entry_hash=entries[1].entry_hash)
    with as_table_owner() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[1].pk])
    with tenant_context(company):
        audit_record(action="replacement")

    with platform_access(reason="test: verify"):
        [report] = audit_chain_verify(
            company_public_id=str(company.public_id), anchors={str(company.public_id): anchor}
        )

    assert report.broken is not None
    assert "chain was rewritten" in report.broken.reason


@tamper_test
def test_a_chain_deleted_entirely_is_reported_from_its_anchor(company) -> None:
    record_many(company, 2)
    key = str(company.public_id)
    with as_table_owner() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE company_id = %s", [company.pk])

    with platform_access(reason="test: verify"):
        reports = audit_chain_verify(anchors={key: ChainAnchor(2, "a" * 64)})

    [report] = [report for report in reports if report.key == key]
    assert report.broken is not None
    assert "whole chain is gone" in report.broken.reason


@pytest.mark.django_db
def test_a_broken_anchors_file_is_refused(tmp_path) -> None:
    anchors = tmp_path / "anchors.json"
    anchors.write_text("[1, 2]")
    status, output = run_verify("--anchors", str(anchors))
    assert status == 1
    assert "not an anchors file" in output


# -- properties -----------------------------------------------------------------------------

json_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(json_text, children, max_size=3)
    ),
    max_leaves=8,
)
audit_records = st.lists(
    st.fixed_dictionaries(
        {
            "action": st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=40),
            "changes": st.dictionaries(
                json_text, st.tuples(json_values, json_values).map(list), max_size=3
            ),
            "request_id": json_text,
            "ip": st.none() | st.ip_addresses().map(str),
            "with_object": st.booleans(),
        }
    ),
    min_size=1,
    max_size=6,
)
PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def write_records(company: Company, actor: User, records: list[dict[str, Any]]) -> None:
    for record in records:
        request_id = request_context.request_id.set(record["request_id"])
        client_ip = request_context.client_ip.set(record["ip"])
        try:
            with tenant_context(company, user=actor):
                audit_record(
                    action=record["action"],
                    obj=company if record["with_object"] else None,
                    changes=record["changes"],
                )
        finally:
            request_context.request_id.reset(request_id)
            request_context.client_ip.reset(client_ip)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Each hypothesis example in its own savepoint, undone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(records=audit_records)
def test_any_sequence_of_records_forms_a_chain_that_verifies(records) -> None:
    with rolled_back():
        company = CompanyFactory()
        write_records(company, UserFactory(password=None), records)

        report = verify(company)

        assert report.broken is None
        assert report.entries == report.head_sequence == len(records)


TAMPERS = {
    "action": "action = action || '!'",
    "actor_label": "actor_label = actor_label || '!'",
    "object_type": "object_type = object_type || '!'",
    "object_id": "object_id = object_id || '!'",
    "object_label": "object_label = object_label || '!'",
    "changes": """changes = changes || '{"tampered": [0, 1]}'::jsonb""",
    "request_id": "request_id = request_id || '!'",
    "ip_address": (
        "ip_address = CASE WHEN ip_address IS NULL THEN '198.51.100.1'::inet ELSE NULL END"
    ),
    "actor_id": "actor_id = NULL",
    "created_at": "created_at = created_at + interval '1 microsecond'",
    "sequence": "sequence = sequence + 1000",
    "previous_hash": "previous_hash = repeat('f', 64)",
    "entry_hash": "entry_hash = md5(entry_hash) || md5(entry_hash)",
}


@tamper_test
@PROPERTY_SETTINGS
@given(records=audit_records, data=st.data())
def test_any_single_field_tamper_is_detected(records, data) -> None:
    position = data.draw(st.integers(1, len(records)), label="tampered entry")
    column = data.draw(st.sampled_from(sorted(TAMPERS)), label="tampered column")
    company = CompanyFactory()  # each example writes (and tampers with) a chain of its own
    write_records(company, UserFactory(password=None), records)
    with as_table_owner() as cursor:
        cursor.execute(
            f"UPDATE core_auditentry SET {TAMPERS[column]} WHERE company_id = %s AND sequence = %s",
            [company.pk, position],
        )

    report = verify(company)

    assert report.broken is not None
    if column != "sequence":  # a renumbered entry may surface as a gap where it used to be
        assert report.broken.sequence == position


# -- two writers at once --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_writers_at_once_never_fork_a_chain() -> None:
    company = CompanyFactory()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            barrier.wait()
            for step in range(20):
                with tenant_context(company):
                    audit_record(action=f"{name}.{step}")
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    entries = chain_of(company)
    assert [entry.sequence for entry in entries] == list(range(1, 41))
    assert verify(company).broken is None


# -- browsing: API, page, admin -------------------------------------------------------------


@pytest.fixture
def audited_company(company, owner) -> Company:
    with tenant_context(company, user=owner):
        audit_record(action="company.updated", changes={"legal_name": ["Old", "New"]})
        audit_record(action="location.created", obj=LocationFactory(company=company))
    return company


@pytest.mark.django_db
def test_owner_reads_the_audit_log_newest_first(audited_company, owner, other_company) -> None:
    record_many(other_company, 2)
    response = authenticated_client(owner, audited_company).get("/api/v1/audit-log")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert [entry["action"] for entry in body["data"]] == ["location.created", "company.updated"]
    assert body["data"][1]["changes"] == {"legal_name": ["Old", "New"]}
    assert body["data"][1]["actor"] == str(owner.public_id)
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 25, "total": 2, "pages": 1}


@pytest.mark.django_db
def test_admin_role_may_read_the_audit_log(audited_company) -> None:
    admin_user = member(audited_company, Role.ADMIN)
    response = authenticated_client(admin_user, audited_company).get("/api/v1/audit-log")
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FINANCE, Role.WAREHOUSE, Role.SALES])
def test_other_roles_may_not_read_the_audit_log(audited_company, role) -> None:
    user = member(audited_company, role)
    response = authenticated_client(user, audited_company).get("/api/v1/audit-log")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_audit_log_filters(audited_company, owner) -> None:
    client = authenticated_client(owner, audited_company)
    today = timezone.localdate()

    def actions(query: str) -> list[str]:
        response = client.get(f"/api/v1/audit-log?{query}")
        assert response.status_code == 200, response.json()
        return [entry["action"] for entry in response.json()["data"]]

    assert actions("action=company.updated") == ["company.updated"]
    assert actions("object_type=inventory.location") == ["location.created"]
    assert actions(f"actor={owner.email.split('@')[0].upper()}") == [
        "location.created",
        "company.updated",
    ]
    assert actions("actor=nobody") == []
    assert actions(f"date_from={today}&date_to={today}") == [
        "location.created",
        "company.updated",
    ]
    assert actions(f"date_from={today + timedelta(days=1)}") == []
    assert actions("per_page=1&page=2") == ["company.updated"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=yesterday", "date_from"),
        ("date_from=2026-02-02&date_to=2026-02-01", "date_to"),
        ("colour=blue", "colour"),
    ],
)
def test_audit_log_refuses_bad_filters(audited_company, owner, query, field) -> None:
    response = authenticated_client(owner, audited_company).get(f"/api/v1/audit-log?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == field


@pytest.mark.django_db
def test_owner_browses_the_audit_page(audited_company, owner, client) -> None:
    client.force_login(owner)
    response = client.get("/office/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "company.updated" in page
    assert "Old" in page
    assert "New" in page


@pytest.mark.django_db
def test_audit_page_filters_and_says_when_nothing_matches(audited_company, owner, client) -> None:
    client.force_login(owner)
    page = client.get("/office/audit/?action=location.created").content.decode()
    assert "<code>location.created</code>" in page
    assert "<code>company.updated</code>" not in page

    page = client.get("/office/audit/?actor=nobody").content.decode()
    assert "No entries match these filters" in page


@pytest.mark.django_db
def test_audit_page_explains_bad_dates(audited_company, owner, client) -> None:
    client.force_login(owner)
    response = client.get("/office/audit/?date_from=2026-02-02&date_to=2026-02-01")
    assert response.status_code == 200
    assert "The last day must not be before the first day." in response.content.decode()


@pytest.mark.django_db
def test_audit_page_empty_state(company, owner, client) -> None:
    client.force_login(owner)
    assert "Nothing recorded yet" in client.get("/office/audit/").content.decode()


@pytest.mark.django_db
def test_audit_page_pages_through_many_entries(company, owner, client) -> None:
    record_many(company, 60)
    client.force_login(owner)
    first = client.get("/office/audit/").content.decode()
    second = client.get("/office/audit/?page=2").content.decode()
    assert "Page 1 of 2" in first
    assert "<code>test.step_60</code>" in first
    assert "<code>test.step_10</code>" in second
    assert "<code>test.step_60</code>" not in second


@pytest.mark.django_db
def test_audit_page_is_closed_to_other_roles(audited_company, client) -> None:
    client.force_login(member(audited_company, Role.SALES))
    assert client.get("/office/audit/").status_code == 403


@pytest.mark.django_db
def test_admin_shows_audit_entries_but_cannot_change_them(audited_company, client) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    model_admin = admin_site._registry[AuditEntry]
    request = RequestFactory().get("/admin/core/auditentry/")
    request.user = staff
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)

    client.force_login(staff)
    response = client.get("/admin/core/auditentry/")
    assert response.status_code == 200
    assert "company.updated" in response.content.decode()


def test_entry_hash_covers_the_created_time_to_the_microsecond() -> None:
    entry = AuditEntry(
        company_id=1,
        sequence=1,
        action="x",
        changes={},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        previous_hash=GENESIS_HASH,
    )
    before = entry_hash(entry)
    entry.created_at += timedelta(microseconds=1)
    assert entry_hash(entry) != before


@pytest.mark.django_db
def test_the_audit_page_reads_in_words_and_links_to_what_changed(company, owner, client) -> None:
    from decimal import Decimal

    from pasar.inventory.services import purchase_receipt_create
    from tests.catalog.helpers import product
    from tests.factories import LocationFactory

    made = product(company, "Kopi Beans", {"sku": "BEANS-1", "price": "18.00"})
    store = LocationFactory(company=company, name="Tiong Bahru")
    receipt = purchase_receipt_create(
        company=company,
        location=store,
        supplier_name="Kopi Roasters",
        reference="DO-1",
        lines=[("BEANS-1", 5, Decimal("9.50"))],
        actor=owner,
    )
    client.force_login(owner)
    page = client.get("/office/audit/").content.decode()
    assert "Purchase receipt created" in page
    assert f'href="/office/stock/receipts/{receipt.public_id}/"' in page
    assert f'href="/office/products/{made.public_id}/"' in page
    # A list of lines reads as text, not as a Python list.
    assert "BEANS-1 5 9.5000" in page
    assert "[[" not in page
    assert "<code>purchase_receipt.created</code>" in page  # the code stays in the details
