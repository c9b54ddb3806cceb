"""Reads of the catalog: lists, search and the rows of an export. Each needs its company's
tenant context (the request's, or one the caller opens)."""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Func, Prefetch, QuerySet
from django.db.models.fields.files import FieldFile

from pasar.catalog import csv_io, rules
from pasar.catalog.models import (
    SEARCH_CONFIG,
    Category,
    ImportJob,
    Product,
    ProductImage,
    Variant,
)
from pasar.core.db import rows
from pasar.tenancy.models import Company

SEARCH_MAX_LENGTH = 100
SEARCH_MAX_RESULTS = 100
WORD = re.compile(r"[^\W_]+")


def category_list(*, company: Company) -> QuerySet[Category]:
    return Category.objects.filter(company=company).select_related("parent")


def product_list(
    *,
    company: Company,
    status: str | None = None,
    category: Category | None = None,
    name_contains: str = "",
) -> QuerySet[Product]:
    """A company's products with their variants and images, for lists and detail pages."""
    products = (
        Product.objects.filter(company=company)
        .select_related("category")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("position", "pk")),
            # An image names its variant by public id: loaded with it, not one query per image.
            Prefetch(
                "images",
                queryset=ProductImage.objects.select_related("variant").order_by("position", "pk"),
            ),
        )
    )
    if status:
        products = products.filter(status=status)
    if category is not None:
        products = products.filter(category=category)
    if name_contains:
        products = products.filter(name__icontains=name_contains)
    return products


# A product list page reads its variants and images with these two statements, as tuples in
# the order the output wants: building a model instance per row and the ORM's prefetch cost
# more than the page's queries themselves. Row-level security applies as to any query.
PAGE_VARIANTS_SQL = """
SELECT product_id, public_id, sku, barcode, options, price, cost, status, position,
       created_at, updated_at
FROM catalog_variant
WHERE company_id = %s AND product_id = ANY(%s)
ORDER BY product_id, position, id
"""
PAGE_IMAGES_SQL = """
SELECT image.product_id, image.public_id, variant.public_id, image.width, image.height,
       image.alt_text, image.position
FROM catalog_productimage AS image
LEFT JOIN catalog_variant AS variant ON variant.id = image.variant_id
WHERE image.company_id = %s AND image.product_id = ANY(%s)
ORDER BY image.product_id, image.position, image.id
"""
PAGE_PRODUCTS_SQL = """
SELECT product.id, product.public_id, product.name, product.description, category.public_id,
       product.status, product.tax_code, product.price_includes_gst, product.attributes,
       product.weight_g, product.length_mm, product.width_mm, product.height_mm,
       product.created_at, product.updated_at, count(*) OVER ()
FROM catalog_product AS product
LEFT JOIN catalog_category AS category ON category.id = product.category_id
WHERE product.company_id = %(company)s
  AND (%(status)s::text IS NULL OR product.status = %(status)s)
  AND (%(category)s::bigint IS NULL OR product.category_id = %(category)s)
  AND (%(name)s::text IS NULL OR product.name ILIKE %(name)s)
ORDER BY product.name, product.id
LIMIT %(limit)s OFFSET %(offset)s
"""
ATTRIBUTES = 8  # the column of product.attributes in PAGE_PRODUCTS_SQL


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def product_page(
    *,
    company: Company,
    offset: int,
    limit: int,
    status: str | None = None,
    category: Category | None = None,
    name_contains: str = "",
) -> rows.CountedPage:
    """The products of `product_list`, in its order, for a Paginator expected to ask for the
    page at `offset`: tuples of (id, public_id, name, description, category's public_id,
    status, tax_code, price_includes_gst, attributes, weight_g, length_mm, width_mm,
    height_mm, created_at, updated_at). Their variants and images come from `product_parts`."""
    return rows.CountedPage(
        PAGE_PRODUCTS_SQL,
        {
            "company": company.pk,
            "status": status or None,
            "category": None if category is None else category.pk,
            "name": _like_pattern(name_contains) if name_contains else None,
        },
        offset=offset,
        limit=limit,
        # Django reads jsonb as text and decodes it itself, as the model field would here.
        decode={ATTRIBUTES: json.loads},
    )


@dataclass(frozen=True)
class ProductParts:
    """Variant and image rows by product id, each list in display order.

    A variant row: public_id, sku, barcode, options, price, cost, status, position, created_at,
    updated_at. An image row: public_id, the variant's public_id (or None), width, height,
    alt_text, position."""

    variants: dict[int, list[tuple[Any, ...]]]
    images: dict[int, list[tuple[Any, ...]]]


def product_parts(*, company: Company, product_ids: list[int]) -> ProductParts:
    """The variants and images of these products: one round trip, whatever their number."""
    parts = ProductParts(variants={}, images={})
    if not product_ids:
        return parts
    with connection.cursor() as cursor:
        # Both statements in one round trip.
        cursor.execute(f"{PAGE_VARIANTS_SQL}; {PAGE_IMAGES_SQL}", [company.pk, product_ids] * 2)
        for product_id, public_id, sku, barcode, options, *rest in cursor.fetchall():
            # Django reads jsonb as text and decodes it itself, as the model field would here.
            row = (public_id, sku, barcode, json.loads(options), *rest)
            parts.variants.setdefault(product_id, []).append(row)
        cursor.nextset()
        for product_id, *image in cursor.fetchall():
            parts.images.setdefault(product_id, []).append(tuple(image))
    return parts


