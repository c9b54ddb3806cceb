"""The GST F5 return computed from the books, and the rules of time of supply.

Each box is a sum of journal lines by tax code (codes.py), never a rate applied to a value:
the GST of each document was rounded on the document (../shared/reference/gst.md, sections 4
and 6). Box 4 = 1 + 2 + 3, Box 8 = 6 - 7, Box 18 = Box 8, Box 20 = 18 + 19.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError
from pasar.core.mail import mail_after_commit
from pasar.core.singapore import GST_RATES, gst_rate_on
from pasar.core.tenant import system_access, tenant_context
from pasar.gst.codes import BOXES
from pasar.gst.models import GstReminder, GstReturn
from pasar.ledger import selectors as ledger_selectors
from pasar.ledger import services as ledger_services
from pasar.tenancy.models import Company, GstPeriod, Membership, Role, User

ZERO = Decimal("0.00")
BOX_NUMBERS = range(1, 22)
VALUE_BOXES = frozenset({1, 2, 3, 4, 5, 9, 13, 14, 15, 16, 17, 21})


class InvalidPeriod(DomainError):
    code = "invalid_period"


def supply_date(*, invoiced_on: date | None, paid_on: date | None) -> date:
    """A supply's time of supply since 2011: the earlier of the invoice and the payment
    (gst.md, section 2); it chooses the rate and the return the supply belongs to."""
    known = [day for day in (invoiced_on, paid_on) if day is not None]
    if not known:
        raise ValueError("A supply needs an invoice date or a payment date.")
    return min(known)


@dataclass(frozen=True)
class F5Return:
    start: date
    end: date
    boxes: dict[int, Decimal]
    by_code: dict[str, tuple[Decimal, Decimal]]  # the sums behind the boxes

    def box(self, number: int) -> Decimal:
        return self.boxes[number]

    def as_data(self) -> dict[str, str]:
        return {f"box{number}": f"{self.boxes[number]:.2f}" for number in BOX_NUMBERS}

    def iras_payload(self, *, tax_ref: str) -> dict[str, Any]:
        """The return in the field names of IRAS's submitF5F8ReturnCorpPass (gst.md, section
        8): value boxes in whole dollars (rounded half-up), tax boxes to the cent."""

        def whole(number: int) -> int:
            return int(self.boxes[number].quantize(Decimal(1), rounding="ROUND_HALF_UP"))

        def cents(number: int) -> float:
            return float(self.boxes[number])

        return {
            "filingInfo": {
                "taxRefNo": tax_ref,
                "formType": "F5",
                "dtPeriodStart": self.start.isoformat(),
                "dtPeriodEnd": self.end.isoformat(),
            },
            "supplies": {
                "totStdSupply": whole(1),
                "totZeroSupply": whole(2),
                "totExemptSupply": whole(3),
            },
            "purchases": {"totTaxPurchase": whole(5)},
            "taxes": {"outputTaxDue": cents(6), "inputTaxRefund": cents(7)},
            "schemes": {
                "totValueScheme": whole(9),
                "touristRefundChk": self.boxes[10] != 0,
                "touristRefundAmt": cents(10),
                "badDebtChk": self.boxes[11] != 0,
                "badDebtReliefClaimAmt": cents(11),
                "preRegistrationChk": self.boxes[12] != 0,
                "preRegistrationClaimAmt": cents(12),
            },
            "revenue": {"revenue": whole(13)},
            "RevChargeLVG": {"RCLVGChk": self.boxes[14] != 0, "totImpServLVGAmt": whole(14)},
            "ElectronicMktplaceOprRedlvr": {
                "OVRRSChk": self.boxes[15] != 0,
                "totRemServAmt": whole(15),
                "RedlvrMktOprLVGChk": self.boxes[16] != 0,
                "totRedlvrMktOprLVGAmt": whole(16),
            },
            "SupplierOfImpLVG": {"OwnImpLVGChk": self.boxes[17] != 0, "totOwnImpLVGAmt": whole(17)},
            "igdScheme": {"defImpPayableAmt": cents(19), "defTotalGoodsImp": whole(21)},
        }


def boxes_from(by_code: dict[str, tuple[Decimal, Decimal]], revenue: Decimal) -> dict[int, Decimal]:
    """Every box from the sums by tax code (value, GST) and the period's revenue."""
    boxes = dict.fromkeys(BOX_NUMBERS, ZERO)
    for code, (value, tax) in by_code.items():
        mapping = BOXES.get(code)
        if mapping is None:
            raise DomainError(f"{code} is not a GST tax code.", code="unknown_tax_code")
        for number in mapping.value_boxes:
            boxes[number] += value
        if mapping.tax_box is not None:
            boxes[mapping.tax_box] += tax
    boxes[4] = boxes[1] + boxes[2] + boxes[3]
    boxes[8] = boxes[6] - boxes[7]
    boxes[13] = revenue
    boxes[18] = boxes[8]
    boxes[20] = boxes[18] + boxes[19]
    return boxes


