"""Sellable things for stock tests, made straight through the catalog's models."""

from __future__ import annotations

from decimal import Decimal

import factory

from pasar.catalog.models import Product, ProductStatus, Variant
from pasar.inventory.models import Channel, ChannelKind
from tests.factories import CompanyFactory, TenantFactory


class ProductFactory(TenantFactory):
    class Meta:
        model = Product

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Kopi blend {n}")
    status = ProductStatus.ACTIVE  # on sale, so its variants can be reserved


class VariantFactory(TenantFactory):
    class Meta:
        model = Variant

    company = factory.SubFactory(CompanyFactory)
    product = factory.SubFactory(ProductFactory, company=factory.SelfAttribute("..company"))
    sku = factory.Sequence(lambda n: f"KOPI-{n:05d}")
    price = Decimal("12.90")


class ChannelFactory(TenantFactory):
    class Meta:
        model = Channel

    company = factory.SubFactory(CompanyFactory)
    kind = ChannelKind.WEB
