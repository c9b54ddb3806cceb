"""The product, variant and image outputs write their fields directly for speed; each must
answer exactly what DRF's generic serializer answers for the same declared fields."""

from __future__ import annotations

import io
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from PIL import Image
from rest_framework import serializers

from pasar.catalog import services
from pasar.catalog.api import ImageOutput, ProductOutput, VariantOutput
from pasar.catalog.models import Product, Variant
from pasar.core.tenant import tenant_context
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def generic(output: serializers.Serializer, instance: Any) -> dict[str, Any]:
    """What DRF's own Serializer.to_representation answers, nested outputs included."""
    answer = dict(serializers.Serializer.to_representation(output, instance))
    for name in ("variants", "images"):
        if name in answer:
            child = output.fields[name].child  # type: ignore[attr-defined]
            answer[name] = [generic(child, item) for item in getattr(instance, name).all()]
    return answer


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, format="PNG")
    return SimpleUploadedFile("cup.png", buffer.getvalue(), content_type="image/png")


def test_a_full_product_reads_the_same_as_drf_would_write_it(company) -> None:
    category = services.category_create(company=company, name="Drinks")
    product = services.product_create(
        company=company,
        name="Kopi “O” Kosong",
        description="Black, no sugar.\nServed hot.",
        category=category,
        attributes={"origin": "Sumatra", "roast": 3, "organic": True, "notes": None},
        weight_g=250,
        variants=[
            {"sku": "KOPI-R", "price": "1.80", "cost": "0.4567", "options": {"size": "Regular"}},
            {"sku": "KOPI-L", "price": "2.20", "cost": "0.6", "barcode": "4006381333931"},
        ],
    )
    with tenant_context(company):
        variant = Variant.objects.get(sku="KOPI-L")
    services.product_image_add(product=product, upload=png(), variant=variant, alt_text="A cup")
    services.product_image_add(product=product, upload=png())
    with tenant_context(company):
        loaded = Product.objects.prefetch_related("variants", "images").get(pk=product.pk)
        assert ProductOutput(loaded).data == generic(ProductOutput(), loaded)
        for image in loaded.images.all():
            assert ImageOutput(image).data == generic(ImageOutput(), image)


def test_a_bare_product_reads_the_same_as_drf_would_write_it(company) -> None:
    product = services.product_create(company=company, name="Plain", variants=[])
    with tenant_context(company):
        loaded = Product.objects.get(pk=product.pk)
        answer = ProductOutput(loaded).data
        assert answer == generic(ProductOutput(), loaded)
    assert answer["category"] is None
    assert answer["variants"] == answer["images"] == []


class VariantOutputMatchesDrf(TestCase):
    @settings(max_examples=40, deadline=None)
    @given(
        price=st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2),
        cost=st.decimals(min_value=0, max_value=Decimal("99999999.9999"), places=4),
        options=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=3),
        position=st.integers(min_value=0, max_value=10_000),
    )
    def test_any_variant_reads_the_same_as_drf_would_write_it(
        self, price: Decimal, cost: Decimal, options: dict[str, str], position: int
    ) -> None:
        now = timezone.now()
        variant = Variant(
            sku="ANY-1",
            barcode="",
            options=options,
            price=price,
            cost=cost,
            position=position,
            created_at=now,
            updated_at=now,
        )
        variant.company = CompanyFactory.build()
        assert VariantOutput(variant).data == generic(VariantOutput(), variant)


