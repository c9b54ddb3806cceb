"""What business events post: stock movements at their cost, supplier bills and payments,
manual journals; and, for any sequence of them, balanced books."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pasar.core.audit import AuditEntry
from pasar.core.errors import Conflict, DomainError
from pasar.core.events import relay_pending
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.gst.services import f5_compute
from pasar.inventory import services as inventory_services
from pasar.ledger import chart, postings, services
from pasar.ledger.models import Account, JournalEntry, JournalLine, SupplierBill
from pasar.ledger.selectors import account_balances
from pasar.sales import services as sales_services
from pasar.sales.models import Cart, Order
from pasar.tenancy.models import Company, User
from tests.sales.conftest import Store, reload

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 20)


def relay_all() -> None:
    while relay_pending():
        pass


def _balance(company: Company, role: str) -> Decimal:
    with tenant_context(company):
        lines = JournalLine.objects.filter(account__role=role)
        return sum((line.debit - line.credit for line in lines), Decimal(0))


def test_stock_moves_between_inventory_goods_received_and_cost_of_sales_at_its_cost(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    owner: User,
) -> None:
    relay_all()
    # The store's receipts: 10 kopi at 6.00, 5 teh at 4.00.
    assert _balance(store.company, chart.INVENTORY) == Decimal("80.00")
    assert _balance(store.company, chart.GOODS_RECEIVED) == Decimal("-80.00")
    order = sales_services.order_place(company=store.company, cart=filled_cart((store.kopi, 3)))
    pay_order(order)
    relay_all()
    sales_services.order_ship(
        company=store.company,
        order=reload(store.company, order),
        location=store.warehouse,
        quantities=None,
        carrier="Ninja Van",
        tracking_number="NV123",
        actor=owner,
    )
    relay_all()
    assert _balance(store.company, chart.COGS) == Decimal("18.00")
    assert _balance(store.company, chart.INVENTORY) == Decimal("62.00")
    inventory_services.stock_adjust(
        company=store.company,
        variant=store.teh,
        location=store.warehouse,
        quantity=-1,
        reason="Dropped and broken",
        actor=owner,
    )
    relay_all()
    assert _balance(store.company, chart.WRITE_OFFS) == Decimal("4.00")
    with tenant_context(store.company):
        entry = JournalEntry.objects.filter(source="stock").last()
        assert entry is not None
        assert {line.location for line in entry.lines.all()} == {str(store.warehouse.public_id)}


def _lines(*specs: tuple[str, str, str]) -> list[services.BillLineInput]:
    return [
        services.BillLineInput(
            account_code=code, description="x", amount=Decimal(amount), tax_code=tax
        )
        for code, amount, tax in specs
    ]


def test_a_bill_posts_its_gst_as_input_tax_and_its_payment_clears_it(
    store: Store, owner: User
) -> None:
    services.chart_install(company=store.company)
    bill = services.bill_enter(
        company=store.company,
        supplier_name="Kopi Beans Trading",
        supplier_reference="KB-1041",
        bill_date=TODAY - timedelta(days=3),
        due_date=TODAY + timedelta(days=27),
        lines=_lines(("2050", "80.00", "TX"), ("6100", "1000.00", "TX"), ("6900", "50.00", "ZP")),
        actor=owner,
        today=TODAY,
    )
    # 9% on each claimable line: 7.20 + 90.00.
    assert (bill.subtotal, bill.gst, bill.total) == (
        Decimal("1130.00"),
        Decimal("97.20"),
        Decimal("1227.20"),
    )
    assert _balance(store.company, chart.GST_INPUT) == Decimal("97.20")
    assert _balance(store.company, chart.PAYABLES) == Decimal("-1227.20")
    f5 = f5_compute(company=store.company, start=bill.bill_date, end=bill.bill_date, today=TODAY)
    assert (f5.box(5), f5.box(7)) == (Decimal("1130.00"), Decimal("97.20"))
    services.bill_pay(
        company=store.company,
        bill=bill,
        amount=Decimal("1000.00"),
        paid_on=TODAY,
        actor=owner,
        today=TODAY,
    )
    with pytest.raises(DomainError, match=r"owes S\$227\.20"):
        services.bill_pay(
            company=store.company,
            bill=bill,
            amount=Decimal("227.21"),
            paid_on=TODAY,
            actor=owner,
            today=TODAY,
        )
    assert _balance(store.company, chart.PAYABLES) == Decimal("-227.20")
    with tenant_context(store.company):
        assert AuditEntry.objects.filter(action="ledger.bill_paid").count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"bill_date": TODAY + timedelta(days=1)}, "future_date"),
        ({"lines": _lines(("6100", "10.00", "SR"))}, "unknown_tax_code"),
        ({"lines": _lines(("4000", "10.00", "TX"))}, "unknown_account"),
        ({"lines": _lines(("6100", "0", "TX"))}, "invalid_amount"),
        ({"due_date": TODAY - timedelta(days=9)}, "invalid_due_date"),
    ],
)
def test_a_bad_bill_is_refused_and_nothing_written(
    store: Store, owner: User, change: dict[str, Any], code: str
) -> None:
    services.chart_install(company=store.company)
    entries = _entry_count(store.company)
    bill = {
        "company": store.company,
        "supplier_name": "Kopi Beans Trading",
        "supplier_reference": "KB-1",
        "bill_date": TODAY - timedelta(days=1),
        "due_date": TODAY,
        "lines": _lines(("6100", "10.00", "TX")),
        "actor": owner,
        "today": TODAY,
    }
    with pytest.raises(DomainError) as refused:
        services.bill_enter(**{**bill, **change})
    assert refused.value.code == code
    assert _entry_count(store.company) == entries
    with tenant_context(store.company):
        assert not SupplierBill.objects.exists()


def _entry_count(company: Company) -> int:
    with tenant_context(company):
        return JournalEntry.objects.count()


def test_a_manual_journal_is_posted_audited_and_refused_when_unbalanced(
    company: Company, owner: User
) -> None:
    services.chart_install(company=company)
    entry = services.journal_post_manual(
        company=company,
        day=TODAY,
        description="November rent accrued",
        lines=[
            services.ManualLine(account_code="6100", debit=Decimal("3000.00")),
            services.ManualLine(account_code="2300", credit=Decimal("3000.00")),
        ],
        actor=owner,
        today=TODAY,
    )
    with tenant_context(company):
        assert AuditEntry.objects.filter(action="journal.posted").count() == 1
        assert entry.created_by == owner
    for lines, code in (
        (
            [
                services.ManualLine(account_code="6100", debit=Decimal("10.00")),
                services.ManualLine(account_code="2300", credit=Decimal("9.99")),
            ],
            "unbalanced_entry",
        ),
        (
            [
                services.ManualLine(account_code="6100", debit=Decimal("10.00")),
                services.ManualLine(account_code="9999", credit=Decimal("10.00")),
            ],
            "unknown_account",
        ),
    ):
        with pytest.raises(DomainError) as refused:
            services.journal_post_manual(
                company=company,
                day=TODAY,
                description="x",
                lines=lines,
                actor=owner,
                today=TODAY,
            )
        assert refused.value.code == code
    assert _entry_count(company) == 1


def test_an_account_in_use_is_archived_never_deleted(company: Company, owner: User) -> None:
    services.chart_install(company=company)
    with tenant_context(company):
        rent = Account.objects.get(code="6100")
        clearing = Account.objects.get(role=chart.PAYMENT_CLEARING)
    services.journal_post_manual(
        company=company,
        day=TODAY,
        description="Rent",
        lines=[
            services.ManualLine(account_code="6100", debit=Decimal("1.00")),
            services.ManualLine(account_code="1000", credit=Decimal("1.00")),
        ],
        actor=owner,
        today=TODAY,
    )
    with pytest.raises(Conflict, match="archive it instead"):
        services.account_delete(company=company, account=rent, actor=owner)
    with pytest.raises(Conflict, match="cannot be archived"):
        services.account_update(company=company, account=clearing, archived=True, actor=owner)
    services.account_update(company=company, account=rent, archived=True, actor=owner)
    with pytest.raises(Conflict, match="archived account"):
        services.journal_post_manual(
            company=company,
            day=TODAY,
            description="Rent",
            lines=[
                services.ManualLine(account_code="6100", debit=Decimal("1.00")),
                services.ManualLine(account_code="1000", credit=Decimal("1.00")),
            ],
            actor=owner,
            today=TODAY,
        )
    spare = services.account_create(
        company=company, code="6300", name="Marketing", kind="expense", actor=owner
    )
    services.account_delete(company=company, account=spare, actor=owner)


# -- any sequence of business events keeps the books balanced ------------------------------


def relayed_event(company: Company, topic: str, payload: dict[str, Any], day: date) -> OutboxEvent:
    """An event as the relay hands it over (not stored: the postings read only these fields)."""
    moment = timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 12))
    return OutboxEvent(
        company_id=company.pk,
        topic=topic,
        payload=payload,
        public_id=uuid4(),
        created_at=moment,
    )


def paid_order_payload(number: int, net: Decimal, shipping: Decimal, day: date) -> dict[str, Any]:
    gst = (net * Decimal("9") / Decimal("109")).quantize(Decimal("0.01"))
    shipping_gst = (shipping * Decimal("9") / Decimal("109")).quantize(Decimal("0.01"))
    return {
        "order": str(uuid4()),
        "number": f"SO-{number:06d}",
        "total": str(net + shipping),
        "channel": "web",
        "prices_include_gst": True,
        "gst_rate": "0.09",
        "shipping": str(shipping),
        "shipping_gst": str(shipping_gst),
        "gst": str(gst + shipping_gst),
        "lines": [
            {
                "sku": "KOPI",
                "name": "Kopi",
                "tax_code": "SR",
                "quantity": 1,
                "unit_price": str(net),
                "discount": "0",
                "net": str(net),
                "gst": str(gst),
            }
        ],
        "paid_at": f"{day.isoformat()}T04:00:00+00:00",
        "bill_to": {"name": "Tan Ah Kow", "email": "", "address": []},
    }


business_event = st.one_of(
    st.tuples(st.just("sale"), st.integers(1, 200_000), st.integers(0, 1_500)),
    st.tuples(st.just("refund"), st.integers(1, 200_000), st.integers(0, 5)),
    st.tuples(st.just("stock"), st.integers(-50, 50), st.integers(1, 99_999)),
    st.tuples(st.just("bill"), st.integers(1, 500_000), st.integers(0, 2)),
    st.tuples(st.just("payout"), st.integers(1, 500_000), st.integers(0, 3_000)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(happenings=st.lists(business_event, min_size=1, max_size=12))
def test_any_sequence_of_business_events_keeps_every_entry_balanced_and_the_books_at_zero(
    company: Company, owner: User, happenings: list[tuple[str, int, int]]
) -> None:
    company.gst_registered, company.gst_number = True, "M90312345A"
    company.save()
    services.chart_install(company=company)
    day = date(2026, 6, 1)
    sales: list[dict[str, Any]] = []
    for index, (kind, first, second) in enumerate(happenings):
        if kind == "sale":
            payload = paid_order_payload(
                index + 1, Decimal(first) / 100, Decimal(second) / 100, day
            )
            sales.append(payload)
            postings.sale_post(event=relayed_event(company, "order.paid", payload, day))
        elif kind == "refund" and sales:
            sale = sales[second % len(sales)]
            payload = {"reference": sale["number"], "refund_amount": str(Decimal(first) / 100)}
            postings.refund_post(event=relayed_event(company, "payment.refunded", payload, day))
        elif kind == "stock":
            payload = {
                "kind": ["receipt", "sale", "adjustment"][abs(first) % 3],
                "quantity": first or 1,
                "unit_cost": str(Decimal(second) / 10_000),
                "sku": "KOPI",
                "location": str(uuid4()),
            }
            postings.stock_post(event=relayed_event(company, "stock.changed", payload, day))
        elif kind == "bill":
            services.bill_enter(
                company=company,
                supplier_name="Supplier",
                supplier_reference=str(uuid4()),
                bill_date=day,
                due_date=day,
                lines=_lines(("6900", str(Decimal(first) / 100), ["TX", "ZP", "BL"][second])),
                actor=owner,
                today=TODAY,
            )
        elif kind == "payout":
            gross = Decimal(first) / 100
            fee = min(Decimal(second) / 100, gross)
            services.payout_record(
                company=company,
                gateway="Stripe",
                reference=str(uuid4()),
                paid_on=day,
                gross=gross,
                fee=fee,
                fee_gst=min((fee * Decimal("0.09")).quantize(Decimal("0.01")), gross - fee),
                actor=owner,
                today=TODAY,
            )
    with tenant_context(company):
        for entry in JournalEntry.objects.prefetch_related("lines"):
            lines = list(entry.lines.all())
            assert sum(line.debit for line in lines) == sum(line.credit for line in lines)
    balances = account_balances(company=company, end=TODAY)
    assert sum((row.debit - row.credit for row in balances), Decimal(0)) == 0
    f5 = f5_compute(company=company, start=day, end=day, today=TODAY)
    assert f5.box(4) == f5.box(1) + f5.box(2) + f5.box(3)
    assert f5.box(8) == f5.box(6) - f5.box(7)
    assert f5.box(6) == -_balance(company, chart.GST_OUTPUT)
    assert f5.box(7) == _balance(company, chart.GST_INPUT)


def test_an_event_dated_in_a_filed_period_posts_in_the_next_open_one(
    company: Company, owner: User
) -> None:
    company.gst_registered, company.gst_number = True, "M90312345A"
    company.save()
    services.chart_install(company=company)
    services.period_lock(
        company=company, start=date(2026, 7, 1), end=date(2026, 9, 30), reason="Q3 filed"
    )
    paid_on = date(2026, 9, 29)
    payload = paid_order_payload(7, Decimal("109.00"), Decimal(0), paid_on)
    entry = postings.sale_post(event=relayed_event(company, "order.paid", payload, paid_on))
    assert entry is not None
    assert entry.date == date(2026, 10, 1)
    with tenant_context(company):
        assert JournalEntry.objects.get(pk=entry.pk).reference.startswith("INV-")
    refund = {
        "reference": payload["number"],
        "refund_amount": "10.90",
        "refunded_at": "2026-09-30T03:00:00+00:00",
    }
    posted = postings.refund_post(event=relayed_event(company, "payment.refunded", refund, paid_on))
    assert posted is not None
    assert posted.date == date(2026, 10, 1)
    moved = {
        "kind": "sale",
        "quantity": -1,
        "unit_cost": "4.0000",
        "sku": "KOPI",
        "location": str(uuid4()),
        "moved_at": "2026-08-01T02:00:00+00:00",
    }
    stock = postings.stock_post(event=relayed_event(company, "stock.changed", moved, paid_on))
    assert stock is not None
    assert stock.date == date(2026, 10, 1)


def test_a_payment_without_a_sale_waits_in_customer_payments_and_its_refund_comes_from_there(
    company: Company,
) -> None:
    services.chart_install(company=company)
    day = date(2026, 11, 2)
    captured = {
        "capture": str(uuid4()),
        "reference": "PHONE-ORDER-7",
        "amount": "50.00",
        "gateway": "sandbox",
        "captured_at": "2026-11-02T02:00:00+00:00",
    }
    postings.capture_post(event=relayed_event(company, "payment.captured", captured, day))
    assert _balance(company, chart.PAYMENT_CLEARING) == Decimal("50.00")
    assert _balance(company, chart.CUSTOMER_RECEIPTS) == Decimal("-50.00")
    refunded = {
        "reference": "PHONE-ORDER-7",
        "refund_amount": "20.00",
        "refunded_at": "2026-11-03T02:00:00+00:00",
        "capture_announced": True,
    }
    postings.refund_post(event=relayed_event(company, "payment.refunded", refunded, day))
    assert _balance(company, chart.PAYMENT_CLEARING) == Decimal("30.00")
    assert _balance(company, chart.CUSTOMER_RECEIPTS) == Decimal("-30.00")
    # Paid twice, the second capture kept for review and refunded: never booked, so nothing.
    unannounced = {**refunded, "capture_announced": False}
    assert (
        postings.refund_post(event=relayed_event(company, "payment.refunded", unannounced, day))
        is None
    )
    assert _balance(company, chart.PAYMENT_CLEARING) == Decimal("30.00")
