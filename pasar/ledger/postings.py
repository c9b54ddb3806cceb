"""What each business event posts. The books learn of sales, payments and stock only from the
events their contexts publish (never by reading their tables), so they can be replayed for a
company that turns them on later; each posting is keyed on its event and posted once."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pasar.core.models import OutboxEvent
from pasar.core.money import parse_money
from pasar.ledger import chart
from pasar.ledger.models import JournalEntry
from pasar.ledger.services import ZERO, Line, entry_post

SINGAPORE = ZoneInfo("Asia/Singapore")
STANDARD_RATED = "SR"


def _money(value: Any) -> Decimal:
    """An amount of the payload (figures the sales context stored, as text)."""
    return parse_money(value if value not in (None, "") else "0", what="An order figure")


def sale_lines(payload: dict[str, Any]) -> list[Line]:
    """The lines of a paid order: the money in clearing; sales by tax code and shipping, each
    without its GST; the GST as output tax. A company not registered for GST charged none, and
    its lines carry no tax code."""
    registered = _money(payload.get("gst_rate")) > 0
    includes = bool(payload.get("prices_include_gst"))
    by_code: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in payload["lines"]:
        net = _money(line["net"])
        by_code[line["tax_code"] if registered else ""] += (
            net - _money(line["gst"]) if includes else net
        )
    shipping_gst = _money(payload.get("shipping_gst"))
    shipping = _money(payload.get("shipping")) - (shipping_gst if includes else ZERO)
    gst = _money(payload.get("gst"))
    code = STANDARD_RATED if registered else ""
    lines = [Line(account=chart.PAYMENT_CLEARING, debit=_money(payload["total"]))]
    lines += [
        Line(account=chart.SALES, credit=value, tax_code=tax_code, tax_base=value)
        for tax_code, value in sorted(by_code.items())
        if value > 0
    ]
    if shipping > 0:
        lines.append(
            Line(account=chart.SHIPPING_INCOME, credit=shipping, tax_code=code, tax_base=shipping)
        )
    if gst > 0:
        lines.append(Line(account=chart.GST_OUTPUT, credit=gst, tax_code=code, tax=gst))
    return [line for line in lines if line.debit > 0 or line.credit > 0]


def sale_post(*, event: OutboxEvent) -> JournalEntry | None:
    """order.paid: the sale is in the books on the day the money came (its time of supply:
    paid at checkout, before any invoice). An order that cost nothing posts nothing."""
    payload = event.payload
    if _money(payload.get("total")) <= 0:
        return None
    paid_at = datetime.fromisoformat(payload["paid_at"]).astimezone(SINGAPORE)
    assert event.company_id is not None
    return entry_post(
        company=event.company_id,
        day=paid_at.date(),
        description=f"Sale {payload['number']}",
        source="sale",
        reference=payload["number"],
        lines=sale_lines(payload),
        event_id=event.public_id,
    )
