from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from PIL import Image

from pasar.catalog import rules, services
from pasar.catalog.models import Category, Product, ProductImage, TaxCode, Variant
from pasar.core.errors import Conflict, DomainError
from pasar.core.models import AuditEntry, OutboxEvent
from pasar.core.tenant import tenant_context
from tests.catalog.helpers import ean13, product

pytestmark = pytest.mark.django_db


def test_product_defaults_to_standard_rated_and_gst_inclusive_prices(company) -> None:
    tee = product(company, "Batik Tee", {"sku": "TEE-M", "price": "29.90"})
    assert tee.tax_code == TaxCode.STANDARD_RATED
    assert tee.price_includes_gst is True
    assert tee.status == "draft"


def test_product_is_created_with_variants_search_text_audit_and_event(company) -> None:
    tee = product(
        company,
        "Batik Tee",
        {"sku": "TEE-M-BLK", "price": "29.90", "options": {"Size": "M", "colour": "Black"}},
        {"sku": "TEE-L-BLK", "price": Decimal("31.90"), "barcode": ean13("888000000001")},
    )
    with tenant_context(company):
        variants = list(Variant.objects.filter(product=tee).order_by("position"))
        assert [v.sku for v in variants] == ["TEE-M-BLK", "TEE-L-BLK"]
        assert variants[0].options == {"size": "M", "colour": "Black"}
        assert variants[0].price == Decimal("29.90")
        assert variants[0].search_text == "Batik Tee M Black TEE-M-BLK"
        assert variants[1].search_text.endswith(ean13("888000000001"))
        assert AuditEntry.objects.filter(action="product.created").count() == 1
        assert OutboxEvent.objects.filter(topic="product.created").count() == 1
        assert OutboxEvent.objects.filter(topic="variant.created").count() == 2


def test_a_bad_variant_refuses_the_whole_product(company) -> None:
    with pytest.raises(DomainError) as refused:
        product(
            company,
            "Kaya Jar",
            {"sku": "KAYA-S", "price": "6.50"},
            {"sku": "KAYA-L", "price": "9.50", "barcode": "8880000000019"},
        )
    assert refused.value.code == "invalid_barcode"
    assert refused.value.details[0]["field"] == "variants.1.barcode"
    with tenant_context(company):
        assert not Product.objects.exists()
        assert not Variant.objects.exists()


def test_sku_is_unique_per_company_only(company, other_company) -> None:
    product(company, "Kopi", {"sku": "KOPI-1", "price": "1.80"})
    with pytest.raises(Conflict) as taken:
        product(company, "Kopi O", {"sku": "KOPI-1", "price": "1.60"})
    assert taken.value.code == "sku_taken"
    product(other_company, "Kopi", {"sku": "KOPI-1", "price": "2.00"})


def test_barcode_is_unique_per_company(company) -> None:
    code = ean13("955000000001")
    product(company, "Milo Tin", {"sku": "MILO-1", "price": "12.00", "barcode": code})
    with pytest.raises(Conflict) as taken:
        product(company, "Milo Packet", {"sku": "MILO-2", "price": "1.00", "barcode": code})
    assert taken.value.code == "barcode_taken"


@pytest.mark.parametrize(
    ("price", "code"),
    [("-1", "negative"), ("4.555", "too_precise"), ("abc", "not_a_number"), (4.5, "invalid")],
)
def test_bad_prices_are_refused_with_a_reason(company, price, code) -> None:
    with pytest.raises(DomainError) as refused:
        product(company, "Teh", {"sku": "TEH", "price": price})
    assert refused.value.code == code
    assert refused.value.status == 400


def test_database_refuses_a_negative_price_even_past_the_services(company) -> None:
    tea = product(company, "Teh", {"sku": "TEH", "price": "1.50"})
    with tenant_context(company), pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.filter(product=tea).update(price=Decimal("-0.01"))


def test_active_product_needs_an_active_variant(company) -> None:
    with pytest.raises(DomainError) as refused:
        services.product_create(company=company, name="Empty", status="active")
    assert refused.value.code == "no_active_variant"
    draft = services.product_create(company=company, name="Empty")
    with pytest.raises(DomainError):
        services.product_update(product=draft, status="active")
    services.variant_create(product=draft, sku="EMPTY-1", price="1.00")
    assert services.product_update(product=draft, status="active").status == "active"


