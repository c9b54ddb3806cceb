"""The topics the catalog publishes (see pasar/core/event_contracts.py)."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from pasar.core.event_contracts import declare


class ProductChanged(TypedDict):
    product: UUID
    name: str
    status: str


class ProductUpdated(ProductChanged):
    fields: list[str]


class VariantCreated(TypedDict):
    variant: UUID
    product: UUID
    sku: str


class VariantUpdated(TypedDict):
    variant: UUID
    product: UUID
    sku: str
    fields: list[str]


class VariantDeleted(TypedDict):
    variant: UUID
    sku: str


class CatalogImported(TypedDict):
    job: UUID
    rows: int
    variants_created: int
    variants_updated: int
    products_created: int


PRODUCT_CREATED = declare("product.created", ProductChanged, description="A product was added.")
PRODUCT_UPDATED = declare(
    "product.updated", ProductUpdated, description="A product's details changed (`fields`)."
)
PRODUCT_DELETED = declare(
    "product.deleted", ProductChanged, description="A product and its variants were deleted."
)
VARIANT_CREATED = declare("variant.created", VariantCreated, description="A variant was added.")
VARIANT_UPDATED = declare(
    "variant.updated", VariantUpdated, description="A variant's SKU, price, cost... changed."
)
VARIANT_DELETED = declare("variant.deleted", VariantDeleted, description="A variant was deleted.")
CATALOG_IMPORTED = declare(
    "catalog.imported", CatalogImported, description="A catalog CSV import finished."
)
