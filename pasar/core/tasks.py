"""Background work of the core: relaying the outbox (scheduled every few seconds by beat)."""

from celery import shared_task

from pasar.core.events import relay_pending


@shared_task(name="pasar.core.tasks.relay_outbox", ignore_result=True)
def relay_outbox(limit: int = 100) -> int:
    """Deliver pending outbox events to their handlers; returns how many completed."""
    return relay_pending(limit=limit)
