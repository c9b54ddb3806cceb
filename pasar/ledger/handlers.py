"""The events the books post from (see postings.py)."""

from pasar.core.events import subscribe
from pasar.core.models import OutboxEvent
from pasar.ledger import postings


@subscribe("order.paid")
def post_paid_sale(event: OutboxEvent) -> None:
    postings.sale_post(event=event)
