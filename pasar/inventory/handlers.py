"""Outbox subscribers of the inventory (imported by the relay, see docs/events.md)."""

from pasar.core.events import subscribe
from pasar.core.models import OutboxEvent
from pasar.inventory import events, services


@subscribe(events.STOCK_RAN_LOW)
def notify_warehouse_of_low_stock(event: OutboxEvent) -> None:
    services.low_stock_notices_create(event=event)
