"""What each business event posts. The books learn of sales, payments and stock only from the
events their contexts publish (never by reading their tables), so they can be replayed for a
company that turns them on later; each posting is keyed on its event and posted once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pasar.core.models import OutboxEvent
from pasar.core.money import CENT, COST_PLACES, parse_money
from pasar.core.tenant import tenant_context
from pasar.ledger import chart
from pasar.ledger.models import Document, DocumentKind, JournalEntry
from pasar.ledger.services import (
    ZERO,
    Line,
    credit_note_entry_lines,
    credit_note_issue,
    document_email_after_commit,
    entry_post,
    left_to_credit,
    sale_document_issue,
)
from pasar.tenancy.models import Company

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
    # The money itself was booked by its capture (payment clearing against customer
    # payments); the sale takes it from there.
    lines = [Line(account=chart.CUSTOMER_RECEIPTS, debit=_money(payload["total"]))]
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


def _day(stamp: datetime) -> date:
    """The Singapore date of a moment: the day its posting belongs to."""
    return stamp.astimezone(SINGAPORE).date()


def _when(payload: dict[str, Any], field: str, event: OutboxEvent) -> datetime:
    """When the business event happened, as its payload says; events published before
    their payload said so fall back to when they were recorded."""
    stamp = payload.get(field)
    return datetime.fromisoformat(stamp) if stamp else event.created_at


def _company(event: OutboxEvent) -> Company:
    assert event.company_id is not None  # the ledger subscribes to company events only
    return Company.objects.get(pk=event.company_id)


def sale_post(*, event: OutboxEvent) -> JournalEntry | None:
    """order.paid: the sale's document is issued and the sale is in the books on the day the
    money came (its time of supply: paid at checkout, before any invoice). The entry names
    the document. An order that cost nothing posts nothing."""
    payload = event.payload
    if _money(payload.get("total")) <= 0:
        return None
    company = _company(event)
    channel = str(payload.get("channel", ""))
    paid_on = _day(datetime.fromisoformat(payload["paid_at"]))
    with tenant_context(company, all_or_nothing=True):
        # The document is dated the day it was issued; a sale whose day is in a filed period
        # is posted in the next open one.
        document = sale_document_issue(
            company=company, payload=payload, day=paid_on, event_id=event.public_id
        )
        entry = entry_post(
            company=company,
            day=paid_on,
            past_locks=True,
            description=f"Sale {payload['number']} ({document.get_kind_display().lower()})",
            source="sale",
            reference=document.number,
            lines=[replace(line, channel=channel) for line in sale_lines(payload)],
            event_id=event.public_id,
        )
    if document.customer_email and document.outputs == 0:
        document_email_after_commit(company, document)
    return entry


def capture_post(*, event: OutboxEvent) -> JournalEntry | None:
    """payment.captured: the money is in payment clearing (until the gateway pays it out),
    owed to the customer until a sale is posted for it. A shop order's sale follows at once
    (order.paid); a payment taken for anything else (a payment link) waits there for finance
    to match it, by journal, to what it paid for."""
    payload = event.payload
    amount = _money(payload.get("amount"))
    if amount <= 0:
        return None
    assert event.company_id is not None
    reference = str(payload.get("reference", ""))
    with tenant_context(event.company_id, all_or_nothing=True):
        return entry_post(
            company=event.company_id,
            day=_day(_when(payload, "captured_at", event)),
            past_locks=True,
            description=f"Payment for {reference} ({payload.get('gateway', '')})",
            source="capture",
            reference=reference,
            lines=[
                Line(account=chart.PAYMENT_CLEARING, debit=amount),
                Line(account=chart.CUSTOMER_RECEIPTS, credit=amount),
            ],
            event_id=event.public_id,
        )


def _refund_unmatched(
    company: Company, *, day: date, why: str, reference: str, refunded: Decimal, event: OutboxEvent
) -> JournalEntry:
    return entry_post(
        company=company,
        day=day,
        past_locks=True,
        description=f"Refund for {why}",
        source="refund",
        reference=reference,
        lines=[
            Line(account=chart.CUSTOMER_RECEIPTS, debit=refunded),
            Line(account=chart.PAYMENT_CLEARING, credit=refunded),
        ],
        event_id=event.public_id,
    )


def refund_post(*, event: OutboxEvent) -> JournalEntry | None:
    """payment.refunded: a credit note off the sale's document for the refund's own amount
    (never the payment's running total) and its entry, once per refund. A payment with no
    document left to credit (not a sale of the shop, paid before the books were on, or
    credited in full already) gives the money back from the customer's payments, where its
    capture put it. A refund of a capture that was never announced (kept for review: paid
    twice, say) posts nothing: the books never took that money in."""
    payload = event.payload
    refunded = _money(payload.get("refund_amount"))
    if refunded <= 0 or payload.get("capture_announced") is False:
        return None
    company = _company(event)
    reference = str(payload.get("reference", ""))
    refunded_on = _day(_when(payload, "refunded_at", event))
    with tenant_context(company, all_or_nothing=True):
        earlier = JournalEntry.objects.filter(event_id=event.public_id, source="refund").first()
        if earlier is not None:
            return earlier
        document = (
            Document.objects.filter(order_number=reference)
            .exclude(kind=DocumentKind.CREDIT_NOTE)
            .order_by("id")
            .first()
        )
        if document is None:
            return _refund_unmatched(
                company,
                day=refunded_on,
                why=f"{reference} (no sale document)",
                reference=reference,
                refunded=refunded,
                event=event,
            )
        left = left_to_credit(document)
        if left <= 0:
            return _refund_unmatched(
                company,
                day=refunded_on,
                why=f"{reference} ({document.number} credited in full already)",
                reference=document.number,
                refunded=refunded,
                event=event,
            )
        note = credit_note_issue(
            company=company,
            document=document,
            amount=min(refunded, left),
            reason=f"Refund of S${refunded:,.2f} for order {reference}",
            day=refunded_on,
            event_id=event.public_id,
        )
        entry = entry_post(
            company=company,
            day=refunded_on,
            description=f"Refund for {reference}: credit note {note.number}",
            source="refund",
            reference=note.number,
            lines=credit_note_entry_lines(note, paid_from=chart.PAYMENT_CLEARING, paid=refunded),
            event_id=event.public_id,
            past_locks=True,
        )
    if note.customer_email:
        document_email_after_commit(company, note)
    return entry


# What a stock movement posts: (account debited, account credited) for units coming in; the
# other way round for units going out. Transfers pass through inventory in transit, so the
# dispatch and the arrival each balance on their own.
STOCK_ACCOUNTS: dict[str, tuple[str, str]] = {
    "receipt": (chart.INVENTORY, chart.GOODS_RECEIVED),
    "receipt_void": (chart.INVENTORY, chart.GOODS_RECEIVED),
    "sale": (chart.INVENTORY, chart.COGS),
    "return": (chart.INVENTORY, chart.COGS),
    "adjustment": (chart.INVENTORY, chart.STOCK_ADJUSTMENTS),
    "count_correction": (chart.INVENTORY, chart.STOCK_ADJUSTMENTS),
    "transfer_out": (chart.INVENTORY, chart.INVENTORY_IN_TRANSIT),
    "transfer_in": (chart.INVENTORY, chart.INVENTORY_IN_TRANSIT),
}


def stock_lines(payload: dict[str, Any]) -> list[Line]:
    """A movement's lines at its unit cost (the moving average, or the receipt's cost): units
    in debit inventory, units out credit it. Units written off by an adjustment go to
    write-offs; a count's differences and other adjustments to stock adjustments."""
    quantity = int(payload["quantity"])
    value = (abs(quantity) * _money_cost(payload.get("unit_cost"))).quantize(
        CENT, rounding="ROUND_HALF_UP"
    )
    if value == 0 or payload["kind"] not in STOCK_ACCOUNTS:
        return []
    stock, other = STOCK_ACCOUNTS[payload["kind"]]
    if payload["kind"] == "adjustment" and quantity < 0:
        other = chart.WRITE_OFFS
    location = str(payload.get("location", ""))
    description = f"{quantity:+d} x {payload.get('sku', '')} at {payload.get('unit_cost')}"
    if quantity > 0:
        return [
            Line(account=stock, debit=value, location=location, description=description),
            Line(account=other, credit=value, location=location),
        ]
    return [
        Line(account=other, debit=value, location=location, description=description),
        Line(account=stock, credit=value, location=location),
    ]


def _money_cost(value: Any) -> Decimal:
    """A unit cost of the payload (to the ten-thousandth of a dollar)."""
    return parse_money(
        value if value not in (None, "") else "0", places=COST_PLACES, what="A unit cost"
    )


def stock_post(*, event: OutboxEvent) -> JournalEntry | None:
    """stock.changed: the movement's value moves between inventory and cost of sales, goods
    received, write-offs or adjustments, on the day it happened, once per movement."""
    lines = stock_lines(event.payload)
    if not lines:
        return None
    payload = event.payload
    assert event.company_id is not None
    return entry_post(
        company=event.company_id,
        day=_day(_when(payload, "moved_at", event)),
        past_locks=True,
        description=f"Stock {payload['kind'].replace('_', ' ')}: {payload.get('sku', '')}",
        source="stock",
        reference=f"{payload.get('source_type', '')} {payload.get('source_id', '')}".strip(),
        lines=lines,
        event_id=event.public_id,
    )
