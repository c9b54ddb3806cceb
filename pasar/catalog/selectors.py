"""Reads of the catalog: lists, search and the rows of an export. Each needs its company's
tenant context (the request's, or one the caller opens)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Func, Prefetch, QuerySet
from django.db.models.fields.files import FieldFile

from pasar.catalog import csv_io
from pasar.catalog.models import (
    SEARCH_CONFIG,
    Category,
    ImportJob,
    Product,
    ProductImage,
    Variant,
)
from pasar.catalog.services import category_path_text
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
            "category": category_path_text(category, categories),
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
