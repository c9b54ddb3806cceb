"""A request reuses the identity this process read for the user on an earlier request, after
one round trip has found it unchanged: a role changed, a membership removed, a user
deactivated or a company edited, by the app or by raw SQL, takes effect on the next request."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pasar.core.tenant import tenant_context
from pasar.tenancy import selectors
from pasar.tenancy.models import Company, Membership, Role, User
from tests.conftest import authenticated_client, member
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

ME = "/api/v1/me"
PRODUCTS = "/api/v1/catalog/products"


def raw(sql: str, params: list[Any], company: Company | None = None) -> None:
    """A write outside the app's services, as another process or a data fix would make it
    (in the company's context for its walled tables)."""
    if company is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    with tenant_context(company), connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.rowcount > 0


def statements(client: Any, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    sent = [query["sql"] for query in captured.captured_queries]
    return response.status_code, [sql for sql in sent if sql not in ("BEGIN", "COMMIT")]


def test_a_remembered_identity_costs_one_statement_and_answers_the_same(owner, company) -> None:
    client = authenticated_client(owner, company)
    first_status, first = statements(client, ME)
    first_body = client.get(ME).json()
    second_status, second = statements(client, ME)
    assert first_status == second_status == 200
    assert client.get(ME).json() == first_body
    # Read afresh: the user, then the user's context with the memberships, then the company's
    # context. Remembered: the company's context and the version check, sent together.
    assert len(first) == 3
    assert len(second) == 1
    assert "pasar_enter" in second[0]
    assert "identity_version" in second[0]


def test_a_role_changed_by_raw_sql_applies_to_the_next_request(company) -> None:
    warehouse = member(company, Role.WAREHOUSE)
    client = authenticated_client(warehouse, company)
    new = {"name": "Kaya", "variants": [{"sku": "KAYA-1", "price": "3.00"}]}
    assert client.post(PRODUCTS, new, format="json").status_code == 201
    raw(
        "UPDATE tenancy_membership SET role = %s WHERE user_id = %s",
        [Role.SALES, warehouse.pk],
        company,
    )
    refused = client.post(PRODUCTS, {**new, "variants": []}, format="json")
    assert refused.status_code == 403
    assert client.get(ME).json()["data"]["companies"][0]["role"] == Role.SALES


def test_a_removed_membership_refuses_the_next_request(owner, company) -> None:
    sales = member(company, Role.SALES)
    client = authenticated_client(sales, company)
    assert client.get(PRODUCTS).status_code == 200
    raw("DELETE FROM tenancy_membership WHERE user_id = %s", [sales.pk], company)
    refused = client.get(PRODUCTS)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_a_member"


def test_a_deactivated_user_is_refused_on_the_next_request(owner, company) -> None:
    client = authenticated_client(owner, company)
    assert client.get(ME).status_code == 200
    raw("UPDATE tenancy_user SET is_active = false WHERE id = %s", [owner.pk])
    assert client.get(ME).status_code == 401


def test_a_company_edited_elsewhere_reads_anew(owner, company) -> None:
    client = authenticated_client(owner, company)
    assert client.get(ME).json()["data"]["companies"][0]["legal_name"] == company.legal_name
    raw(
        "UPDATE tenancy_company SET legal_name = %s WHERE id = %s",
        ["Renamed Pte. Ltd.", company.pk],
    )
    assert client.get(ME).json()["data"]["companies"][0]["legal_name"] == "Renamed Pte. Ltd."


def test_a_membership_added_in_another_company_shows_at_once(owner, company, other_company) -> None:
    client = authenticated_client(owner, company)
    assert len(client.get(ME).json()["data"]["companies"]) == 1
    with tenant_context(other_company):
        MembershipFactory(company=other_company, user=owner, role=Role.ADMIN)
    assert len(client.get(ME).json()["data"]["companies"]) == 2


def test_every_change_moves_the_version_numbers(owner, company, other_company) -> None:
    def versions() -> tuple[int, int]:
        return (
            User.objects.get(pk=owner.pk).identity_version,
            Company.objects.get(pk=company.pk).identity_version,
        )

    before_user, before_company = versions()
    raw("UPDATE tenancy_user SET full_name = 'Ah Huat' WHERE id = %s", [owner.pk])
    raw("UPDATE tenancy_membership SET role = role WHERE user_id = %s", [owner.pk], company)
    with tenant_context(other_company):
        MembershipFactory(company=other_company, user=owner, role=Role.SALES)
    with tenant_context(other_company):
        Membership.objects.filter(company=other_company, user=owner).delete()
    raw("UPDATE tenancy_company SET gst_registered = gst_registered WHERE id = %s", [company.pk])
    after_user, after_company = versions()
    assert after_user == before_user + 4
    assert after_company == before_company + 1
    # A save through the ORM carries the version it read; the database moves it on all the same.
    stale = User.objects.get(pk=owner.pk)
    User.objects.filter(pk=owner.pk).update(full_name="Ah Seng")
    stale.save()
    assert User.objects.get(pk=owner.pk).identity_version == after_user + 2


def test_each_request_gets_its_own_instances(owner, company) -> None:
    client = authenticated_client(owner, company)
    client.get(ME)
    one = selectors.remembered_identity(user_public_id=str(owner.public_id))
    two = selectors.remembered_identity(user_public_id=str(owner.public_id))
    assert one is not None
    assert two is not None
    assert one.user == two.user
    assert one.user is not two.user
    assert one.memberships[0].company is not two.memberships[0].company


def test_a_session_request_uses_the_same_memory(owner, company) -> None:
    browser = Client()
    browser.force_login(owner)
    assert browser.get("/office/").status_code == 200
    raw("UPDATE tenancy_user SET is_staff = false, full_name = 'Changed' WHERE id = %s", [owner.pk])
    assert selectors.remembered_identity(user_public_id=str(owner.public_id)) is not None
    assert browser.get("/office/").status_code == 200
    remembered = selectors.remembered_identity(user_public_id=str(owner.public_id))
    assert remembered is not None
    assert remembered.user.full_name == "Changed"


def test_the_memory_is_bounded_and_forgets_old_entries() -> None:
    memory = selectors.IdentityMemory(size=2, seconds=60)
    entry = selectors._Remembered(user=(), memberships=(), read_at=0.0)
    fresh = selectors._Remembered(user=(), memberships=(), read_at=float("inf"))
    memory.put("old", entry)
    assert memory.get("old") is None  # read long ago
    for key in ("a", "b", "c"):
        memory.put(key, fresh)
    assert memory.get("a") is None
    assert memory.get("b") is fresh
    assert memory.get("c") is fresh
