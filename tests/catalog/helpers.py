"""Building catalog test data through the services, as the app does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pasar.catalog import services
from pasar.catalog.models import Product
from pasar.catalog.rules import gtin_check_digit
from pasar.tenancy.models import Company


def ean13(body: str) -> str:
    """A valid EAN-13 from its first twelve digits."""
    return body + gtin_check_digit(body)


def product(company: Company, name: str, *variants: dict[str, Any], **fields: Any) -> Product:
    """A product with the given variants (sku and price at least); one default variant if none."""
    if not variants:
        variants = ({"sku": name.upper().replace(" ", "-")[:20], "price": Decimal("1.00")},)
    return services.product_create(company=company, name=name, variants=variants, **fields)
