"""`manage.py seed_demo`: the demo data the README promises, and running it twice is harmless."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from stdnum.sg import uen as stdnum_uen

from pasar.core.tenant import platform_access, tenant_context
from pasar.inventory.models import Location
from pasar.tenancy.models import Company, Invitation, Membership, User

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    with platform_access(reason="test: count the demo rows"):
        return {
            "users": User.objects.count(),
            "companies": Company.objects.count(),
            "memberships": Membership.objects.count(),
            "invitations": Invitation.objects.count(),
            "locations": Location.objects.count(),
        }


def test_the_demo_has_both_companies_every_staff_role_and_their_locations() -> None:
    output = seed()
    kopi = Company.objects.get(shop_slug="kopi-kakis")
    assert kopi.legal_name == "Kopi Kakis Pte. Ltd."
    assert stdnum_uen.is_valid(kopi.uen)
    assert (kopi.gst_registered, kopi.gst_period) == (True, "quarterly")
    assert kopi.gst_number
    with tenant_context(kopi):
        roles = dict(Membership.objects.values_list("user__email", "role"))
        locations = dict(Location.objects.values_list("name", "kind"))
    assert roles == {
        "owner@kopikakis.example": "owner",
        "admin@kopikakis.example": "admin",
        "finance@kopikakis.example": "finance",
        "warehouse@kopikakis.example": "warehouse",
        "sales@kopikakis.example": "sales",
    }
    assert locations == {"Tiong Bahru Cafe": "store", "Jurong Warehouse": "warehouse"}

    lion = Company.objects.get(shop_slug="lion-brew")
    assert lion.legal_name == "Lion Brew Pte. Ltd."
    with tenant_context(lion):
        assert list(Membership.objects.values_list("user__email", "role")) == [
            ("owner@lionbrew.example", "owner")
        ]
        assert Location.objects.count() == 1

    platform = User.objects.get(email="platform@pasar.example")
    assert platform.is_staff
    assert platform.is_superuser
    assert "Kopi Kakis Pte. Ltd." in output
    assert "platform@pasar.example" in output


@pytest.mark.parametrize(
    "email",
    [
        "owner@kopikakis.example",
        "finance@kopikakis.example",
        "owner@lionbrew.example",
        "platform@pasar.example",
    ],
)
def test_every_demo_login_uses_the_demo_password(email: str) -> None:
    seed()
    request = RequestFactory().post("/login/")
    assert authenticate(request=request, email=email, password="pasar-demo") is not None


def test_running_it_again_changes_nothing() -> None:
    seed()
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "nothing was added" in output
