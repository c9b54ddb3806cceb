"""Background work of the inventory: sweeping expired reservations (scheduled by beat)."""

from celery import shared_task

from pasar.inventory.services import reservations_release_expired


@shared_task(name="pasar.inventory.tasks.release_expired_reservations", ignore_result=True)
def release_expired_reservations(limit: int = 500) -> int:
    """Mark expired reservations as such and free what they hold; returns how many."""
    return reservations_release_expired(limit=limit)
