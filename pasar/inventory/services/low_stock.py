"""Low stock: a notice per warehouse member for each level that ran low, mailed by a task.

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pasar.core.mail import send_templated_mail
from pasar.core.models import OutboxEvent
from pasar.core.tenant import (
    tenant_context,
)
from pasar.inventory.models import (
    LowStockNotice,
)
from pasar.inventory.services.levels import Clock
from pasar.tenancy.models import Membership, Role


def low_stock_notices_create(*, event: OutboxEvent) -> list[LowStockNotice]:
    """Queue an email about a `stock.ran_low` event for every warehouse member of its company.

    Idempotent: a redelivered event finds its notices already made and queues nothing new.
    The emails go after the commit (`pasar.inventory.tasks.send_low_stock_notices`).
    """
    if event.company_id is None:
        raise ValueError("stock.ran_low is a company's event")
    with tenant_context(event.company_id):
        recipients = list(
            Membership.objects.filter(role=Role.WAREHOUSE, user__is_active=True).values_list(
                "user_id", flat=True
            )
        )
        LowStockNotice.objects.bulk_create(
            [
                LowStockNotice(
                    company_id=event.company_id, event_id=event.public_id, recipient_id=user
                )
                for user in recipients
            ],
            ignore_conflicts=True,
        )
        fresh = list(
            LowStockNotice.objects.filter(
                event_id=event.public_id, recipient_id__in=recipients, sent_at__isnull=True
            )
        )
        if fresh:
            company_id, event_id = event.company_id, str(event.public_id)
            transaction.on_commit(
                lambda: _queue_low_stock_emails(company_id, event_id), robust=True
            )
    return fresh


def _queue_low_stock_emails(company_id: int, event_id: str) -> None:
    from pasar.inventory.tasks import send_low_stock_notices  # the task module imports this one

    send_low_stock_notices.delay(company_id, event_id)


def low_stock_notices_send(*, company_id: int, event_id: str, clock: Clock = timezone.now) -> int:
    """Email each unsent notice of one `stock.ran_low` event; returns how many went out.

    Each notice is taken (marked sent, its row locked only for that) in a transaction of its
    own, and mailed after that commits: never while a lock is held. A send that fails gives
    the notice back and raises, so the task's retry sends only what had not gone. (A process
    that dies between the two loses that one notice: a reminder, not a record.)
    """
    with tenant_context(company_id):
        event = OutboxEvent.objects.get(public_id=event_id)
        pending = list(
            LowStockNotice.objects.filter(event_id=event_id, sent_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
    payload = event.payload
    context = {
        name: payload.get(name)
        for name in ("sku", "location_name", "on_hand", "reorder_point", "reorder_quantity")
    }
    sent = 0
    for pk in pending:
        with tenant_context(company_id):
            notice = (
                LowStockNotice.objects.select_for_update(skip_locked=True)
                .select_related("recipient")
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if notice is None:
                continue
            notice.sent_at = clock()
            notice.save(update_fields=["sent_at"])
        try:
            send_templated_mail(
                to=notice.recipient.email, template="inventory/mail/low_stock", context=context
            )
        except Exception:
            with tenant_context(company_id):
                LowStockNotice.objects.filter(pk=pk).update(sent_at=None)
            raise
        sent += 1
    return sent
