"""Sets up the benchmark's shop through the app's own services and writes the owner's JWT.

Run against the freshly migrated benchmark database:
`python -m bench.prepare <token file>`. The access token carries the company claim, so
`GET /api/v1/me` runs the full tenant path: JWT, membership check, tenant context, RLS.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import django

OWNER_EMAIL = "owner@benchkopi.example"
COMPANY_NAME = "Bench Kopi Pte. Ltd."
COMPANY_UEN = "202400042R"  # a well-formed local-company UEN with a correct check letter
SHOP_SLUG = "bench-kopi"


def stocked_sku(*, sku: str, units: int, location_name: str) -> int:
    """A sellable SKU of the benchmark's shop with `units` at the location of that name
    (created when missing), and a web channel to sell it through; returns the level's id."""
    from decimal import Decimal

    from pasar.catalog.models import ProductStatus, Variant
    from pasar.catalog.services import product_create
    from pasar.core.tenant import tenant_context
    from pasar.inventory.models import Channel, ChannelKind, Location, LocationKind, StockLevel
    from pasar.inventory.services import channel_create, location_create, stock_receive
    from pasar.tenancy.models import Company

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    with tenant_context(company):
        location = Location.objects.filter(name=location_name).first()
        has_web = Channel.objects.filter(kind=ChannelKind.WEB).exists()
    if location is None:
        location = location_create(company=company, name=location_name, kind=LocationKind.WAREHOUSE)
    if not has_web:
        channel_create(company=company, kind=ChannelKind.WEB)
    product_create(
        company=company,
        name=f"Bench {sku}",
        status=ProductStatus.ACTIVE,
        variants=[{"sku": sku, "price": "9.90", "cost": "3.0000"}],
    )
    with tenant_context(company):
        variant = Variant.objects.get(sku=sku)
    stock_receive(
        company=company,
        variant=variant,
        location=location,
        quantity=units,
        unit_cost=Decimal("3.0000"),
        source_type="bench",
    )
    with tenant_context(company):
        return StockLevel.objects.get(variant=variant, location=location).pk


def main(token_file: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()

    from pasar.tenancy.auth import tokens_for
    from pasar.tenancy.services import company_onboard, user_register

    owner = user_register(
        email=OWNER_EMAIL, password=secrets.token_urlsafe(24), full_name="Bench Owner"
    )
    company = company_onboard(
        owner=owner, legal_name=COMPANY_NAME, uen=COMPANY_UEN, shop_slug=SHOP_SLUG
    )
    token_file.write_text(tokens_for(user=owner, company=company)["access"])
    token_file.chmod(0o600)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.prepare <token file>")
    main(Path(sys.argv[1]))
