"""Test data. Tenant rows are created inside their company's tenant context, as the app does."""

from __future__ import annotations

import itertools
from typing import Any

import factory
from django.utils import timezone
from stdnum.sg import uen as stdnum_uen

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Location
from pasar.tenancy.models import Company, Membership, Role, User

PASSWORD = "correct-horse-battery"
_uen_serial = itertools.count(10000)


def valid_uen() -> str:
    """A fresh local-company UEN (yyyynnnnnX) with a correct check letter."""
    body = f"2019{next(_uen_serial) % 100000:05d}"
    return body + stdnum_uen.calc_local_company_check_digit(body + "0")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    # An established account: its email was confirmed long ago. Tests of the unconfirmed
    # state pass email_verified_at=None.
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    legal_name = factory.Sequence(lambda n: f"Company {n} Pte. Ltd.")
    uen = factory.LazyFunction(valid_uen)
    shop_slug = factory.Sequence(lambda n: f"shop-{n}")


class TenantFactory(factory.django.DjangoModelFactory):
    """Creates the row inside its company's context, so RLS lets it in."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        company = kwargs["company"]
        with tenant_context(company):
            return super()._create(model_class, *args, **kwargs)


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class LocationFactory(TenantFactory):
    class Meta:
        model = Location

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Outlet {n}")
