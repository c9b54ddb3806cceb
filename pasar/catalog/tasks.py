"""Background work of the catalog: running CSV imports (eagerly, in-process, without Redis)."""

from celery import shared_task

from pasar.catalog.imports import catalog_import_run


@shared_task(name="pasar.catalog.tasks.catalog_import", ignore_result=True, acks_late=True)
def catalog_import(company_id: int, job_public_id: str) -> None:
    """Run one queued import; a redelivered task finds the job finished and does nothing."""
    catalog_import_run(company_id=company_id, job_public_id=job_public_id)
