"""What a company sells: a category tree, products, their variants (the sellable SKUs), images,
and the CSV import jobs that fill them.

A variant is the unit everything else refers to: stock levels, reservations and order lines
point at `catalog.Variant`. Its field names (`sku`, `barcode`, `price`, `cost`, `product`,
`options`) are a contract with those contexts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from pasar.core.money import cost_field, money_field
from pasar.core.tenant import PublicIdMixin, TenantModel

# Search uses the "simple" text search dictionary: product names mix English, Malay and
# Chinese romanisations, and English stemming would mangle "kopi" or "teh" as readily as it
# helps. The search index (migration 0002) is built with the same one.
SEARCH_CONFIG = "simple"


class TaxCode(models.TextChoices):
    """The supply codes a product can carry (PINT-SG GST categories, see docs/catalog.md).

    The rate itself (9% since 1 Jan 2024) is chosen by the GST context by time of supply; a
    product only says which kind of supply it is.
    """

    STANDARD_RATED = "SR", "Standard-rated"
    ZERO_RATED = "ZR", "Zero-rated"
    EXEMPT_REG33 = "ES33", "Exempt (Regulation 33)"
    EXEMPT_NON_REG33 = "ESN33", "Exempt (not Regulation 33)"


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class VariantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


def _in_choices(field: str, choices: type[models.TextChoices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


class Category(PublicIdMixin, TenantModel):
    """A node in the company's category tree. Cycles are refused by `category_move`."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "name"]
        verbose_name_plural = "categories"
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "slug"], name="category_slug_per_company"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "parent"], name="category_company_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(PublicIdMixin, TenantModel):
    """What a customer sees as one item; it is sold through one or more variants."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="products"
    )
    status = models.CharField(
        max_length=10, choices=ProductStatus.choices, default=ProductStatus.DRAFT
    )
    tax_code = models.CharField(
        max_length=8, choices=TaxCode.choices, default=TaxCode.STANDARD_RATED
    )
    # IRAS requires prices quoted to consumers to include GST, so that is the default; a B2B
    # seller may keep prices before GST and say so here.
    price_includes_gst = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict, blank=True)
    weight_g = models.PositiveIntegerField(null=True, blank=True)
    length_mm = models.PositiveIntegerField(null=True, blank=True)
    width_mm = models.PositiveIntegerField(null=True, blank=True)
    height_mm = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=_in_choices("status", ProductStatus), name="product_status_known"
            ),
            models.CheckConstraint(
                condition=_in_choices("tax_code", TaxCode), name="product_tax_code_known"
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "status", "name"], name="product_company_status"),
            models.Index(fields=["company", "category"], name="product_company_category"),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(PublicIdMixin, TenantModel):
    """One sellable SKU of a product, e.g. the large black T-shirt."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64)
    barcode = models.CharField(
        max_length=13, blank=True, help_text="EAN-13 or UPC-A, check digit verified."
    )
    options = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "L"}')
    price = money_field()
    cost = cost_field(default=0)
    status = models.CharField(
        max_length=10, choices=VariantStatus.choices, default=VariantStatus.ACTIVE
    )
    position = models.PositiveIntegerField(default=0)
    # Product name, option values, SKU and barcode in one text, kept current by the catalog
    # services. A trigger copies it into the search index (see migration 0002 and
    # docs/catalog.md), so one index answers a search without joining the product.
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["product_id", "position", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["company", "sku"], name="variant_sku_per_company"),
            models.UniqueConstraint(
                fields=["company", "barcode"],
                condition=~Q(barcode=""),
                name="variant_barcode_per_company",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="variant_cost_not_negative"),
            models.CheckConstraint(condition=~Q(sku=""), name="variant_sku_not_blank"),
            models.CheckConstraint(
                condition=Q(barcode="") | Q(barcode__regex=r"^([0-9]{12}|[0-9]{13})$"),
                name="variant_barcode_digits",
            ),
            models.CheckConstraint(
                condition=_in_choices("status", VariantStatus), name="variant_status_known"
            ),
        ]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "product"], name="variant_company_product"),
        ]

    def __str__(self) -> str:
        return self.sku


def image_upload_to(instance: ProductImage, filename: str) -> str:
    return f"catalog/{instance.company_id}/images/{instance.public_id}/{filename}"


class ProductImage(PublicIdMixin, TenantModel):
    """A product photo with its thumbnails; images show in `position` order."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    variant = models.ForeignKey(
        Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="images"
    )
    original = models.ImageField(upload_to=image_upload_to, max_length=300)
    thumbnail_large = models.ImageField(upload_to=image_upload_to, max_length=300, blank=True)
    thumbnail_small = models.ImageField(upload_to=image_upload_to, max_length=300, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["position", "id"]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "product", "position"], name="image_company_product"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} #{self.position}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Imported"
    FAILED = "failed", "Not imported"


def import_upload_to(instance: ImportJob, filename: str) -> str:
    return f"catalog/{instance.company_id}/imports/{instance.public_id}.csv"


class ImportJob(PublicIdMixin, TenantModel):
    """One CSV import: the uploaded file, its progress and, if it failed, the row errors."""

    source = models.FileField(upload_to=import_upload_to, max_length=300)
    filename = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["company", "-created_at"], name="importjob_company_created"),
        ]

    def __str__(self) -> str:
        return f"{self.filename or 'import'} ({self.status})"
