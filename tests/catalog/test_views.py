"""The product pages of the back office, through Django's test client, role by role."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from pasar.catalog.models import ImportJob, Product, ProductImage, Variant
from pasar.core.tenant import tenant_context
from pasar.tenancy.models import Company, Role, User
from tests.catalog.helpers import ean13, product
from tests.conftest import authenticated_client, member
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.fixture
def latte(company: Company) -> Product:
    return product(
        company,
        "Iced Latte",
        {"sku": "LAT-12", "price": Decimal("5.50"), "options": {"size": "12oz"}},
        {"sku": "LAT-16", "price": Decimal("6.50"), "options": {"size": "16oz"}},
    )


def png_upload() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (11, 110, 79)).save(buffer, format="PNG")
    return SimpleUploadedFile("latte.png", buffer.getvalue(), content_type="image/png")


# -- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_look_at_the_products(company: Company, latte: Product, role: str) -> None:
    client = signed_in(member(company, role))
    assert client.get(reverse("catalog:product_list")).status_code == 200
    detail = client.get(reverse("catalog:product_detail", args=[latte.public_id]))
    assert detail.status_code == 200
    assert "LAT-16" in page_text(detail)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OWNER, True),
        (Role.ADMIN, True),
        (Role.WAREHOUSE, True),
        (Role.SALES, False),
        (Role.FINANCE, False),
    ],
)
def test_only_catalog_managers_may_change_products(
    company: Company, latte: Product, role: str, allowed: bool
) -> None:
    client = signed_in(member(company, role))
    response = client.post(
        reverse("catalog:product_update", args=[latte.public_id]),
        {"name": "Iced Latte Grande", "status": "draft", "tax_code": "SR"},
    )
    assert response.status_code == (302 if allowed else 403)
    for name in ("catalog:product_create", "catalog:import_start"):
        assert client.get(reverse(name)).status_code == (200 if allowed else 403)
    with tenant_context(company):
        assert Product.objects.get(pk=latte.pk).name == (
            "Iced Latte Grande" if allowed else "Iced Latte"
        )


def test_a_sales_person_sees_no_edit_forms(company: Company, latte: Product) -> None:
    text = page_text(
        signed_in(member(company, Role.SALES)).get(
            reverse("catalog:product_detail", args=[latte.public_id])
        )
    )
    assert "Save details" not in text
    assert "Add variant" not in text
    assert "Add a product" not in page_text(
        signed_in(member(company, Role.SALES)).get(reverse("catalog:product_list"))
    )


def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    response = Client().get(reverse("catalog:product_list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_another_companys_product_is_not_found(company: Company, latte: Product) -> None:
    stranger = CompanyFactory()
    client = signed_in(member(stranger, Role.OWNER))
    assert client.get(reverse("catalog:product_detail", args=[latte.public_id])).status_code == 404


# -- list, search and filters ---------------------------------------------------------------


def test_the_list_is_empty_with_a_way_forward(company: Company) -> None:
    text = page_text(signed_in(member(company, Role.OWNER)).get(reverse("catalog:product_list")))
    assert "No products yet" in text
    assert reverse("catalog:import_start") in text


def test_search_finds_products_by_name_sku_and_barcode(company: Company, latte: Product) -> None:
    product(
        company, "Kaya Toast", {"sku": "TOAST-1", "price": "2.80", "barcode": ean13("888123400001")}
    )
    client = signed_in(member(company, Role.SALES))
    url = reverse("catalog:product_list")

    by_word = page_text(client.get(url, {"q": "iced lat"}))
    assert "Iced Latte" in by_word
    assert "Kaya Toast" not in by_word
    assert "Kaya Toast" in page_text(client.get(url, {"q": ean13("888123400001")}))
    assert "LAT-16" in page_text(client.get(url, {"q": "LAT-16"}))
    nothing = page_text(client.get(url, {"q": "durian"}))
    assert "No products match" in nothing


def test_the_status_filter_and_pages(company: Company) -> None:
    for number in range(30):
        product(company, f"Mug {number:02d}", {"sku": f"MUG-{number:02d}", "price": "12.00"})
    product(company, "Old Tote", {"sku": "TOTE-OLD", "price": "9.00"}, status="archived")
    client = signed_in(member(company, Role.OWNER))
    url = reverse("catalog:product_list")

    first = client.get(url)
    assert "Page 1 of 2" in page_text(first)
    archived = page_text(client.get(url, {"status": "archived"}))
    assert "Old Tote" in archived
    assert "Mug 00" not in archived


# -- changing products ----------------------------------------------------------------------


def test_a_new_product_starts_as_a_draft_with_its_first_variant(company: Company) -> None:
    client = signed_in(member(company, Role.WAREHOUSE))
    response = client.post(
        reverse("catalog:product_create"),
        {
            "name": "Enamel Mug",
            "tax_code": "SR",
            "price_includes_gst": "on",
            "sku": "MUG-ENA-WHI",
            "price": "16.90",
            "cost": "6.20",
            "barcode": ean13("888123400002"),
            "options": "colour=White",
        },
    )
    assert response.status_code == 302
    with tenant_context(company):
        variant = Variant.objects.select_related("product").get(sku="MUG-ENA-WHI")
    assert variant.product.status == "draft"
    assert variant.options == {"colour": "White"}
    assert variant.price == Decimal("16.90")
    assert response["Location"] == reverse(
        "catalog:product_detail", args=[variant.product.public_id]
    )


def test_a_bad_barcode_is_explained_next_to_the_field(company: Company) -> None:
    client = signed_in(member(company, Role.OWNER))
    response = client.post(
        reverse("catalog:product_create"),
        {
            "name": "Mug",
            "tax_code": "SR",
            "sku": "MUG-1",
            "price": "9.90",
            "barcode": "8881234000011",
        },
    )
    assert response.status_code == 400
    assert "check digit" in page_text(response).lower()
    with tenant_context(company):
        assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("price", "says"),
    [("28,50", "type 28.50"), ("1,23,456", "groups of three")],
)
def test_a_price_with_a_decimal_comma_is_refused_saying_what_was_understood(
    company: Company, price: str, says: str
) -> None:
    # Taken as a thousands separator, "28,50" was once saved as S$2850.00.
    client = signed_in(member(company, Role.OWNER))
    response = client.post(
        reverse("catalog:product_create"),
        {"name": "Kopi Beans", "tax_code": "SR", "sku": "BEANS-1", "price": price},
    )
    assert response.status_code == 400
    assert says in page_text(response)
    with tenant_context(company):
        assert not Product.objects.exists()


def test_a_price_with_thousands_separators_is_read_as_typed(company: Company) -> None:
    client = signed_in(member(company, Role.OWNER))
    response = client.post(
        reverse("catalog:product_create"),
        {"name": "Espresso Machine", "tax_code": "SR", "sku": "MACH-1", "price": "S$1,234.50"},
    )
    assert response.status_code == 302
    with tenant_context(company):
        assert Variant.objects.get(sku="MACH-1").price == Decimal("1234.50")


def test_variants_are_added_and_edited(company: Company, latte: Product) -> None:
    client = signed_in(member(company, Role.ADMIN))
    added = client.post(
        reverse("catalog:variant_create", args=[latte.public_id]),
        {"sku": "LAT-20", "price": "7.50", "options": "size=20oz", "status": "active"},
    )
    assert added.status_code == 302
    taken = client.post(
        reverse("catalog:variant_create", args=[latte.public_id]),
        {"sku": "LAT-20", "price": "7.50", "status": "active"},
    )
    assert taken.status_code == 400
    assert "already has SKU" in page_text(taken)

    with tenant_context(company):
        variant = Variant.objects.get(sku="LAT-20")
    edit_url = reverse("catalog:variant_edit", args=[variant.public_id])
    assert "size=20oz" in page_text(client.get(edit_url))
    saved = client.post(
        edit_url,
        {"sku": "LAT-20", "price": "7.80", "cost": "", "options": "size=20oz", "status": "active"},
    )
    assert saved.status_code == 302
    with tenant_context(company):
        assert Variant.objects.get(pk=variant.pk).price == Decimal("7.80")
    too_precise = client.post(edit_url, {"sku": "LAT-20", "price": "7.805", "status": "active"})
    assert too_precise.status_code == 400


def test_a_photo_upload_shows_its_thumbnail(company: Company, latte: Product) -> None:
    client = signed_in(member(company, Role.WAREHOUSE))
    response = client.post(
        reverse("catalog:image_upload", args=[latte.public_id]),
        {"image": png_upload(), "alt_text": "Iced latte in a glass"},
    )
    assert response.status_code == 302
    with tenant_context(company):
        image = ProductImage.objects.get(product=latte)
    detail = page_text(client.get(reverse("catalog:product_detail", args=[latte.public_id])))
    thumbnail_url = reverse("catalog:image_file", args=[image.public_id, "large"])
    assert thumbnail_url in detail
    assert 'alt="Iced latte in a glass"' in detail
    thumbnail = client.get(thumbnail_url)
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/webp"
    picture = Image.open(io.BytesIO(b"".join(thumbnail.streaming_content)))
    assert max(picture.size) <= 400
    assert (
        client.get(reverse("catalog:image_file", args=[image.public_id, "huge"])).status_code == 404
    )


def test_a_file_that_is_not_an_image_is_refused(company: Company, latte: Product) -> None:
    response = signed_in(member(company, Role.OWNER)).post(
        reverse("catalog:image_upload", args=[latte.public_id]),
        {"image": SimpleUploadedFile("menu.png", b"not a picture", content_type="image/png")},
    )
    assert response.status_code == 400
    assert "not an image we can read" in page_text(response)


# -- CSV import and export ------------------------------------------------------------------

GOOD_CSV = (
    "sku,product_name,price,option:size,category\n"
    "BEAN-250,Kampong Blend,16.50,250g,Coffee > Beans\n"
    "BEAN-500,Kampong Blend,30.50,500g,Coffee > Beans\n"
)


def test_an_import_runs_and_its_page_shows_the_summary(
    company: Company, django_capture_on_commit_callbacks
) -> None:
    client = signed_in(member(company, Role.WAREHOUSE))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("catalog:import_start"),
            {"file": SimpleUploadedFile("beans.csv", GOOD_CSV.encode(), content_type="text/csv")},
        )
    assert response.status_code == 302
    with tenant_context(company):
        job = ImportJob.objects.get()
        assert Variant.objects.filter(sku__startswith="BEAN-").count() == 2
    assert response["Location"] == reverse("catalog:import_progress", args=[job.public_id])
    progress = page_text(client.get(response["Location"]))
    assert "Variants added" in progress
    assert 'value="100"' in progress
    assert "hx-trigger" not in progress, "a finished import stops polling"


def test_a_failed_import_lists_each_problem_by_row_and_column(
    company: Company, django_capture_on_commit_callbacks
) -> None:
    client = signed_in(member(company, Role.OWNER))
    bad = "sku,product_name,price\nA-1,Kopi,abc\nA-1,Kopi,2.00\n"
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("catalog:import_start"),
            {"file": SimpleUploadedFile("bad.csv", bad.encode(), content_type="text/csv")},
        )
    response = client.get(started["Location"])
    text = page_text(response)
    assert "Not imported" in text
    assert "Row 2, column price" in text
    assert '<td class="num" data-label="Row">2</td>' in text
    with tenant_context(company):
        assert not Variant.objects.exists()


def test_a_running_import_is_polled_every_second(company: Company) -> None:
    with tenant_context(company):
        job = ImportJob.objects.create(
            company=company,
            filename="big.csv",
            status="running",
            total_rows=400,
            processed_rows=100,
        )
    client = signed_in(member(company, Role.WAREHOUSE))
    url = reverse("catalog:import_progress", args=[job.public_id])
    text = page_text(client.get(url))
    assert 'hx-trigger="every 1s"' in text
    assert "100 of 400 rows" in text
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert page_text(fragment).lstrip().startswith("{#") is False
    assert "<html" not in page_text(fragment)
    assert 'value="25"' in page_text(fragment)


def test_a_non_csv_file_is_refused_on_the_form(company: Company) -> None:
    response = signed_in(member(company, Role.OWNER)).post(
        reverse("catalog:import_start"),
        {"file": SimpleUploadedFile("beans.xlsx", b"PK\x03\x04", content_type="application/zip")},
    )
    assert response.status_code == 400
    assert "Upload the catalog as a .csv file." in page_text(response)


def test_the_export_link_downloads_the_catalog(company: Company, latte: Product) -> None:
    client = signed_in(member(company, Role.SALES))
    page = page_text(client.get(reverse("catalog:product_list")))
    assert "Import or export" not in page  # sales may not import; the export is on that page
    response = signed_in(member(company, Role.OWNER)).get(reverse("api-catalog-export"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "LAT-12" in body


# -- prices below cost, and who sets prices ---------------------------------------------------


def _edit(client: Client, variant: Variant, **changes: str) -> Any:
    fields = {
        "sku": variant.sku,
        "price": str(variant.price),
        "cost": str(variant.cost),
        "barcode": variant.barcode,
        "options": "",
        "status": variant.status,
        **changes,
    }
    return client.post(reverse("catalog:variant_edit", args=[variant.public_id]), fields)


def _costed_variant(company: Company) -> Variant:
    made = product(company, "Enamel Mug", {"sku": "MUG-1", "price": "16.90", "cost": "6.98"})
    with tenant_context(company):
        return Variant.objects.get(product=made)


def test_a_price_below_cost_is_saved_only_once_confirmed(company: Company) -> None:
    variant = _costed_variant(company)
    client = signed_in(member(company, Role.OWNER))

    refused = _edit(client, variant, price="1.00")
    assert refused.status_code == 400
    text = page_text(refused)
    assert "below its cost of S$6.9800" in text
    assert 'type="checkbox" name="confirm_below_cost"' in text
    with tenant_context(company):
        assert Variant.objects.get(pk=variant.pk).price == Decimal("16.90")

    confirmed = _edit(client, variant, price="1.00", confirm_below_cost="on")
    assert confirmed.status_code == 302
    with tenant_context(company):
        assert Variant.objects.get(pk=variant.pk).price == Decimal("1.00")


def test_a_warehouse_user_edits_a_variant_but_not_its_selling_price(company: Company) -> None:
    variant = _costed_variant(company)
    client = signed_in(member(company, Role.WAREHOUSE))
    page = page_text(client.get(reverse("catalog:variant_edit", args=[variant.public_id])))
    assert "Only an owner or admin changes selling prices." in page

    response = _edit(client, variant, price="1.00", barcode=ean13("888123400009"))
    assert response.status_code == 302
    with tenant_context(company):
        saved = Variant.objects.get(pk=variant.pk)
    assert (saved.price, saved.barcode) == (Decimal("16.90"), ean13("888123400009"))


def test_the_api_accepts_a_price_below_cost_with_a_warning(company: Company, owner) -> None:
    variant = _costed_variant(company)
    client = authenticated_client(owner, company)
    response = client.patch(
        f"/api/v1/catalog/variants/{variant.public_id}", {"price": "1.00"}, format="json"
    )
    assert response.status_code == 200
    [warning] = response.json()["meta"]["warnings"]
    assert warning["code"] == "price_below_cost"
    assert warning["variant"] == str(variant.public_id)
    fine = client.patch(
        f"/api/v1/catalog/variants/{variant.public_id}", {"price": "19.90"}, format="json"
    )
    assert fine.json()["meta"] == {}


def test_the_api_refuses_a_price_change_from_a_role_that_may_not_set_prices(
    company: Company,
) -> None:
    variant = _costed_variant(company)
    client = authenticated_client(member(company, Role.WAREHOUSE), company)
    response = client.patch(
        f"/api/v1/catalog/variants/{variant.public_id}", {"price": "1.00"}, format="json"
    )
    assert response.status_code == 403
    with tenant_context(company):
        assert Variant.objects.get(pk=variant.pk).price == Decimal("16.90")
    barcode = client.patch(
        f"/api/v1/catalog/variants/{variant.public_id}",
        {"barcode": ean13("888123400009")},
        format="json",
    )
    assert barcode.status_code == 200


def test_a_product_form_shows_every_problem_at_once(company: Company) -> None:
    client = signed_in(member(company, Role.OWNER))
    response = client.post(
        reverse("catalog:product_create"),
        {
            "name": "Mug",
            "tax_code": "SR",
            "sku": "MUG-1",
            "price": "28,50",
            "cost": "-1",
            "barcode": "8881234000011",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"price", "cost", "barcode"} <= set(errors), errors
    with tenant_context(company):
        assert not Product.objects.exists()


def repeated_ids(html: str) -> list[str]:
    ids = re.findall(r'\sid="([^"]+)"', html)
    return sorted({element_id for element_id in ids if ids.count(element_id) > 1})


def test_the_product_page_names_every_element_once(
    company: Company, owner: User, latte: Product
) -> None:
    browser = signed_in(owner)
    page = page_text(browser.get(reverse("catalog:product_detail", args=[latte.public_id])))
    assert repeated_ids(page) == []
    assert 'id="id_status"' in page
    assert 'id="id_new_variant_status"' in page
    # A refused new variant comes back with its own ids too, and its values kept.
    refused = browser.post(
        reverse("catalog:variant_create", args=[latte.public_id]),
        {"sku": "", "price": "28,50", "status": "active"},
    )
    assert refused.status_code == 400
    assert repeated_ids(page_text(refused)) == []
