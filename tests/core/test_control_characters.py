"""A NUL (or another control character) sent by a person is a clear 400, never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from pasar.catalog import imports, services
from pasar.catalog.models import Product
from pasar.core.tenant import tenant_context
from pasar.core.text import has_control_characters
from tests.conftest import authenticated_client

pytestmark = pytest.mark.django_db

API_ROUTES = [
    ("/api/v1/catalog/search", "q"),
    ("/api/v1/inventory/movements", "sku"),
    ("/api/v1/inventory/levels", "sku"),
    ("/api/v1/catalog/products", "name"),
]
PAGE_ROUTES = [("/office/products/", "q"), ("/office/payments/", "q")]


@pytest.mark.parametrize(("path", "parameter"), API_ROUTES)
def test_nul_in_an_api_query_parameter_is_a_400_with_the_envelope(
    company, owner, path: str, parameter: str
) -> None:
    client = authenticated_client(owner, company)
    response = client.get(f"{path}?{parameter}=a%00b")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "invalid_characters"
    assert body["error"]["details"][0]["field"] == parameter


@pytest.mark.parametrize(("path", "parameter"), PAGE_ROUTES)
def test_nul_in_a_page_query_parameter_is_a_400_page(
    company, owner, path: str, parameter: str
) -> None:
    client = Client()
    client.force_login(owner)
    response = client.get(f"{path}?{parameter}=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_nul_in_a_json_body_is_refused_and_nothing_is_written(company, owner) -> None:
    client = authenticated_client(owner, company)
    response = client.post(
        "/api/v1/catalog/products",
        data='{"name": "Kopi\\u0000O", "variants": [{"sku": "K-1", "price": "1.80"}]}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    with tenant_context(company):
        assert not Product.objects.exists()


def test_nul_in_a_form_field_is_refused(company, owner) -> None:
    client = Client()
    client.force_login(owner)
    response = client.post("/office/products/new/", {"name": "Kopi\x00O"})
    assert response.status_code == 400
    with tenant_context(company):
        assert not Product.objects.exists()


@pytest.mark.parametrize("character", ["\x01", "\x07", "\x1b", "\x7f"])
def test_other_control_characters_in_a_product_name_are_a_field_error(
    company, owner, character: str
) -> None:
    client = authenticated_client(owner, company)
    response = client.post(
        "/api/v1/catalog/products",
        {"name": f"Kopi{character}O", "variants": [{"sku": "K-1", "price": "1.80"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    with tenant_context(company):
        assert not Product.objects.exists()


def test_tab_and_newlines_stay_allowed_in_descriptions(company) -> None:
    assert not has_control_characters("Line one\nLine two\r\n\tindented")
    made = services.product_create(
        company=company,
        name="Kopi O",
        description="Strong.\nNo milk.",
        variants=[{"sku": "K-1", "price": "1.80"}],
    )
    assert made.description == "Strong.\nNo milk."


def test_a_csv_cell_with_nul_is_a_row_error_not_a_failed_job(company) -> None:
    data = b"sku,product_name,price\nK-1,Kopi O,1.80\nK-2,Teh\x00O,1.60\n"
    job = imports.catalog_import_start(
        company=company, upload=SimpleUploadedFile("nul.csv", data, content_type="text/csv")
    )
    finished = imports.catalog_import_run(company_id=company.pk, job_public_id=str(job.public_id))
    assert finished.status == "failed"
    [error] = finished.errors
    assert error["code"] == "invalid_characters"
    assert error["row"] == 3
    assert "control character" in error["message"]
    with tenant_context(company):
        assert not Product.objects.exists()
