from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from pasar.catalog import csv_io, imports, services
from pasar.catalog.models import Category, ImportJob, Product, Variant
from pasar.core.models import AuditEntry, OutboxEvent
from pasar.core.tenant import tenant_context
from tests.catalog.helpers import ean13, product

pytestmark = pytest.mark.django_db

HEADER = "sku,product_name,category,option:size,barcode,price,cost,tax_code,status,weight_g"
GOOD_ROWS = [
    f"CAP-R,Cappuccino,Drinks > Coffee,Regular,{ean13('888000000011')},4.50,1.2,SR,active,",
    "CAP-L,Cappuccino,Drinks > Coffee,Large,,5.20,1.4,SR,active,",
    "BEAN-1,House Blend Beans,Beans,,,18.00,9.5,SR,draft,500",
]


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def run_import(company, data: bytes, name: str = "catalog.csv") -> ImportJob:
    job = imports.catalog_import_start(
        company=company, upload=SimpleUploadedFile(name, data, content_type="text/csv")
    )
    return imports.catalog_import_run(company_id=company.pk, job_public_id=str(job.public_id))


def messages(job: ImportJob) -> list[str]:
    return [error["message"] for error in job.errors]


def test_import_creates_products_variants_and_categories(company) -> None:
    job = run_import(company, csv_file(HEADER, *GOOD_ROWS))
    assert job.status == "succeeded", job.errors
    assert (job.total_rows, job.processed_rows, job.created_count) == (3, 3, 3)
    with tenant_context(company):
        cappuccino = Product.objects.get(name="Cappuccino")
        assert cappuccino.status == "active"
        assert cappuccino.category.name == "Coffee"
        assert cappuccino.category.parent.name == "Drinks"
        regular, large = Variant.objects.filter(product=cappuccino).order_by("position")
        assert (regular.sku, regular.options, regular.price) == (
            "CAP-R",
            {"size": "Regular"},
            Decimal("4.50"),
        )
        assert large.position == 1
        assert Product.objects.get(name="House Blend Beans").weight_g == 500
        assert Category.objects.count() == 3
        assert OutboxEvent.objects.filter(topic="catalog.imported").count() == 1


def test_import_upserts_by_sku(company) -> None:
    run_import(company, csv_file(HEADER, *GOOD_ROWS))
    changed = GOOD_ROWS[1].replace("5.20", "5.40")
    job = run_import(
        company,
        csv_file(HEADER, changed, "CAP-XL,Cappuccino,Drinks > Coffee,XL,,6.00,1.6,SR,active,"),
    )
    assert job.status == "succeeded", job.errors
    assert (job.created_count, job.updated_count) == (1, 1)
    with tenant_context(company):
        assert Variant.objects.get(sku="CAP-L").price == Decimal("5.40")
        assert Variant.objects.get(sku="CAP-XL").position == 2
        assert Product.objects.filter(name="Cappuccino").count() == 1


def test_one_bad_row_writes_nothing_and_says_where(company) -> None:
    bad = "CAP-XL,Cappuccino,Drinks > Coffee,XL,,abc,1.6,SR,active,"
    job = run_import(company, csv_file(HEADER, *GOOD_ROWS, bad))
    assert job.status == "failed"
    assert messages(job) == ["Row 5, column price: 'abc' is not a number."]
    assert job.errors[0]["row"] == 5
    assert job.errors[0]["column"] == "price"
    assert job.processed_rows == 0
    with tenant_context(company):
        assert not Product.objects.exists()
        assert not Variant.objects.exists()
        assert not Category.objects.exists()


def test_the_audit_log_records_how_each_import_ended(company) -> None:
    bad = "CAP-XL,Cappuccino,Drinks > Coffee,XL,,abc,1.6,SR,active,"
    failed = run_import(company, csv_file(HEADER, *GOOD_ROWS, bad))
    succeeded = run_import(company, csv_file(HEADER, *GOOD_ROWS))
    with tenant_context(company):
        ended = {
            entry.object_id: (entry.action, entry.changes)
            for entry in AuditEntry.objects.filter(
                action__in=["catalog.import_failed", "catalog.imported"]
            )
        }
    assert ended[str(failed.public_id)] == (
        "catalog.import_failed",
        {
            "status": ["running", "failed"],
            "problems": [None, 1],
            "first_problem": [None, "Row 5, column price: 'abc' is not a number."],
        },
    )
    action, changes = ended[str(succeeded.public_id)]
    assert action == "catalog.imported"
    assert changes["variants_created"] == [None, 3]


def test_every_problem_of_a_file_is_reported_at_once(company) -> None:
    job = run_import(
        company,
        csv_file(
            HEADER,
            GOOD_ROWS[0],
            "CAP-R,Cappuccino,Drinks > Coffee,Large,,5.20,1.4,SR,active,",
            "TEA-1,Teh,Drinks,,4006381333932,2.00,,SR,active,",
            "TEA-2,Teh O,Drinks,,,2.00,,GST9,active,",
            "TEA-3,Teh C,Drinks,,,-2.00,,SR,active,",
            "TEA-4,Teh Tarik,Drinks,,,2.00,,SR,active,1.5",
        ),
    )
    assert job.status == "failed"
    assert messages(job) == [
        "Row 3, column sku: SKU 'CAP-R' is already on row 2; each SKU appears once.",
        "Row 4, column barcode: '4006381333932' has a wrong check digit (the last digit should "
        "be 1); please check it was typed or scanned correctly.",
        "Row 5, column tax_code: 'GST9' is not a known tax code; use one of SR, ZR, ES33, ESN33.",
        "Row 6, column price: Price cannot be negative (got -2.00).",
        "Row 7, column weight_g: Weight is a whole number (got 1.5).",
    ]


