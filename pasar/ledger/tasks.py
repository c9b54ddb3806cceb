"""Background work of the books: emailing a document once its sale or refund committed."""

from typing import Any

from celery import shared_task

from pasar.ledger.services import document_send


@shared_task(
    name="pasar.ledger.tasks.document_email",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def document_email(company_id: int, document_id: Any) -> None:
    """Email a document with its PDF to the customer it was made out to."""
    document_send(company=company_id, document_id=document_id)
