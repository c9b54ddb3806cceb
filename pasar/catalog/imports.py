"""The CSV import: start a job, then check and write a whole file in one transaction.

A file is all or nothing. `catalog_import_run` reads and checks every row first (the format
in `pasar.catalog.csv_io`, then what needs the database: barcodes of other SKUs, which
product a row belongs to); any problem fails the job with every row error and writes nothing.
Otherwise it upserts by SKU in one transaction, in chunks.

Progress while that transaction is open: the job row is updated on a second database
connection of its own, in autocommit, so a person polling the job sees rows counted up while
the catalog changes stay invisible until the single commit. The import transaction itself
never touches the job row until its last statement, so the two connections never wait on
each other. docs/catalog.md explains the choice.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from django.core.files.uploadedfile import UploadedFile
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone
from psycopg import sql

from pasar.catalog import csv_io, events, rules
from pasar.catalog.models import Category, ImportJob, ImportStatus, Product, Variant
from pasar.catalog.services import category_path_ensure, invalid
from pasar.core import rls
from pasar.core.audit import audit_record
from pasar.core.events import publish
from pasar.core.tenant import current_user_id, tenant_context
from pasar.tenancy.models import Company

logger = structlog.get_logger(__name__)

CHUNK_ROWS = 500
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_REPORTED_ERRORS = 500


class ImportRefused(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, errors: Sequence[csv_io.RowError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = list(errors)


def catalog_import_start(*, company: Company, upload: UploadedFile) -> ImportJob:
    """Keep the uploaded file and queue its import; the job reports progress as it runs."""
    from pasar.catalog.tasks import catalog_import

    name = str(upload.name or "catalog.csv")
    if upload.size is not None and upload.size > MAX_FILE_BYTES:
        raise invalid(
            "file",
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it.",
            "too_large",
        )
    if not name.lower().endswith((".csv", ".txt")):
        raise invalid("file", "Upload the catalog as a .csv file.", "not_csv")
    with tenant_context(company, user=current_user_id()):
        job = ImportJob(company=company, filename=name[:255], created_by_id=current_user_id())
        job.source.save("catalog.csv", upload, save=False)
        job.save()
        audit_record(action="catalog.import_started", obj=job)
        # The worker must see the committed job row (and the progress connection must too).
        transaction.on_commit(
            lambda: catalog_import.delay(company.pk, str(job.public_id)), robust=True
        )
    return job


class ImportProgress:
    """Writes a job's processed row count on a separate connection, committed at once.

    Progress is a courtesy: if its connection fails, the import carries on without it.
    """

    def __init__(self, *, company_id: int, job_id: int) -> None:
        self.company_id = company_id
        self.job_id = job_id
        self._wrapper: Any = None
        self._broken = False
        self._statement = sql.SQL(
            "UPDATE {table} SET processed_rows = %s, total_rows = %s WHERE id = %s AND status = %s"
        ).format(table=sql.Identifier(ImportJob._meta.db_table))

    def report(self, processed: int, total: int) -> None:
        if self._broken:
            return
        try:
            if self._wrapper is None:
                self._wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
                self._wrapper.ensure_connection()
            raw = self._wrapper.connection
            with raw.transaction():
                # The app role meets row-level security here too: act for the job's company.
                raw.execute(
                    *rls.enter_statement(
                        company_id=self.company_id,
                        user_id=None,
                        platform=False,
                        backend_pid=raw.info.backend_pid,
                    )
                )
                raw.execute(self._statement, [processed, total, self.job_id, ImportStatus.RUNNING])
        except (DatabaseError, psycopg.Error):
            logger.warning("catalog.import_progress_unavailable", job_id=self.job_id, exc_info=True)
            self._broken = True

    def close(self) -> None:
        if self._wrapper is not None:
            self._wrapper.close()


def _lock_imports(company_id: int) -> None:
    """One import at a time per company: two files upserting the same SKUs would race."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"catalog.import:{company_id}"],
        )


@dataclass
class ProductPlan:
    """What the import does to one product of the file."""

    rows: list[csv_io.ImportRow]
    product: Product | None = None
    category: Category | None = None
    created: bool = False
    renamed: bool = False
    next_position: int = 0


