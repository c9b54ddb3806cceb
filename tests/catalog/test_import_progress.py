"""The import's progress is visible to a poller while its one transaction is still open."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from pasar.catalog import imports
from pasar.catalog.models import Variant
from pasar.core.tenant import tenant_context


def outside_view(job_id: int, company_id: int) -> tuple[tuple[str, int, int], int]:
    """What another connection sees right now: the job's progress and the catalog's size."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    ) as outside:
        job = outside.execute(
            "SELECT status, processed_rows, total_rows FROM catalog_importjob WHERE id = %s",
            [job_id],
        ).fetchone()
        variants = outside.execute(
            "SELECT count(*) FROM catalog_variant WHERE company_id = %s", [company_id]
        ).fetchone()
    assert job is not None
    assert variants is not None
    return job, variants[0]


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_while_the_catalog_changes_are_not(company, monkeypatch) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    seen: list[tuple[int, tuple[str, int, int], int]] = []
    report = imports.ImportProgress.report

    def report_and_look(self: imports.ImportProgress, processed: int, total: int) -> None:
        report(self, processed, total)
        seen.append((processed, *outside_view(self.job_id, self.company_id)))

    monkeypatch.setattr(imports.ImportProgress, "report", report_and_look)
    rows = "".join(f"SKU-{n},Product {n},{n}.00\n" for n in range(5))
    job = imports.catalog_import_start(
        company=company,
        upload=SimpleUploadedFile("five.csv", f"sku,product_name,price\n{rows}".encode()),
    )
    finished = imports.catalog_import_run(company_id=company.pk, job_public_id=str(job.public_id))

    assert finished.status == "succeeded"
    assert [processed for processed, _, _ in seen] == [0, 2, 4, 5]
    for processed, job_row, variants_outside in seen:
        assert job_row == ("running", processed, 5)
        assert variants_outside == 0  # nothing of the file shows before its single commit
    with tenant_context(company):
        assert Variant.objects.count() == 5
