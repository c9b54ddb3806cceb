"""The events the books post from (see postings.py)."""

from pasar.core.events import subscribe
from pasar.core.models import OutboxEvent
from pasar.ledger import postings


@subscribe("payment.captured")
def post_captured_payment(event: OutboxEvent) -> None:
    postings.capture_post(event=event)


@subscribe("order.paid")
def post_paid_sale(event: OutboxEvent) -> None:
    postings.sale_post(event=event)


@subscribe("payment.refunded")
def post_refund(event: OutboxEvent) -> None:
    postings.refund_post(event=event)


@subscribe("stock.changed")
def post_stock_movement(event: OutboxEvent) -> None:
    postings.stock_post(event=event)
