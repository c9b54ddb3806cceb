"""Public ids are unique within a company: every unique constraint of a tenant table starts
with company_id (the scale-out plan distributes tables by company). Users and companies, which
belong to no company, keep theirs unique outright."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import UniqueConstraint

from pasar.core.tenant import PublicIdMixin, TenantModel, tenant_context
from pasar.inventory.models import Location
from pasar.tenancy.models import Company, User
from tests.factories import LocationFactory


def test_every_company_row_is_unique_by_company_and_public_id() -> None:
    models = [
        model
        for model in apps.get_models()
        if issubclass(model, PublicIdMixin) and issubclass(model, TenantModel)
    ]
    assert len(models) >= 20
    for model in models:
        assert not model._meta.get_field("public_id").unique, model
        assert any(
            isinstance(constraint, UniqueConstraint)
            and tuple(constraint.fields) == ("company", "public_id")
            for constraint in model._meta.constraints
        ), model
    assert User._meta.get_field("public_id").unique
    assert Company._meta.get_field("public_id").unique


@pytest.mark.django_db
def test_the_database_refuses_a_public_id_twice_in_one_company_only(company, other_company) -> None:
    mine = LocationFactory(company=company, name="Jurong")
    with tenant_context(other_company):
        Location.objects.create(company=other_company, name="Woodlands", public_id=mine.public_id)
    with tenant_context(company), pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.create(company=company, name="Tampines", public_id=mine.public_id)
