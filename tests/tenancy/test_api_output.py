"""The /me outputs write their fields directly for speed; each must answer exactly what DRF's
generic serializer answers for the same declared fields."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from pasar.core.tenant import user_context
from pasar.tenancy import selectors
from pasar.tenancy.api import MeOutput, MyCompanyOutput, UserOutput
from pasar.tenancy.models import Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def generic_me(me: dict[str, Any]) -> dict[str, Any]:
    company = MyCompanyOutput()
    active = me["active_company"]
    return {
        "user": serializers.Serializer.to_representation(UserOutput(), me["user"]),
        "active_company": None
        if active is None
        else serializers.Serializer.to_representation(company, active),
        "companies": [
            serializers.Serializer.to_representation(company, item) for item in me["companies"]
        ],
    }


@pytest.mark.parametrize("companies", [0, 1, 3])
def test_me_reads_the_same_as_drf_would_write_it(companies: int) -> None:
    user = UserFactory(full_name="Tan Mei Ling “Mei”", email="mei@kopikakis.example")
    roles = [Role.OWNER, Role.FINANCE, Role.WAREHOUSE]
    for number in range(companies):
        MembershipFactory(
            company=CompanyFactory(legal_name=f"Kopi Kakis {number} Pte. Ltd."),
            user=user,
            role=roles[number],
        )
    with user_context(user):
        memberships = selectors.memberships_of(user=user)
    me = {
        "user": user,
        "active_company": memberships[0] if memberships else None,
        "companies": memberships,
    }
    answer = MeOutput(me).data
    assert answer == generic_me(me)
    assert len(answer["companies"]) == companies