def test_wrong_columns_are_refused_before_any_row(company) -> None:
    job = run_import(company, csv_file("sku,product_name,prise", "A,Thing,1.00"))
    assert job.status == "failed"
    assert job.errors[0]["message"].startswith(
        "Row 1, column prise: 'prise' is not a column we know. Known columns: sku, product_name,"
    )
    assert "Row 1: the required column 'price' is missing." in messages(job)


def test_rows_of_one_product_must_agree_on_product_details(company) -> None:
    job = run_import(
        company,
        csv_file(
            "sku,product_name,price,tax_code",
            "A-1,Gift Card,10,SR",
            "A-2,Gift Card,20,ZR",
        ),
    )
    assert messages(job) == [
        "Row 3, column tax_code: differs from row 2 for the same product 'Gift Card'; "
        "product details must be the same on every row of a product."
    ]


def test_a_barcode_of_another_existing_sku_is_refused(company) -> None:
    code = ean13("955000000123")
    product(company, "Milo", {"sku": "MILO-1", "price": "12.00", "barcode": code})
    job = run_import(
        company, csv_file("sku,product_name,price,barcode", f"NEW-1,Ovaltine,9,{code}")
    )
    assert messages(job) == [
        f"Row 2, column barcode: barcode {code} already belongs to SKU 'MILO-1'."
    ]


def test_a_barcode_may_move_when_the_file_clears_it_from_its_owner(company) -> None:
    code = ean13("955000000123")
    product(company, "Milo", {"sku": "MILO-1", "price": "12.00", "barcode": code})
    job = run_import(
        company,
        csv_file("sku,product_name,price,barcode", "MILO-1,Milo,12,", f"MILO-2,Milo,20,{code}"),
    )
    assert job.status == "succeeded", job.errors
    with tenant_context(company):
        assert Variant.objects.get(sku="MILO-2").barcode == code


def test_a_file_that_is_not_utf8_is_refused_with_advice(company) -> None:
    job = run_import(company, "sku,product_name,price\nA,Caf\xe9,1\n".encode("latin-1"))
    assert messages(job) == [
        "The file is not UTF-8 text. In Excel, save it as 'CSV UTF-8 (Comma delimited)'."
    ]


def test_a_row_with_more_cells_than_columns_is_refused(company) -> None:
    job = run_import(company, csv_file("sku,product_name,price", "A,Kopi, Teh,1.00"))
    assert job.errors[0]["message"].startswith("Row 2: has 4 cells but the header names 3")


def test_only_csv_files_are_accepted(company) -> None:
    with pytest.raises(services.InvalidCatalogInput) as refused:
        imports.catalog_import_start(
            company=company, upload=SimpleUploadedFile("catalog.xlsx", b"PK\x03\x04")
        )
    assert refused.value.code == "not_csv"


def test_a_finished_job_is_not_run_twice(company) -> None:
    job = run_import(company, csv_file(HEADER, *GOOD_ROWS))
    again = imports.catalog_import_run(company_id=company.pk, job_public_id=str(job.public_id))
    assert again.status == "succeeded"
    with tenant_context(company):
        assert Variant.objects.count() == 3


def test_export_then_import_changes_nothing(company) -> None:
    run_import(company, csv_file(HEADER, *GOOD_ROWS, "EQ-1,=SUM(A1),,,,1.00,,SR,draft,"))
    with tenant_context(company):
        from pasar.catalog import selectors

        names = selectors.catalog_option_names(company=company)
        columns = csv_io.export_columns(names)
        rows = [
            csv_io.export_row(values, columns)
            for values in selectors.catalog_export_rows(company=company, option_names=names)
        ]
    assert names == ["size"]
    exported = "".join(csv_io.csv_lines([columns, *rows])).encode()
    assert b"'=SUM(A1)" in exported  # a spreadsheet shows the name, it does not run it
    job = run_import(company, exported)
    assert job.status == "succeeded", job.errors
    assert (job.created_count, job.updated_count) == (0, 0)
    with tenant_context(company):
        assert Product.objects.filter(name="=SUM(A1)").count() == 1


def test_parse_reports_spreadsheet_row_numbers_and_skips_blank_rows() -> None:
    parsed = csv_io.parse_catalog_csv(
        csv_file("sku,product_name,price", "A,Kopi,1.00", ",,", "B,Teh,x")
    )
    assert [error.message for error in parsed.errors] == [
        "Row 4, column price: 'x' is not a number."
    ]
    assert parsed.total_rows == 2


def test_two_skus_can_swap_barcodes_in_one_file(company) -> None:
    first, second = ean13("955000000123"), ean13("955000000456")
    product(
        company,
        "Milo",
        {"sku": "MILO-1", "price": "12.00", "barcode": first},
        {"sku": "MILO-2", "price": "20.00", "barcode": second},
    )
    job = run_import(
        company,
        csv_file(
            "sku,product_name,price,barcode", f"MILO-1,Milo,12,{second}", f"MILO-2,Milo,20,{first}"
        ),
    )
    assert job.status == "succeeded", job.errors
    with tenant_context(company):
        assert Variant.objects.get(sku="MILO-1").barcode == second
