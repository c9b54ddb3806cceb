from __future__ import annotations

import io
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from pasar.catalog.models import Category, ImportJob, Product, Variant
from pasar.core.tenant import tenant_context
from pasar.tenancy.models import Role
from tests.catalog.helpers import ean13, product
from tests.conftest import authenticated_client, member

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/catalog/products"


def new_product(**overrides):
    body = {
        "name": "Batik Tee",
        "status": "active",
        "variants": [
            {"sku": "TEE-M", "price": "29.90", "options": {"size": "M"}},
            {"sku": "TEE-L", "price": "31.90", "barcode": ean13("888000000001")},
        ],
    }
    body.update(overrides)
    return body


def test_create_product_with_variants(owner_client) -> None:
    response = owner_client.post(PRODUCTS, new_product(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "success"
    data = body["data"]
    assert data["tax_code"] == "SR"
    assert data["price_includes_gst"] is True
    assert [v["sku"] for v in data["variants"]] == ["TEE-M", "TEE-L"]
    assert data["variants"][0]["price"] == "29.90"
    assert data["variants"][0]["options"] == {"size": "M"}


def test_list_products_is_paginated_with_nested_variants(owner_client, company) -> None:
    product(company, "Kopi", {"sku": "KOPI", "price": "1.80"})
    product(company, "Teh", {"sku": "TEH", "price": "1.60"})
    body = owner_client.get(PRODUCTS, {"per_page": 1}).json()
    assert body["meta"]["pagination"]["total"] == 2
    assert body["data"][0]["name"] == "Kopi"
    assert body["data"][0]["variants"][0]["sku"] == "KOPI"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"tax_code": "GST9"}, "tax_code"),
        ({"variants": [{"sku": "X", "price": "1.005"}]}, "variants.0.price"),
        ({"variants": [{"sku": "X", "price": "-1"}]}, "variants.0.price"),
        (
            {"variants": [{"sku": "X", "price": "1", "barcode": "4006381333932"}]},
            "variants.0.barcode",
        ),
        ({"variants": [{"sku": "X", "price": "1", "size": "L"}]}, "variants.0.size"),
    ],
)
def test_bad_input_answers_400_and_writes_nothing(owner_client, company, change, field) -> None:
    response = owner_client.post(PRODUCTS, new_product(**change), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"][0]["field"] == field
    with tenant_context(company):
        assert not Product.objects.exists()
        assert not Variant.objects.exists()


def test_duplicate_sku_answers_409(owner_client, company) -> None:
    product(company, "Old Tee", {"sku": "TEE-M", "price": "10"})
    response = owner_client.post(PRODUCTS, new_product(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sku_taken"
    with tenant_context(company):
        assert Product.objects.count() == 1


def test_another_companys_product_is_not_found(owner_client, other_company) -> None:
    theirs = product(other_company, "Their Tee", {"sku": "THEIRS", "price": "10"})
    for method in ("get", "patch", "delete"):
        response = getattr(owner_client, method)(
            f"{PRODUCTS}/{theirs.public_id}", {}, format="json"
        )
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "not_found"
    assert owner_client.get(f"{PRODUCTS}/not-a-uuid").status_code == 404
    assert owner_client.get(f"{PRODUCTS}/{uuid.uuid4()}").status_code == 404
    with tenant_context(other_company):
        assert Product.objects.filter(pk=theirs.pk).exists()


def test_update_product_and_variant(owner_client, company) -> None:
    tee = product(company, "Tee", {"sku": "TEE", "price": "10"})
    response = owner_client.patch(
        f"{PRODUCTS}/{tee.public_id}", {"name": "Batik Tee", "tax_code": "ZR"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["tax_code"] == "ZR"
    variant_id = response.json()["data"]["variants"][0]["id"]
    response = owner_client.patch(
        f"/api/v1/catalog/variants/{variant_id}", {"price": "12.50"}, format="json"
    )
    assert response.json()["data"]["price"] == "12.50"


def test_add_variant_to_product(owner_client, company) -> None:
    tee = product(company, "Tee", {"sku": "TEE-S", "price": "10"})
    response = owner_client.post(
        f"{PRODUCTS}/{tee.public_id}/variants",
        {"sku": "TEE-XL", "price": "12", "options": {"size": "XL"}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["data"]["position"] == 1


def test_categories_crud_and_cycle_refused(owner_client) -> None:
    url = "/api/v1/catalog/categories"
    drinks = owner_client.post(url, {"name": "Drinks"}, format="json").json()["data"]
    coffee = owner_client.post(
        url, {"name": "Coffee", "parent": drinks["id"]}, format="json"
    ).json()["data"]
    assert coffee["parent"] == drinks["id"]
    response = owner_client.patch(f"{url}/{drinks['id']}", {"parent": coffee["id"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "category_cycle"
    response = owner_client.post(url, {"name": "Tea", "parent": str(uuid.uuid4())}, format="json")
    assert response.status_code == 400
    assert len(owner_client.get(url).json()["data"]) == 2


def test_sales_may_read_but_not_change_the_catalog(company) -> None:
    sales = authenticated_client(member(company, Role.SALES), company)
    assert sales.get(PRODUCTS).status_code == 200
    assert sales.post(PRODUCTS, new_product(), format="json").status_code == 403
    warehouse = authenticated_client(member(company, Role.WAREHOUSE), company)
    assert warehouse.post(PRODUCTS, new_product(), format="json").status_code == 201


def test_search_endpoint(owner_client, company) -> None:
    product(company, "Cappuccino", {"sku": "CAP-R", "price": "4.50"})
    body = owner_client.get("/api/v1/catalog/search", {"q": "cappucino"}).json()
    assert body["data"][0]["sku"] == "CAP-R"
    assert body["data"][0]["product_name"] == "Cappuccino"
    assert body["data"][0]["match"] == "similar"
    exact = owner_client.get("/api/v1/catalog/search", {"q": "cap-r"}).json()["data"][0]
    assert exact["match"] == "exact"
    assert owner_client.get("/api/v1/catalog/search", {"q": ""}).status_code == 400
    assert owner_client.get("/api/v1/catalog/search", {"q": "a", "limit": "x"}).status_code == 400


def test_image_upload(owner_client, company) -> None:
    tee = product(company, "Tee")
    buffer = io.BytesIO()
    Image.new("RGB", (800, 800), "navy").save(buffer, format="JPEG")
    upload = SimpleUploadedFile("tee.jpg", buffer.getvalue(), content_type="image/jpeg")
    response = owner_client.post(
        f"{PRODUCTS}/{tee.public_id}/images",
        {"image": upload, "alt_text": "Front"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["thumbnail_large"] == (f"/api/v1/catalog/images/{data['id']}/large")
    assert (
        owner_client.get(f"{PRODUCTS}/{tee.public_id}").json()["data"]["images"][0]["id"]
        == (data["id"])
    )
    image_url = f"/api/v1/catalog/images/{data['id']}"
    assert owner_client.delete(image_url).status_code == 204


CSV = "sku,product_name,category,price\nKOPI,Kopi,Drinks > Coffee,1.80\nTEH,Teh,Drinks > Tea,1.60\n"


def test_import_starts_runs_and_reports(owner_client, company, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("menu.csv", CSV.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/catalog/imports", {"file": upload}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    job_id = response.json()["data"]["id"]
    data = owner_client.get(f"/api/v1/catalog/imports/{job_id}").json()["data"]
    assert data["status"] == "succeeded"
    assert (data["total_rows"], data["processed_rows"], data["percent_done"]) == (2, 2, 100)
    with tenant_context(company):
        assert Category.objects.count() == 3


def test_failed_import_reports_row_errors(
    owner_client, company, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("menu.csv", (CSV + "MILO,Milo,Drinks,abc\n").encode())
    with django_capture_on_commit_callbacks(execute=True):
        job_id = owner_client.post(
            "/api/v1/catalog/imports", {"file": upload}, format="multipart"
        ).json()["data"]["id"]
    data = owner_client.get(f"/api/v1/catalog/imports/{job_id}").json()["data"]
    assert data["status"] == "failed"
    assert data["errors"][0]["message"] == "Row 4, column price: 'abc' is not a number."
    with tenant_context(company):
        assert not Variant.objects.exists()


def test_import_without_a_file_is_refused(owner_client, company) -> None:
    response = owner_client.post("/api/v1/catalog/imports", {}, format="multipart")
    assert response.status_code == 400
    with tenant_context(company):
        assert not ImportJob.objects.exists()


def test_export_streams_csv(owner_client, company) -> None:
    product(company, "Kopi", {"sku": "KOPI", "price": "1.80", "options": {"size": "S"}})
    response = owner_client.get("/api/v1/catalog/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = text.splitlines()
    assert header.startswith("sku,product_name,price,description,category,option:size,barcode")
    assert row.startswith("KOPI,Kopi,1.80,,,S,")


def test_export_is_for_members_only(api_client) -> None:
    assert api_client.get("/api/v1/catalog/export").status_code == 401


def _integers_and_paths(value: object, key: str = "") -> list[str]:
    """Every integer id and storage path in a response body."""
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in _integers_and_paths(item, name)]
    if isinstance(value, list):
        return [found for item in value for found in _integers_and_paths(item, key)]
    integer_id = key in {"id", "company", "company_id", "product", "variant"} and isinstance(
        value, int
    )
    storage_path = isinstance(value, str) and bool(
        "/media/" in value or re.search(r"catalog/\d+/", value)
    )
    return [f"{key}={value}"] if integer_id or storage_path else []


def test_image_urls_carry_public_ids_and_are_served(owner_client, company, other_company) -> None:
    tee = product(company, "Tee")
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "navy").save(buffer, format="PNG")
    upload = SimpleUploadedFile("tee.png", buffer.getvalue(), content_type="image/png")
    created = owner_client.post(
        f"{PRODUCTS}/{tee.public_id}/images", {"image": upload}, format="multipart"
    ).json()["data"]

    detail = owner_client.get(f"{PRODUCTS}/{tee.public_id}").json()
    listing = owner_client.get(PRODUCTS).json()
    for body in (created, detail, listing):
        assert _integers_and_paths(body) == []
    [image] = detail["data"]["images"]
    assert image["original"] == f"/api/v1/catalog/images/{image['id']}/original"

    original = owner_client.get(image["original"])
    assert original.status_code == 200
    assert original["Content-Type"] == "image/png"
    assert b"".join(original.streaming_content) == buffer.getvalue()
    small = owner_client.get(image["thumbnail_small"])
    assert (small.status_code, small["Content-Type"]) == (200, "image/webp")

    # Another company's staff get nothing for the same address.
    stranger = authenticated_client(member(other_company, Role.OWNER), other_company)
    assert stranger.get(image["original"]).status_code == 404