def _plan(rows: list[csv_io.ImportRow]) -> tuple[dict[str, ProductPlan], dict[str, Variant]]:
    """Match the file's rows to existing products and variants, refusing what cannot be.

    Needs the company's context and the import lock.
    """
    errors: list[csv_io.RowError] = []
    existing = {
        variant.sku: variant
        for variant in Variant.objects.filter(sku__in=[row.sku for row in rows]).select_related(
            "product"
        )
    }
    plans: dict[str, ProductPlan] = {}
    for row in rows:
        plans.setdefault(row.product_key, ProductPlan(rows=[])).rows.append(row)

    # Barcodes as they will be once the file is in: another SKU keeping one is a conflict.
    final_barcodes: dict[str, str] = {}
    for sku, barcode in Variant.objects.exclude(barcode="").values_list("sku", "barcode"):
        final_barcodes[barcode] = sku
    changed_skus = {row.sku for row in rows if "barcode" in row.variant}
    final_barcodes = {
        barcode: sku for barcode, sku in final_barcodes.items() if sku not in changed_skus
    }
    for row in rows:
        wanted = row.variant.get("barcode")
        if wanted and final_barcodes.get(wanted, row.sku) != row.sku:
            errors.append(
                csv_io.RowError(
                    row.number,
                    "barcode",
                    wanted,
                    f"barcode {wanted} already belongs to SKU '{final_barcodes[wanted]}'.",
                    "barcode_taken",
                )
            )

    named = _products_by_name(set(plans))
    claimed: dict[int, str] = {}
    for key, plan in plans.items():
        owners: dict[int, csv_io.ImportRow] = {}
        for row in plan.rows:
            if row.sku in existing:
                owners.setdefault(existing[row.sku].product_id, row)
        if len(owners) > 1:
            first_row, *others = owners.values()
            first_product = existing[first_row.sku].product.name
            for row in others:
                errors.append(
                    csv_io.RowError(
                        row.number,
                        "product_name",
                        row.product_name,
                        f"SKU '{row.sku}' belongs to product "
                        f"'{existing[row.sku].product.name}', but row {first_row.number} puts "
                        f"SKU '{first_row.sku}' of product '{first_product}' "
                        "under the same name; one name in the file is one product.",
                        "product_mismatch",
                    )
                )
            continue
        if owners:
            plan.product = existing[next(iter(owners.values())).sku].product
        else:
            candidates = named.get(key, [])
            if len(candidates) > 1:
                row = plan.rows[0]
                errors.append(
                    csv_io.RowError(
                        row.number,
                        "product_name",
                        row.product_name,
                        f"{len(candidates)} products are called '{row.product_name}'; "
                        "give them different names first so the file says which one it means.",
                        "ambiguous_product",
                    )
                )
                continue
            plan.product = candidates[0] if candidates else None
        if plan.product is not None:
            if plan.product.pk in claimed and claimed[plan.product.pk] != key:
                row = plan.rows[0]
                errors.append(
                    csv_io.RowError(
                        row.number,
                        "product_name",
                        row.product_name,
                        f"these SKUs belong to product '{plan.product.name}', which other rows "
                        f"of the file call '{claimed[plan.product.pk]}'; use one name.",
                        "product_mismatch",
                    )
                )
            claimed[plan.product.pk] = plan.rows[0].product_name
    if errors:
        raise ImportRefused(errors)
    return plans, existing


def _products_by_name(keys: set[str]) -> dict[str, list[Product]]:
    """The company's products whose lower-cased name is one of `keys`."""
    found: dict[str, list[Product]] = {}
    for chunk in itertools.batched(sorted(keys), 1000):
        products = Product.objects.annotate(name_key=Lower("name")).filter(name_key__in=chunk)
        for product in products.order_by("pk"):
            found.setdefault(product.name.lower(), []).append(product)
    return found


def _categories(plans: dict[str, ProductPlan], company_id: int) -> None:
    paths: dict[tuple[str, ...], Category] = {}
    for plan in plans.values():
        path = plan.rows[0].category_path
        if not path:
            continue
        key = tuple(name.lower() for name in path)
        if key not in paths:
            paths[key] = category_path_ensure(company=company_id, path=path)
        plan.category = paths[key]


