"""The books: balanced entries, immutability, locked periods and the sale posted from a paid
order, checked through the services and against raw SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pasar.core.errors import DomainError
from pasar.core.events import relay_pending
from pasar.core.models import OutboxEvent
from pasar.core.tenant import system_access, tenant_context
from pasar.ledger import chart, services
from pasar.ledger.models import Account, Document, DocumentKind, JournalEntry, JournalLine
from pasar.ledger.postings import sale_post
from pasar.ledger.services import Line
from pasar.sales import services as sales_services
from pasar.sales.models import Cart, Order
from pasar.tenancy.models import Company
from tests.sales.conftest import Store

DAY = date(2026, 3, 14)


def _balances(company: Company) -> tuple[Decimal, Decimal]:
    with tenant_context(company):
        lines = JournalLine.objects.all()
        return (
            sum((line.debit for line in lines), Decimal(0)),
            sum((line.credit for line in lines), Decimal(0)),
        )


def _raw(company: Company, sql: str, params: list[object] | dict[str, object]) -> None:
    """Statements as the app role may send them, in the company's context."""
    with tenant_context(company), connection.cursor() as cursor:
        for statement in sql.split(";"):
            cursor.execute(statement, params)


ENTRY_AND_ONE_LINE = (
    "INSERT INTO ledger_journalentry (company_id, public_id, number, date, description, source,"
    " reference, posted_at) VALUES (%(company)s, gen_random_uuid(), 'JE-X', %(day)s, 'x',"
    " 'manual', '', now());"
    "INSERT INTO ledger_journalline (company_id, entry_id, account_id, date, debit, credit,"
    " tax_code, tax_base, tax, description) SELECT %(company)s, max(id), %(account)s, %(day)s,"
    " 10, 0, '', 0, 0, '' FROM ledger_journalentry"
)
LINE_TO_ENTRY = (
    "INSERT INTO ledger_journalline (company_id, entry_id, account_id, date, debit, credit,"
    " tax_code, tax_base, tax, description) VALUES (%(company)s, %(entry)s, %(account)s,"
    " %(day)s, 10, 0, '', 0, 0, '')"
)


def _sale(amount: str, gst: str) -> list[Line]:
    return [
        Line(account=chart.PAYMENT_CLEARING, debit=Decimal(amount)),
        Line(
            account=chart.SALES,
            credit=Decimal(amount) - Decimal(gst),
            tax_code="SR",
            tax_base=Decimal(amount) - Decimal(gst),
        ),
        Line(account=chart.GST_OUTPUT, credit=Decimal(gst), tax_code="SR", tax=Decimal(gst)),
    ]


@pytest.mark.django_db
def test_the_chart_is_installed_once(company: Company) -> None:
    first = services.chart_install(company=company)
    again = services.chart_install(company=company)
    assert len(first) == len(again) == len(chart.SME_CHART)
    roles = {account.role for account in first if account.role}
    assert {chart.PAYMENT_CLEARING, chart.GST_OUTPUT, chart.GST_INPUT, chart.SALES} <= roles