def test_a_product_list_page_reads_the_same_as_drf_would_write_each_product(
    company, owner_client
) -> None:
    """The list reads rows, not instances: every product on a page, with its category,
    variants (in position order) and images (one of a variant), as DRF writes the instance."""
    drinks = services.category_create(company=company, name="Drinks")
    services.product_create(
        company=company,
        name="Teh Tarik",
        category=drinks,
        attributes={"sweet": True, "level": 2},
        variants=[
            {
                "sku": "TEH-L",
                "price": "2.50",
                "cost": "1.1",
                "options": {"size": "L"},
                "position": 2,
            },
            {"sku": "TEH-R", "price": "1.90", "options": {"size": "R"}, "position": 1},
        ],
    )
    kopi = services.product_create(
        company=company,
        name="Kopi",
        length_mm=120,
        variants=[{"sku": "KOPI-1", "price": "1000000.00", "cost": "0.0001"}],
    )
    services.product_create(company=company, name="Bare", variants=[])
    with tenant_context(company):
        kopi_variant = Variant.objects.get(sku="KOPI-1")
    services.product_image_add(product=kopi, upload=png(), variant=kopi_variant, alt_text="Cup")
    services.product_image_add(product=kopi, upload=png())

    page = owner_client.get("/api/v1/catalog/products", {"per_page": 2}).json()
    rest = owner_client.get("/api/v1/catalog/products", {"per_page": 2, "page": 2}).json()
    listed = page["data"] + rest["data"]

    # API answers are written in UTC (ApiTimesInUtcMiddleware).
    with tenant_context(company), timezone.override(UTC):
        loaded = Product.objects.prefetch_related("variants", "images").order_by("name", "id")
        expected = [generic(ProductOutput(), product) for product in loaded]
    assert [item["name"] for item in listed] == ["Bare", "Kopi", "Teh Tarik"]
    assert listed == expected
    assert [variant["sku"] for variant in listed[2]["variants"]] == ["TEH-R", "TEH-L"]
    assert [image["variant"] for image in listed[1]["images"]] == [
        str(kopi_variant.public_id),
        None,
    ]


def test_product_list_filters_and_pages_as_before(company, owner_client) -> None:
    """The page's own statement filters, counts and pages as the ORM and Paginator did: a
    name's % and _ are literal, an unknown status is refused, a page past the last is 404."""
    drinks = services.category_create(company=company, name="Drinks")
    for number, (name, status, category) in enumerate(
        [
            ("100% Arabica", "active", drinks),
            ("1000 Arabica", "active", None),
            ("Kaya_Toast", "draft", None),
            ("KayaXToast", "active", drinks),
        ]
    ):
        sku = f"SKU-{number}"
        services.product_create(
            company=company,
            name=name,
            status=status,
            category=category,
            variants=[{"sku": sku, "price": "1.00"}],
        )
    url = "/api/v1/catalog/products"

    def names(**params: Any) -> list[str]:
        response = owner_client.get(url, params)
        assert response.status_code == 200, response.json()
        return [item["name"] for item in response.json()["data"]]

    assert names(name="0%") == ["100% Arabica"]
    assert names(name="a_t") == ["Kaya_Toast"]
    assert names(name="ARABICA") == ["100% Arabica", "1000 Arabica"]
    assert names(status="draft") == ["Kaya_Toast"]
    assert names(category=str(drinks.public_id)) == ["100% Arabica", "KayaXToast"]
    assert names(category=str(drinks.public_id), status="active", name="toast") == ["KayaXToast"]
    assert names(name="nothing like it") == []

    second = owner_client.get(url, {"per_page": 3, "page": 2}).json()
    with tenant_context(company):  # the model's own order, in the database's collation
        ordered = list(Product.objects.values_list("name", flat=True))
    assert [item["name"] for item in second["data"]] == ordered[3:]
    assert second["meta"]["pagination"] == {"page": 2, "per_page": 3, "total": 4, "pages": 2}
    last = owner_client.get(url, {"per_page": 3, "page": "last"}).json()
    assert last["meta"]["pagination"]["page"] == 2
    assert owner_client.get(url, {"per_page": 3, "page": 3}).status_code == 404
    assert owner_client.get(url, {"page": "x"}).status_code == 404
    assert owner_client.get(url, {"status": "gone"}).status_code == 400
    empty = owner_client.get(url, {"name": "zzz"}).json()
    assert empty["meta"]["pagination"] == {"page": 1, "per_page": 25, "total": 0, "pages": 1}
