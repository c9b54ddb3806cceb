"""The permission table, walked whole: every action for every role, in can() and through the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from pasar.core.tenant import tenant_context
from pasar.tenancy import services
from pasar.tenancy.models import Company, Membership, Role, User
from pasar.tenancy.permissions import PERMISSIONS, RoleAllows, UnknownAction, can
from tests.conftest import authenticated_client, member
from tests.factories import UserFactory, valid_uen
from tests.tenancy.test_services import counts

EVERY_CELL = list(product(sorted(PERMISSIONS), list(Role)))

# The rows of the table that tenancy's own endpoints rely on, spelled out so that a change to
# who may manage people or the company is a deliberate edit here too.
TENANCY_ROWS = {
    "company.view": {"owner", "admin", "finance", "warehouse", "sales"},
    "company.update": {"owner", "admin"},
    "company.delete": {"owner"},
    "membership.view": {"owner", "admin"},
    "membership.manage": {"owner", "admin"},
    "invitation.manage": {"owner", "admin"},
}


@pytest.mark.parametrize(("action", "role"), EVERY_CELL)
def test_can_answers_each_cell_as_the_table_says(action: str, role: Role) -> None:
    assert can(role, action) is (role in PERMISSIONS[action])
    assert can(role.value, action) is (role in PERMISSIONS[action])


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_every_action_is_allowed_to_the_owner_and_names_only_real_roles(action: str) -> None:
    assert Role.OWNER in PERMISSIONS[action]
    assert set(PERMISSIONS[action]) <= set(Role)


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_someone_outside_the_company_may_do_nothing(action: str) -> None:
    assert can(None, action) is False


@pytest.mark.parametrize(("action", "roles"), sorted(TENANCY_ROWS.items()))
def test_tenancy_rows_are_as_agreed(action: str, roles: set[str]) -> None:
    assert {role.value for role in PERMISSIONS[action]} == roles


def test_an_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(UnknownAction):
        can(Role.OWNER, "company.sell")
    with pytest.raises(UnknownAction):
        RoleAllows.to("company.sell")


def test_an_unknown_role_is_refused_loudly() -> None:
    with pytest.raises(ValueError, match="boss"):
        can("boss", "company.view")


# -- the same table, through the API --------------------------------------------------------


@dataclass
class Scene:
    company: Company
    sales_membership: Membership
    invitation_id: str


@dataclass(frozen=True)
class Endpoint:
    action: str
    method: str
    path: Callable[[Scene], str]
    body: dict | None = None


ENDPOINTS = [
    Endpoint("company.view", "get", lambda s: "/api/v1/companies/current"),
    Endpoint(
        "company.update",
        "patch",
        lambda s: "/api/v1/companies/current",
        {"address_line1": "1 Tras Street"},
    ),
    Endpoint("membership.view", "get", lambda s: "/api/v1/memberships"),
    Endpoint(
        "membership.manage",
        "patch",
        lambda s: f"/api/v1/memberships/{s.sales_membership.public_id}",
        {"role": "warehouse"},
    ),
    Endpoint(
        "membership.manage",
        "delete",
        lambda s: f"/api/v1/memberships/{s.sales_membership.public_id}",
    ),
    Endpoint("invitation.manage", "get", lambda s: "/api/v1/invitations"),
    Endpoint(
        "invitation.manage",
        "post",
        lambda s: "/api/v1/invitations",
        {"email": "new.hire@example.com", "role": "sales"},
    ),
    Endpoint("invitation.manage", "delete", lambda s: f"/api/v1/invitations/{s.invitation_id}"),
]


def scene(company: Company, owner: User) -> Scene:
    sales = member(company, Role.SALES)
    invitation, _ = services.invitation_create(
        company=company, invited_by=owner, email="pending@example.com", role=Role.WAREHOUSE
    )
    with tenant_context(company):
        sales_membership = Membership.objects.get(user=sales)
    return Scene(company, sales_membership, str(invitation.public_id))


def client_for(company: Company, owner: User, role: Role) -> APIClient:
    actor = owner if role == Role.OWNER else member(company, role)
    return authenticated_client(actor, company)


def test_the_endpoints_cover_every_tenancy_action_an_endpoint_guards() -> None:
    guarded = {endpoint.action for endpoint in ENDPOINTS}
    assert guarded == set(TENANCY_ROWS) - {"company.delete"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method}-{e.action}" for e in ENDPOINTS])
def test_each_role_gets_2xx_or_403_as_the_table_says(
    company, owner, role: Role, endpoint: Endpoint
) -> None:
    setting = scene(company, owner)
    client = client_for(company, owner, role)
    before = counts()
    call = getattr(client, endpoint.method)
    response = (
        call(endpoint.path(setting), endpoint.body, format="json")
        if endpoint.body is not None
        else call(endpoint.path(setting))
    )
    if can(role, endpoint.action):
        assert 200 <= response.status_code < 300, response.content
    else:
        assert response.status_code == 403, response.content
        body = response.json()
        assert body["status"] == "error"
        assert body["error"]["code"] == "permission_denied"
        assert body["error"]["message"] == "Your role in this company does not allow that."
        assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_every_member_sees_me_and_may_onboard_another_company(company, owner, role) -> None:
    client = client_for(company, owner, role)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post(
        "/api/v1/companies",
        {"legal_name": f"{role.label} Side Business Pte. Ltd.", "uen": valid_uen()},
        format="json",
    )
    assert response.status_code == 201, response.content


# -- platform staff in the admin ------------------------------------------------------------


@pytest.mark.django_db
def test_platform_staff_browse_every_company_in_the_admin_without_seeing_hashes(
    company, other_company, owner
) -> None:
    shopper = services.shopper_register(
        company=other_company, email="buyer@example.com", password="teh-tarik-kosong-88"
    )
    invitation, _ = services.invitation_create(
        company=company, invited_by=owner, email="hire@example.com", role=Role.SALES
    )
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    pages = [
        reverse("admin:tenancy_company_changelist"),
        reverse("admin:tenancy_company_change", args=[other_company.pk]),
        reverse("admin:tenancy_user_changelist"),
        reverse("admin:tenancy_user_change", args=[owner.pk]),
        reverse("admin:tenancy_membership_changelist"),
        reverse("admin:tenancy_invitation_changelist"),
        reverse("admin:tenancy_invitation_change", args=[invitation.pk]),
        reverse("admin:tenancy_shopper_changelist"),
        reverse("admin:tenancy_shopper_change", args=[shopper.pk]),
        reverse("admin:tenancy_flag_changelist"),
        reverse("admin:tenancy_flag_add"),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        content = response.content.decode()
        assert "argon2" not in content, page
        assert invitation.token_hash not in content, page
    # The admin works across the walls: both companies' people are listed.
    member(other_company, Role.OWNER)
    memberships = client.get(reverse("admin:tenancy_membership_changelist")).content.decode()
    assert "Other Brew Pte. Ltd." in memberships
    assert "Kopi Test Pte. Ltd." in memberships


@pytest.mark.django_db
def test_the_admin_is_closed_to_company_staff(company, owner) -> None:
    client = Client()
    client.force_login(owner)
    response = client.get(reverse("admin:tenancy_company_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