def _write_products(plans: dict[str, ProductPlan], company_id: int) -> int:
    """Create the file's new products and bring existing ones up to date; returns how many new."""
    now = timezone.now()
    new: list[Product] = []
    changed: list[Product] = []
    changed_fields: set[str] = set()
    for plan in plans.values():
        first = plan.rows[0]
        values: dict[str, Any] = {"name": first.product_name, **first.product}
        if first.category_path is not None:
            values["category"] = plan.category
        if plan.product is None:
            plan.product = Product(company_id=company_id, **values)
            plan.created = True
            new.append(plan.product)
            continue
        product = plan.product
        differs = [name for name, value in values.items() if getattr(product, name) != value]
        if differs:
            plan.renamed = "name" in differs
            for name in differs:
                setattr(product, name, values[name])
            product.updated_at = now
            changed.append(product)
            changed_fields.update(differs)
    Product.objects.bulk_create(new, batch_size=CHUNK_ROWS)
    if changed:
        Product.objects.bulk_update(
            changed, [*sorted(changed_fields), "updated_at"], batch_size=CHUNK_ROWS
        )
    return len(new)


def _next_positions(plans: dict[str, ProductPlan]) -> None:
    existing = [plan.product.pk for plan in plans.values() if plan.product and not plan.created]
    last = dict(
        Variant.objects.filter(product_id__in=existing)
        .values("product_id")
        .annotate(last=Max("position"))
        .values_list("product_id", "last")
    )
    for plan in plans.values():
        assert plan.product is not None
        previous = last.get(plan.product.pk)
        plan.next_position = 0 if previous is None else previous + 1


def _search_text(variant: Variant, product: Product) -> str:
    return rules.search_text(
        product_name=product.name, options=variant.options, sku=variant.sku, barcode=variant.barcode
    )


def _write_variants(
    plans: dict[str, ProductPlan],
    existing: dict[str, Variant],
    company_id: int,
    progress: ImportProgress,
    total: int,
) -> tuple[int, int]:
    """Upsert the variants by SKU, a chunk at a time, reporting progress after each chunk."""
    now = timezone.now()
    ordered = sorted(
        ((row, plan) for plan in plans.values() for row in plan.rows),
        key=lambda item: item[0].number,
    )
    created = updated = processed = 0
    for chunk in itertools.batched(ordered, CHUNK_ROWS):
        new: list[Variant] = []
        changed: list[Variant] = []
        changed_fields: set[str] = set()
        for row, plan in chunk:
            product = plan.product
            assert product is not None
            variant = existing.get(row.sku)
            if variant is None:
                variant = Variant(
                    company_id=company_id,
                    product=product,
                    sku=row.sku,
                    position=plan.next_position,
                    **row.variant,
                )
                plan.next_position += 1
                variant.search_text = _search_text(variant, product)
                new.append(variant)
                continue
            differs = [
                name for name, value in row.variant.items() if getattr(variant, name) != value
            ]
            for name in differs:
                setattr(variant, name, row.variant[name])
            search_text = _search_text(variant, product)
            if differs or search_text != variant.search_text:
                variant.search_text = search_text
                variant.updated_at = now
                changed.append(variant)
                changed_fields.update(differs)
        Variant.objects.bulk_create(new)
        if changed:
            Variant.objects.bulk_update(
                changed, [*sorted(changed_fields), "search_text", "updated_at"]
            )
        created += len(new)
        updated += len(changed)
        processed += len(chunk)
        progress.report(processed, total)
    return created, updated


def _release_moving_barcodes(plans: dict[str, ProductPlan], existing: dict[str, Variant]) -> None:
    """Clear the barcodes the file takes from a SKU first, so one may pass to another SKU (or
    two SKUs swap theirs) without the unique constraint seeing a barcode twice midway."""
    moving: list[Variant] = []
    for plan in plans.values():
        for row in plan.rows:
            variant = existing.get(row.sku)
            if variant is None or "barcode" not in row.variant or not variant.barcode:
                continue
            if variant.barcode != row.variant["barcode"]:
                variant.barcode = ""
                moving.append(variant)
    if moving:
        Variant.objects.filter(pk__in=[variant.pk for variant in moving]).update(barcode="")


def _refresh_renamed(plans: dict[str, ProductPlan]) -> None:
    """Variants of a renamed product that the file does not list still need the new name."""
    renamed = {
        plan.product.pk: plan.product for plan in plans.values() if plan.renamed and plan.product
    }
    if not renamed:
        return
    variants = list(Variant.objects.filter(product_id__in=renamed))
    for variant in variants:
        variant.search_text = _search_text(variant, renamed[variant.product_id])
    Variant.objects.bulk_update(variants, ["search_text"], batch_size=CHUNK_ROWS)