@pytest.mark.django_db
def test_a_posted_entry_is_numbered_and_balanced(company: Company) -> None:
    entry = services.entry_post(
        company=company,
        day=DAY,
        description="Counter sale",
        source="manual",
        lines=_sale("109.00", "9.00"),
    )
    second = services.entry_post(
        company=company,
        day=DAY,
        description="Counter sale",
        source="manual",
        lines=_sale("10.90", "0.90"),
    )
    assert (entry.number, second.number) == ("JE-000001", "JE-000002")
    assert _balances(company) == (Decimal("119.90"), Decimal("119.90"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lines", "code"),
    [
        (
            [
                Line(account=chart.BANK, debit=Decimal(5)),
                Line(account=chart.SALES, credit=Decimal(4)),
            ],
            "unbalanced_entry",
        ),
        ([Line(account=chart.BANK, debit=Decimal(5))], "unbalanced_entry"),
        (
            [
                Line(account=chart.BANK, debit=Decimal(-5)),
                Line(account=chart.SALES, credit=Decimal(-5)),
            ],
            "unbalanced_entry",
        ),
        (
            [
                Line(account=chart.BANK, debit=Decimal(5), credit=Decimal(5)),
                Line(account=chart.SALES, credit=Decimal(0)),
            ],
            "unbalanced_entry",
        ),
        (
            [
                Line(account=chart.BANK, debit=Decimal(5)),
                Line(account=chart.SALES, credit=Decimal(5), tax_code="XX"),
            ],
            "unknown_tax_code",
        ),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(
    company: Company, lines: list[Line], code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        services.entry_post(
            company=company, day=DAY, description="Bad", source="manual", lines=lines
        )
    assert refused.value.code == code
    assert refused.value.status == 400
    with tenant_context(company):
        assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_unbalanced_entry_even_by_raw_sql(company: Company) -> None:
    services.chart_install(company=company)
    with tenant_context(company):
        bank = Account.objects.get(role=chart.BANK).pk
    params = {"company": company.pk, "day": DAY, "account": bank}
    with pytest.raises(DatabaseError, match="does not balance"):
        _raw(company, ENTRY_AND_ONE_LINE, params)
    with tenant_context(company):
        assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_posted_entry_never_changes(company: Company) -> None:
    entry = services.entry_post(
        company=company, day=DAY, description="Sale", source="manual", lines=_sale("10.90", "0.90")
    )
    for statement in (
        "UPDATE ledger_journalline SET debit = debit + 1 WHERE entry_id = %s",
        "DELETE FROM ledger_journalline WHERE entry_id = %s",
        "UPDATE ledger_journalentry SET date = date + 1 WHERE id = %s",
        "DELETE FROM ledger_journalentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="never changed"):
            _raw(company, statement, [entry.pk])
    assert _balances(company) == (Decimal("10.90"), Decimal("10.90"))


@pytest.mark.django_db(transaction=True)
def test_nothing_posts_into_a_locked_period(company: Company) -> None:
    services.period_lock(
        company=company, start=date(2026, 1, 1), end=date(2026, 3, 31), reason="Q1 closed"
    )
    with pytest.raises(services.PeriodLocked) as refused:
        services.entry_post(
            company=company,
            day=DAY,
            description="Late",
            source="manual",
            lines=_sale("10.90", "0.90"),
        )
    assert refused.value.status == 409
    later = services.entry_post(
        company=company,
        day=date(2026, 4, 1),
        description="Next period",
        source="manual",
        lines=_sale("10.90", "0.90"),
    )
    assert later.number == "JE-000001"  # the refused entry gave its number back
    with tenant_context(company):
        account = Account.objects.get(role=chart.BANK).pk
        entry_id = later.pk
    params = {"company": company.pk, "entry": entry_id, "account": account, "day": DAY}
    with pytest.raises(DatabaseError, match="locked"):
        _raw(company, LINE_TO_ENTRY, params)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sales=st.lists(st.tuples(amounts, amounts), min_size=1, max_size=6),
    reverse_first=st.booleans(),
)
def test_any_postings_and_reversals_leave_the_trial_balance_at_zero(
    company: Company, sales: list[tuple[Decimal, Decimal]], reverse_first: bool
) -> None:
    with transaction.atomic():
        posted = [
            services.entry_post(
                company=company,
                day=DAY,
                description="Generated",
                source="manual",
                lines=[
                    Line(account=chart.PAYMENT_CLEARING, debit=value + tax),
                    Line(account=chart.SALES, credit=value, tax_code="SR", tax_base=value),
                    Line(account=chart.GST_OUTPUT, credit=tax, tax_code="SR", tax=tax),
                ],
            )
            for value, tax in sales
        ]
        debits, credits = _balances(company)
        assert debits == credits == sum((value + tax for value, tax in sales), Decimal(0))
        if reverse_first:
            services.entry_reverse(company=company, entry=posted[0], day=DAY)
            with tenant_context(company):
                lines = JournalLine.objects.filter(entry__in=[posted[0], posted[0].reversed_by])
                net = {}
                for line in lines:
                    net[line.account_id] = net.get(line.account_id, Decimal(0)) + line.amount
                assert set(net.values()) == {Decimal(0)}
                assert sum(line.tax_base for line in lines) == 0
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_a_paid_order_is_posted_once_as_a_sale_with_its_gst(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = sales_services.order_place(company=store.company, cart=filled_cart((store.kopi, 2)))
    pay_order(order)
    with tenant_context(store.company):
        entry = JournalEntry.objects.get(source="sale")
        lines = {line.account.role: line for line in entry.lines.select_related("account")}
        # Two at S$18.90 plus S$4.00 delivery, 9% GST inside: 41.80 = 38.35 + 3.45.
        document = Document.objects.get(order_number=order.number)
    assert entry.reference == document.number == "INV-000001"
    assert document.kind == DocumentKind.SIMPLIFIED_TAX_INVOICE
    assert (document.subtotal, document.gst, document.total) == (
        Decimal("38.35"),
        Decimal("3.45"),
        Decimal("41.80"),
    )
    # The capture put the money in clearing, owed to the customer; the sale takes it there.
    assert lines[chart.CUSTOMER_RECEIPTS].debit == Decimal("41.80")
    with tenant_context(store.company):
        capture = JournalEntry.objects.get(source="capture")
        assert capture.reference == order.number
        assert {
            (line.account.role, line.debit, line.credit)
            for line in capture.lines.select_related("account")
        } == {
            (chart.PAYMENT_CLEARING, Decimal("41.80"), Decimal(0)),
            (chart.CUSTOMER_RECEIPTS, Decimal(0), Decimal("41.80")),
        }
    assert lines[chart.SALES].credit + lines[chart.SHIPPING_INCOME].credit == Decimal("38.35")
    assert lines[chart.GST_OUTPUT].credit == lines[chart.GST_OUTPUT].tax == Decimal("3.45")
    assert lines[chart.SALES].tax_base == lines[chart.SALES].credit
    with system_access(reason="test: deliver again"):
        paid = OutboxEvent.objects.get(topic="order.paid")
    assert sale_post(event=paid) == entry  # the same event again posts nothing new
    relay_pending()
    with tenant_context(store.company):
        assert JournalEntry.objects.filter(source="sale").count() == 1
