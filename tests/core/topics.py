"""Topics the event tests publish: the relay's mechanics, not any context's contract."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypedDict
from uuid import UUID

from pasar.core.event_contracts import declare


class TestPayload(TypedDict, total=False):
    order: UUID | str
    total: Decimal
    at: datetime
    user: str
    company: str
    amount: str
    n: int


TEST_TOPICS = {
    old: declare(new, TestPayload, description="An event of the event tests.")
    for old, new in {
        "order.placed": "test_order.placed",
        "user.registered": "test_user.registered",
        "company.created": "test_company.created",
        "company.updated": "test_company.updated",
        "nobody.listens": "test_nobody.listened",
        "stock.counted": "test_stock.counted",
        "payment.captured": "test_payment.captured",
        "courier.booked": "test_courier.booked",
        "tick": "test_clock.ticked",
        "a": "test_a.happened",
        "b": "test_b.happened",
        "c": "test_c.happened",
    }.items()
}