def test_renaming_a_product_updates_its_variants_search_text(company) -> None:
    latte = product(company, "Latte", {"sku": "LAT-1", "price": "5.00"})
    services.product_update(product=latte, name="Caffe Latte")
    with tenant_context(company):
        assert Variant.objects.get(sku="LAT-1").search_text == "Caffe Latte LAT-1"
        entry = AuditEntry.objects.get(action="product.updated")
        assert entry.changes == {"name": ["Latte", "Caffe Latte"]}


def test_variant_update_changes_price_and_refuses_unknown_fields(company) -> None:
    latte = product(company, "Latte", {"sku": "LAT-1", "price": "5.00"})
    with tenant_context(company):
        variant = Variant.objects.get(product=latte)
    updated = services.variant_update(variant=variant, price="5.50", cost="2.1234")
    assert updated.price == Decimal("5.50")
    assert updated.cost == Decimal("2.1234")
    with pytest.raises(DomainError) as refused:
        services.variant_update(variant=variant, company=None)
    assert refused.value.code == "read_only"


def test_category_cannot_move_under_its_own_subtree(company) -> None:
    drinks = services.category_create(company=company, name="Drinks")
    coffee = services.category_create(company=company, name="Coffee", parent=drinks)
    beans = services.category_create(company=company, name="Beans", parent=coffee)
    with pytest.raises(DomainError) as refused:
        services.category_update(category=drinks, parent=beans)
    assert refused.value.code == "category_cycle"
    with pytest.raises(DomainError):
        services.category_update(category=drinks, parent=drinks)
    services.category_update(category=beans, parent=drinks)
    with tenant_context(company):
        assert Category.objects.get(pk=beans.pk).parent_id == drinks.pk


def test_category_slugs_are_numbered_within_a_company(company, other_company) -> None:
    first = services.category_create(company=company, name="Coffee")
    drinks = services.category_create(company=company, name="Drinks")
    second = services.category_create(company=company, name="Coffee", parent=drinks)
    elsewhere = services.category_create(company=other_company, name="Coffee")
    assert (first.slug, second.slug, elsewhere.slug) == ("coffee", "coffee-2", "coffee")
    with pytest.raises(Conflict) as taken:
        services.category_update(category=second, slug="coffee")
    assert taken.value.code == "slug_taken"


def test_another_companys_category_cannot_be_a_parent(company, other_company) -> None:
    theirs = services.category_create(company=other_company, name="Theirs")
    with pytest.raises(DomainError) as refused:
        services.category_create(company=company, name="Mine", parent=theirs)
    assert refused.value.details[0]["field"] == "parent"


def test_category_path_is_found_case_insensitively_or_created(company) -> None:
    coffee = services.category_path_ensure(company=company, path=["Drinks", "Coffee"])
    again = services.category_path_ensure(company=company, path=["drinks", "COFFEE"])
    assert again.pk == coffee.pk
    with tenant_context(company):
        assert Category.objects.count() == 2
        categories = {c.pk: c for c in Category.objects.all()}
    assert rules.category_path_text(coffee, categories) == "Drinks > Coffee"


def test_category_with_children_cannot_be_deleted(company) -> None:
    drinks = services.category_create(company=company, name="Drinks")
    services.category_create(company=company, name="Coffee", parent=drinks)
    with pytest.raises(Conflict):
        services.category_delete(category=drinks)


def _png(width: int, height: int) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def test_image_upload_stores_original_and_two_webp_thumbnails(company) -> None:
    tee = product(company, "Batik Tee")
    image = services.product_image_add(product=tee, upload=_png(1200, 800), alt_text="Front")
    assert (image.width, image.height, image.position) == (1200, 800, 0)
    with Image.open(image.thumbnail_large.open("rb")) as large:
        assert large.format == "WEBP"
        assert large.size == (400, 267)
    with Image.open(image.thumbnail_small.open("rb")) as small:
        assert small.size == (100, 67)
    assert image.original.storage.exists(image.original.name)
    second = services.product_image_add(product=tee, upload=_png(50, 50))
    assert second.position == 1


def test_a_file_that_is_not_an_image_is_refused(company) -> None:
    tee = product(company, "Batik Tee")
    fake = SimpleUploadedFile("photo.png", b"not really a png", content_type="image/png")
    with pytest.raises(DomainError) as refused:
        services.product_image_add(product=tee, upload=fake)
    assert refused.value.code == "invalid_image"
    with tenant_context(company):
        assert not ProductImage.objects.exists()


def test_deleting_a_product_removes_its_variants(company) -> None:
    tee = product(company, "Batik Tee", {"sku": "TEE-1", "price": "10"})
    services.product_delete(product=tee)
    with tenant_context(company):
        assert not Variant.objects.exists()
        assert OutboxEvent.objects.filter(topic="product.deleted").exists()