def variant_list(*, company: Company) -> QuerySet[Variant]:
    """A company's variants with their products."""
    return Variant.objects.filter(company=company).select_related("product")


def image_list(*, company: Company) -> QuerySet[ProductImage]:
    return ProductImage.objects.filter(company=company)


def import_job_list(*, company: Company) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(company=company)


@dataclass(frozen=True)
class SearchHit:
    """A found variant and why: "exact" (its SKU or barcode), "words" (every word of the
    query, ranked by `score`) or "similar" (a near spelling, `score` its similarity)."""

    variant: Variant
    match: str
    score: float

    @property
    def exact_match(self) -> bool:
        return self.match == "exact"


def variant_search(*, company: Company, query: str, limit: int = 20) -> list[SearchHit]:
    """Sellable variants matching a query, best first.

    A variant matches on its product name, option values, SKU or barcode. An exact SKU or
    barcode comes first; then variants containing every word of the query, as words or
    prefixes ("capp", "iced lat"), by full-text rank. Only when nothing matched so, near
    spellings: each word of the query stands for the most similar words (by trigrams) that the
    company's variants use, so the typo "cappucino" finds Cappuccino. Archived
    variants and products are left out; drafts are in, because the back office searches for
    them too.

    The matching runs in the database function `catalog_variant_search` over the search
    index (migration 0002), for the company of the current tenant context.
    """
    text = " ".join(query.split())[:SEARCH_MAX_LENGTH]
    if not text:
        return []
    limit = max(1, min(limit, SEARCH_MAX_RESULTS))
    digits = text.replace(" ", "").replace("-", "")
    words = WORD.findall(text.lower())
    # Each word as a prefix, all words required: "iced lat" finds "Iced Latte".
    terms = " & ".join(f"{word}:*" for word in words) or None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT variant_id, match, score FROM catalog_variant_search("
            "%s, to_tsquery(%s::regconfig, %s), %s, %s, %s)",
            [
                text,
                SEARCH_CONFIG,
                terms,
                words or None,
                digits if digits.isdigit() else None,
                limit,
            ],
        )
        ranked = cursor.fetchall()
    variants = Variant.objects.filter(company=company).select_related("product")
    by_id = variants.in_bulk([variant_id for variant_id, _, _ in ranked])
    return [
        SearchHit(variant=by_id[variant_id], match=match, score=score)
        for variant_id, match, score in ranked
        if variant_id in by_id
    ]


def catalog_option_names(*, company: Company) -> list[str]:
    """Every option name the company's variants use, e.g. ["colour", "size"]."""
    keys = (
        Variant.objects.filter(company=company)
        .annotate(option_name=Func(F("options"), function="jsonb_object_keys"))
        .values_list("option_name", flat=True)
        .distinct()
        .order_by("option_name")
    )
    return list(keys)


def catalog_export_rows(*, company: Company, option_names: list[str]) -> Iterator[dict[str, Any]]:
    """One dict per variant, keyed by the CSV columns, grouped by product.

    Streams from a server-side cursor, so it must be consumed inside the tenant context.
    """
    categories = {category.pk: category for category in Category.objects.filter(company=company)}
    variants = (
        Variant.objects.filter(company=company)
        .select_related("product")
        .order_by("product__name", "product_id", "position", "pk")
    )
    for variant in variants.iterator(chunk_size=1000):
        product = variant.product
        category = categories.get(product.category_id) if product.category_id else None
        row: dict[str, Any] = {
            "sku": variant.sku,
            "product_name": product.name,
            "price": variant.price,
            "description": product.description,
            "category": rules.category_path_text(category, categories),
            "barcode": variant.barcode,
            "price_includes_gst": product.price_includes_gst,
            # 2.5000 exports as 2.5, 100.0000 as 100: what a person would type.
            "cost": format(variant.cost.normalize(), "f"),
            "tax_code": product.tax_code,
            "status": product.status,
            "variant_status": variant.status,
            "weight_g": product.weight_g,
            "length_mm": product.length_mm,
            "width_mm": product.width_mm,
            "height_mm": product.height_mm,
        }
        for name in option_names:
            row[csv_io.OPTION_PREFIX + name] = variant.options.get(name, "")
        yield row


# The sizes an image is served in, and the file field that holds each.
IMAGE_FILES = {"original": "original", "large": "thumbnail_large", "small": "thumbnail_small"}


@dataclass(frozen=True)
class ImageFile:
    file: FieldFile
    content_type: str


def image_file(*, company: Company, public_id: Any, size: str) -> ImageFile | None:
    """One size of a company's product image, or None when there is no such file."""
    if size not in IMAGE_FILES:
        return None
    try:
        image = ProductImage.objects.filter(company=company).get(public_id=public_id)
    except (ProductImage.DoesNotExist, ValidationError, ValueError):
        return None
    picture = getattr(image, IMAGE_FILES[size])
    if not picture.name:
        return None
    if size == "original":
        content_type = mimetypes.guess_type(picture.name)[0] or "application/octet-stream"
    else:
        content_type = "image/webp"
    return ImageFile(file=picture, content_type=content_type)


def barcode_with_check_digit(body: str) -> str:
    """A 12-digit EAN-13 body (or 11-digit UPC-A) completed with its check digit."""
    return body + rules.gtin_check_digit(body)