INTEGRITY_PROBLEMS = {
    "variant_barcode_per_company": (
        "A barcode in the file was given to another SKU while the import ran; "
        "import the file again."
    ),
    "variant_sku_per_company": (
        "A SKU in the file was added by someone else while the import ran; import the file again."
    ),
}


def _import(job: ImportJob, progress: ImportProgress) -> None:
    """Check and write the file, unless another run of the task already has."""
    with job.source.open("rb") as source:
        data = source.read()
    parsed = csv_io.parse_catalog_csv(data)
    progress.report(0, parsed.total_rows)
    if parsed.errors:
        raise ImportRefused(parsed.errors)
    company_id = job.company_id
    with tenant_context(company_id, user=job.created_by_id):
        _lock_imports(company_id)
        # A plain read: locking the job row here would make the progress connection wait on
        # this transaction while this transaction waits for it.
        if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.SUCCEEDED).exists():
            return
        plans, existing = _plan(parsed.rows)
        try:
            with transaction.atomic():
                _categories(plans, company_id)
                products_created = _write_products(plans, company_id)
                _next_positions(plans)
                _release_moving_barcodes(plans, existing)
                created, updated = _write_variants(
                    plans, existing, company_id, progress, parsed.total_rows
                )
                _refresh_renamed(plans)
        except IntegrityError as error:
            diag = getattr(error.__cause__, "diag", None)
            problem = INTEGRITY_PROBLEMS.get(getattr(diag, "constraint_name", "") or "")
            if problem is None:
                raise
            raise ImportRefused([csv_io.RowError(None, None, "", problem, "conflict")]) from None
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.SUCCEEDED,
            total_rows=parsed.total_rows,
            processed_rows=parsed.total_rows,
            created_count=created,
            updated_count=updated,
            errors=[],
            finished_at=timezone.now(),
        )
        summary = {
            "job": str(job.public_id),
            "rows": parsed.total_rows,
            "variants_created": created,
            "variants_updated": updated,
            "products_created": products_created,
        }
        audit_record(
            action="catalog.imported",
            obj=job,
            changes={name: [None, value] for name, value in summary.items() if name != "job"},
        )
        publish(events.CATALOG_IMPORTED, summary)


def _reported(errors: Sequence[csv_io.RowError]) -> list[dict[str, Any]]:
    reported = [error.as_dict() for error in errors[:MAX_REPORTED_ERRORS]]
    if len(errors) > MAX_REPORTED_ERRORS:
        more = len(errors) - MAX_REPORTED_ERRORS
        reported.append(
            csv_io.RowError(
                None, None, "", f"... and {more} more problems after these.", "more_errors"
            ).as_dict()
        )
    return reported


def _fail(job: ImportJob, errors: Sequence[csv_io.RowError]) -> None:
    with tenant_context(job.company_id):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            processed_rows=0,
            errors=_reported(errors),
            finished_at=timezone.now(),
        )
        # The log shows how the import ended, as it does for one that succeeded.
        audit_record(
            action="catalog.import_failed",
            obj=job,
            changes={
                "status": [ImportStatus.RUNNING.value, ImportStatus.FAILED.value],
                "problems": [None, len(errors)],
                "first_problem": [None, errors[0].message if errors else ""],
            },
        )


def catalog_import_run(*, company_id: int, job_public_id: str) -> ImportJob:
    """Run a queued import to the end: every row written, or none and the job says why."""
    with tenant_context(company_id):
        job = ImportJob.objects.select_for_update().get(public_id=job_public_id)
        if job.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
            return job  # a redelivered task: this file has been dealt with
        job.status = ImportStatus.RUNNING
        job.started_at = timezone.now()
        job.processed_rows = 0
        job.save(update_fields=["status", "started_at", "processed_rows"])
    progress = ImportProgress(company_id=company_id, job_id=job.pk)
    try:
        _import(job, progress)
    except ImportRefused as refused:
        _fail(job, refused.errors)
    except Exception:
        logger.exception("catalog.import_crashed", job_id=job.pk)
        problem = "The import stopped because of a problem on our side; nothing was changed."
        _fail(job, [csv_io.RowError(None, None, "", problem, "internal_error")])
        raise
    finally:
        progress.close()
    with tenant_context(company_id):
        return ImportJob.objects.get(pk=job.pk)
