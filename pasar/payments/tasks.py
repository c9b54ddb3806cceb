"""Background work of payments: the periodic sweep that expires unpaid payments."""

from celery import shared_task

from pasar.payments.services import payments_expire_overdue


@shared_task(name="pasar.payments.tasks.expire_overdue_payments", ignore_result=True)
def expire_overdue_payments(limit: int = 500) -> int:
    """Expire payments past their expiry unpaid; returns how many."""
    return payments_expire_overdue(limit=limit)