def f5_compute(*, company: Company, start: date, end: date, today: date | None = None) -> F5Return:
    """The F5 for the dates from `start` to `end` (a period of the company's cycle that has
    ended), from the journal lines dated in it."""
    f5_period_check(company=company, start=start, end=end, today=today)
    sums = ledger_selectors.return_sums(company=company, start=start, end=end)
    return F5Return(
        start=start, end=end, boxes=boxes_from(sums.by_code, sums.revenue), by_code=sums.by_code
    )


def f5_period_check(*, company: Company, start: date, end: date, today: date | None = None) -> None:
    """Refuse a period no return can be made for: reversed, not yet ended, or a company not
    registered for GST."""
    today = today or timezone.localdate()
    if start > end:
        raise InvalidPeriod("The period must start before it ends.")
    if end >= today:
        raise InvalidPeriod(
            f"The period ends on {end:%d %b %Y}: a return is made once its period has ended."
        )
    if not company.gst_registered:
        raise DomainError(
            "This company is not registered for GST: it files no GST return.",
            code="not_gst_registered",
            status=409,
        )


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months_later(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def period_of(*, company: Company, day: date) -> tuple[date, date]:
    """The accounting period of the company's GST cycle that holds `day`: a quarter
    starting in `gst_period_start_month` (cycles A, B, C) or a calendar month."""
    if company.gst_period == GstPeriod.MONTHLY:
        return day.replace(day=1), _month_end(day.year, day.month)
    back = (day.month - company.gst_period_start_month) % 3
    year, month = _months_later(day.replace(day=1), -back)
    last_year, last_month = _months_later(date(year, month, 1), 2)
    return date(year, month, 1), _month_end(last_year, last_month)


def periods_ended(*, company: Company, today: date, count: int = 4) -> list[tuple[date, date]]:
    """The company's last `count` periods that have ended by `today`, newest first."""
    periods = []
    start, _ = period_of(company=company, day=today)
    for _ in range(count):
        start, end = period_of(company=company, day=start - timedelta(days=1))
        periods.append((start, end))
    return periods


@dataclass(frozen=True)
class Period:
    """One accounting period of the company's cycle, as the GST pages and API list it."""

    start: date
    end: date
    due: date
    state: str  # "open" or "filed"
    late: bool  # due and not filed


def periods_recent(*, company: Company, today: date, count: int = 4) -> list[Period]:
    """The last `count` periods that have ended, newest first, with their due dates and
    whether each return was filed (one query for all of them)."""
    periods = periods_ended(company=company, today=today, count=count)
    with tenant_context(company):
        filed = set(
            GstReturn.objects.filter(start__in=[start for start, _ in periods]).values_list(
                "start", flat=True
            )
        )
    return [
        Period(
            start=start,
            end=end,
            due=due_date(end),
            state="filed" if start in filed else "open",
            late=start not in filed and due_date(end) < today,
        )
        for start, end in periods
    ]


def due_date(end: date) -> date:
    """When a period's return and its GST are due: one month after it ends (the last day
    of the next month; gst.md, section 7)."""
    year, month = _months_later(end.replace(day=1), 1)
    return _month_end(year, month)


def box_codes(number: int) -> list[str]:
    """The tax codes whose lines make up a box (for the drill-down)."""
    return sorted(
        code
        for code, mapping in BOXES.items()
        if number in mapping.value_boxes or mapping.tax_box == number
    )


def f5_state(*, company: Company, start: date, end: date) -> str:
    """ "filed" once a return was filed for the period, else "open"."""
    with tenant_context(company):
        filed = GstReturn.objects.filter(start=start, end=end).exists()
    return "filed" if filed else "open"


def f5_file(*, company: Company, start: date, end: date, actor: User | None = None) -> GstReturn:
    """Mark the period's F5 filed: its boxes are kept as they are now and the period is
    locked in the books, so a later adjustment is posted in the next open period. A return
    is filed for one period of the company's cycle, never for any other dates."""
    expected = period_of(company=company, day=start)
    if (start, end) != expected:
        raise InvalidPeriod(
            f"A return is filed for one accounting period: {expected[0]:%d %b %Y} to "
            f"{expected[1]:%d %b %Y} is the one holding {start:%d %b %Y}."
        )
    found = f5_compute(company=company, start=start, end=end)
    with tenant_context(company, all_or_nothing=True):
        if GstReturn.objects.filter(start__lte=end, end__gte=start).exists():
            raise Conflict("A return was already filed for these dates.", code="already_filed")
        filed = GstReturn.objects.create(
            company=company,
            start=start,
            end=end,
            boxes=found.as_data(),
            filed_at=timezone.now(),
            filed_by=actor,
        )
        ledger_services.period_lock(
            company=company,
            start=start,
            end=end,
            reason=f"GST F5 filed for {start} to {end}",
            actor=actor,
        )
        audit_record(action="gst.f5_filed", obj=filed, actor=actor)
    return filed


def rate_for_supply(
    *,
    invoiced_on: date | None,
    paid_on: date | None,
    delivered_on: date | None = None,
    elect_old_rate: bool = False,
) -> Decimal:
    """The standard rate of a supply invoiced, paid and delivered in full on these dates,
    across a rate change (gst.md, section 2, the rules IRAS gave for 1 Jan 2023 and 2024):

    - everything before the change: the old rate; everything on or after it: the new one;
    - invoiced before the change: the old rate if it was paid or delivered before it, else
      the new rate;
    - invoiced on or after it: the old rate if paid in full before it; delivered (not paid)
      before it: the old rate only if the supplier elects it;
    - paid before the change with no invoice yet: the old rate on what was paid.
    """
    known = [day for day in (invoiced_on, paid_on, delivered_on) if day is not None]
    if not known:
        raise ValueError("A supply needs an invoice, payment or delivery date.")
    first, last = min(known), max(known)
    old, new = gst_rate_on(first), gst_rate_on(last)
    if old == new:
        return new
    change = next(start for start, rate in GST_RATES if first < start <= last)
    before = {
        name: day is not None and day < change
        for name, day in (
            ("invoice", invoiced_on),
            ("payment", paid_on),
            ("delivery", delivered_on),
        )
    }
    if invoiced_on is None:
        return old if before["payment"] else new
    if before["invoice"]:
        return old if before["payment"] or before["delivery"] else new
    if before["payment"]:
        return old
    if before["delivery"] and elect_old_rate:
        return old
    return new


REMIND_DAYS_BEFORE = 14


def reminders_send(*, today: date | None = None) -> int:
    """Remind each GST-registered company's owner and finance people, once, when the return
    of its last ended period falls due within REMIND_DAYS_BEFORE days and is not filed yet.
    Returns how many companies were reminded."""
    today = today or timezone.localdate()
    with system_access(reason="find the GST returns falling due"):
        companies = list(Company.objects.filter(gst_registered=True).order_by("pk"))
    reminded = 0
    for company in companies:
        ((start, end),) = periods_ended(company=company, today=today, count=1)
        due = due_date(end)
        if not (due - timedelta(days=REMIND_DAYS_BEFORE) <= today <= due):
            continue
        with tenant_context(company, all_or_nothing=True):
            if GstReturn.objects.filter(start=start).exists():
                continue
            _, created = GstReminder.objects.get_or_create(
                company=company,
                period_start=start,
                defaults={"period_end": end, "due": due, "sent_at": timezone.now()},
            )
            if not created:
                continue
            found = f5_compute(company=company, start=start, end=end, today=today)
            people = Membership.objects.filter(
                company=company, role__in=(Role.OWNER, Role.FINANCE)
            ).select_related("user")
            for membership in people:
                mail_after_commit(
                    to=membership.user.email,
                    template="gst/mail/f5_due",
                    context={
                        "company": company.legal_name,
                        "period": f"{start:%d %b %Y} to {end:%d %b %Y}",
                        "due": f"{due:%d %b %Y}",
                        "net": f"{found.box(8):,.2f}",
                        "output": f"{found.box(6):,.2f}",
                        "input": f"{found.box(7):,.2f}",
                    },
                )
        reminded += 1
    return reminded


def rate_split(
    *,
    value: Decimal,
    change: date,
    invoiced_on: date | None,
    paid_before: Decimal,
    delivered_before: Decimal,
    elect_old_rate: bool = False,
) -> list[tuple[Decimal, Decimal]]:
    """A supply worth `value` (without GST) that spans the rate change on `change`, split
    into (value, rate) parts by IRAS's transitional rules (gst.md, section 2); the parts add up
    to `value`. `paid_before` and `delivered_before` are what was paid and what was delivered
    or performed before the change.

    - invoiced before the change: the old rate on everything if paid or delivered in full
      before it; otherwise the new rate on the lower of what was paid and what was delivered
      on or after it, the old rate on the rest;
    - invoiced on or after it (or not yet): the old rate on what was paid before it (on
      everything, if paid in full); if the supplier elects, the old rate on the higher of
      what was paid and what was delivered before it; the new rate on the rest.
    """
    old, new = gst_rate_on(change - timedelta(days=1)), gst_rate_on(change)
    if not (paid_before >= ZERO and delivered_before >= ZERO):
        raise ValueError("Amounts paid and delivered are not negative.")
    paid_before, delivered_before = min(paid_before, value), min(delivered_before, value)
    if invoiced_on is not None and invoiced_on < change:
        if paid_before >= value or delivered_before >= value:
            at_new = ZERO
        else:
            at_new = min(value - paid_before, value - delivered_before)
    else:
        at_old = max(paid_before, delivered_before) if elect_old_rate else paid_before
        at_new = value - at_old
    parts = [(value - at_new, old), (at_new, new)]
    return [(part, rate) for part, rate in parts if part > 0] or [(value, new)]
