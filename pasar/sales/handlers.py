"""Outbox subscribers of the sales context: orders follow their payments (docs/events.md)."""

from pasar.core.events import subscribe
from pasar.core.models import OutboxEvent
from pasar.payments import events as payment_events
from pasar.sales import services


@subscribe(payment_events.PAYMENT_CAPTURED)
def mark_order_paid(event: OutboxEvent) -> None:
    services.order_payment_captured(event=event)


@subscribe(payment_events.PAYMENT_EXPIRED)
@subscribe(payment_events.PAYMENT_CANCELLED)
def cancel_unpaid_order(event: OutboxEvent) -> None:
    services.order_payment_lapsed(event=event)


@subscribe(payment_events.PAYMENT_REFUNDED)
def record_order_refund(event: OutboxEvent) -> None:
    services.order_refund_recorded(event=event)
