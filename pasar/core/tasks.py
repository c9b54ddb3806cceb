"""Background work of the core: relaying the outbox (scheduled every few seconds by beat) and
sending mail after the changes it reports have committed."""

from typing import Any

from celery import shared_task

from pasar.core.events import relay_pending
from pasar.core.mail import send_templated_mail


@shared_task(name="pasar.core.tasks.relay_outbox", ignore_result=True)
def relay_outbox(limit: int = 100) -> int:
    """Deliver pending outbox events to their handlers; returns how many completed."""
    return relay_pending(limit=limit)


@shared_task(
    name="pasar.core.tasks.send_mail",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_mail(to: str, template: str, context: dict[str, Any]) -> None:
    """Render and send one mail (pasar.core.mail)."""
    send_templated_mail(to=to, template=template, context=context)
