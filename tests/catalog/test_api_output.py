"""The product, variant and image outputs write their fields directly for speed; each must
answer exactly what DRF's generic serializer answers for the same declared fields."""

from __future__ import annotations

import io
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
