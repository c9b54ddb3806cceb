"""Background work of the inventory: sweeping expired reservations (scheduled by beat) and
emailing low-stock notices (queued after a stock.ran_low event is handled)."""

from celery import shared_task

from pasar.inventory.services import low_stock_notices_send, reservations_release_expired


@shared_task(name="pasar.inventory.tasks.release_expired_reservations", ignore_result=True)
def release_expired_reservations(limit: int = 500) -> int:
    """Mark expired reservations as such and free what they hold; returns how many."""
    return reservations_release_expired(limit=limit)


@shared_task(
    name="pasar.inventory.tasks.send_low_stock_notices",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_low_stock_notices(company_id: int, event_id: str) -> int:
    """Email the warehouse team about one stock.low event; a retry sends only what is unsent."""
    return low_stock_notices_send(company_id=company_id, event_id=event_id)
