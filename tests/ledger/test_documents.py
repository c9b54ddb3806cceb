"""Tax documents: which one a sale gets, what it says, its PDF and email, copies, and the
credit notes refunds issue, never above their invoice (the services and raw SQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pasar.core.events import relay_pending
from pasar.core.tenant import tenant_context
from pasar.gst.services import f5_compute
from pasar.ledger import rendering, services
from pasar.ledger.models import Document, DocumentKind, JournalEntry
from pasar.ledger.services.documents import Credited, credit_note_lines
from pasar.sales import services as sales_services
from pasar.sales.models import Cart, Order
from pasar.tenancy.models import Company
from tests.sales.conftest import Store, reload

pytestmark = pytest.mark.django_db


def relay_all() -> None:
    """Deliver events until none is left (a capture makes the order paid, which posts it)."""
    while relay_pending():
        pass


def _document(company: Company, order: Order) -> Document:
    with tenant_context(company):
        return Document.objects.select_related("corrects").get(
            order_number=order.number, corrects__isnull=True
        )


def _paid(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    *lines: tuple[object, int],
) -> Order:
    order = sales_services.order_place(company=store.company, cart=filled_cart(*lines))
    pay_order(order)
    relay_all()
    return reload(store.company, order)


def test_a_small_sale_gets_a_simplified_tax_invoice_emailed_with_its_pdf(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order = _paid(store, filled_cart, pay_order, (store.kopi, 2))
    document = _document(store.company, order)
    assert document.kind == DocumentKind.SIMPLIFIED_TAX_INVOICE
    assert document.number == "INV-000001"
    assert document.supplier["gst_number"] == "M90312345A"
    sent = [message for message in mail.outbox if document.number in message.subject]
    assert len(sent) == 1
    assert document.customer_email == sent[0].to[0]
    # The simplified tax invoice is the mail itself, with a link to its PDF; nothing attached.
    assert sent[0].attachments == []
    html = sent[0].alternatives[0][0]
    for needed in (
        "SIMPLIFIED TAX INVOICE",
        "M90312345A",
        "Price payable includes GST",
        "S$ 41.80",
    ):
        assert needed in html
    link = services.document_link(document)
    assert link in html
    client = Client()
    pdf = client.get(link.removeprefix(django_settings.PASAR_BASE_URL.rstrip("/")))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/documents/{token[:-2]}xx/").status_code == 404
    with tenant_context(store.company):
        document.refresh_from_db()
    assert document.outputs == 2  # emailed, then downloaded from the link: that was a copy
    assert document.emailed_at is not None
    html = rendering.document_html(document, copy=False)
    assert "SIMPLIFIED TAX INVOICE" in html
    assert "Price payable includes GST" in html
    assert "M90312345A" in html


def test_reprints_are_marked_as_copies(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order = _paid(store, filled_cart, pay_order, (store.kopi, 1))
    document = _document(store.company, order)
    assert document.outputs == 1  # the original went by email
    assert services.document_output(company=store.company, document=document) is False
    assert "(COPY)" in rendering.document_html(document, copy=True)
    assert "COPY" not in rendering.document_html(document, copy=False)


def test_a_sale_above_1000_gets_a_full_tax_invoice_naming_the_customer(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with tenant_context(store.company):
        store.kopi.price = Decimal("300.00")
        store.kopi.save(update_fields=["price"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order = _paid(store, filled_cart, pay_order, (store.kopi, 4))
    document = _document(store.company, order)
    (sent,) = [message for message in mail.outbox if document.number in message.subject]
    ((name, pdf, kind),) = sent.attachments  # a full tax invoice goes with its PDF
    assert (name, kind) == (f"{document.number}.pdf", "application/pdf")
    assert pdf.startswith(b"%PDF")
    assert document.kind == DocumentKind.TAX_INVOICE
    assert document.total > Decimal("1000")
    assert document.customer_address[-1] == "Singapore 560123"
    html = rendering.document_html(document, copy=False)
    for needed in ("TAX INVOICE", "Bill to", "Total excluding GST", "GST at 9%", "Standard-rated"):
        assert needed in html
    assert document.customer_name in html


def test_a_company_not_registered_for_gst_issues_receipts_that_say_so(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    store.company.gst_registered = False
    store.company.gst_number = ""
    store.company.save()
    document = _document(store.company, _paid(store, filled_cart, pay_order, (store.teh, 1)))
    assert document.kind == DocumentKind.RECEIPT
    assert document.number == "RCT-000001"
    assert document.gst == 0
    assert "not registered for GST" in rendering.document_html(document, copy=False)


def test_refunds_issue_credit_notes_that_reverse_the_gst_exactly(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = _paid(store, filled_cart, pay_order, (store.kopi, 2))
    invoice = _document(store.company, order)
    first = sales_services.order_refund(
        company=store.company,
        order=order,
        amount=Decimal("10.00"),
        reason="One bag arrived torn",
        actor=None,
        purpose="torn bag",
    )
    assert first is not None
    relay_all()
    with tenant_context(store.company):
        (note,) = Document.objects.filter(kind=DocumentKind.CREDIT_NOTE)
        entry = JournalEntry.objects.get(source="refund")
    assert note.corrects_id == invoice.pk
    assert note.number == "CN-000001"
    assert note.total == Decimal("10.00")
    # GST in proportion: 10.00 x 3.45 / 41.80 = 0.825... -> 0.83.
    assert note.gst == Decimal("0.83")
    assert entry.reference == note.number
    sales_services.order_refund(
        company=store.company,
        order=order,
        amount=invoice.total - Decimal("10.00"),
        reason="The rest",
        actor=None,
        purpose="the rest",
    )
    relay_all()
    with tenant_context(store.company):
        notes = list(Document.objects.filter(kind=DocumentKind.CREDIT_NOTE))
    assert sum(n.total for n in notes) == invoice.total
    assert sum(n.gst for n in notes) == invoice.gst
    paid_on = order.paid_at.date()
    today = date(paid_on.year + 1, 1, 1)
    f5 = f5_compute(company=store.company, start=paid_on, end=paid_on, today=today)
    assert f5.box(6) == 0
    assert f5.box(1) == 0


def test_a_credit_note_above_what_is_left_of_its_invoice_is_refused(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    invoice = _document(store.company, _paid(store, filled_cart, pay_order, (store.kopi, 1)))
    with tenant_context(store.company):
        services.credit_note_issue(
            company=store.company,
            document=invoice,
            amount=Decimal("5.00"),
            reason="Goodwill",
            day=invoice.issued_on,
        )
        with pytest.raises(services.CreditTooLarge, match="left to credit"):
            services.credit_note_issue(
                company=store.company,
                document=invoice,
                amount=invoice.total - Decimal("4.99"),
                reason="Too much",
                day=invoice.issued_on,
            )
        assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_database_keeps_issued_documents_and_their_credit_limit(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    invoice = _document(store.company, _paid(store, filled_cart, pay_order, (store.kopi, 1)))
    for statement in (
        "UPDATE ledger_document SET total = 1 WHERE id = %s",
        "DELETE FROM ledger_document WHERE id = %s",
        # A credit note for more than the invoice, written past the service.
        "INSERT INTO ledger_document (company_id, public_id, kind, number, issued_on, supplier,"
        " customer_name, customer_email, customer_address, currency, gst_rate,"
        " prices_include_gst, lines, subtotal, gst, total, corrects_id, reason, outputs,"
        " created_at, order_number) SELECT company_id, gen_random_uuid(), 'credit_note',"
        " 'CN-X', issued_on, supplier, '', '', '[]', 'SGD', gst_rate, true, '[]', total,"
        " 0, total + 1, id, 'x', 0, now(), '' FROM ledger_document WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError),
            transaction.atomic(),
            tenant_context(store.company),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [invoice.pk])
    with tenant_context(store.company):
        # Printing it again is the one change allowed.
        assert services.document_output(company=store.company, document=invoice) is False
        kept = Document.objects.get(pk=invoice.pk)
    assert kept.total == invoice.total
    assert kept.outputs == 2


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(refunds=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=6))
def test_credit_notes_never_exceed_their_invoice_and_a_full_credit_returns_all_its_gst(
    refunds: list[int],
) -> None:
    """Any run of credits against one invoice: each refused once it would go above what is
    left; when the invoice is credited in full, its GST is credited to the cent."""
    invoice = Document(
        kind=DocumentKind.TAX_INVOICE,
        total=Decimal("50.17"),
        gst=Decimal("4.14"),
        subtotal=Decimal("46.03"),
        lines=[
            {"description": "a", "tax_code": "SR", "amount": "40.00", "gst": "3.60"},
            {"description": "b", "tax_code": "SR", "amount": "6.03", "gst": "0.54"},
        ],
    )
    total = gst = Decimal(0)
    for cents in refunds:
        amount = min(Decimal(cents) / 100, invoice.total - total)
        if amount <= 0:
            break
        lines, note_gst = credit_note_lines(invoice, amount, Credited(total=total, gst=gst))
        assert sum(Decimal(line["amount"]) + Decimal(line["gst"]) for line in lines) == amount
        assert Decimal(0) <= note_gst <= amount
        total, gst = total + amount, gst + note_gst
        assert total <= invoice.total
        assert gst <= invoice.gst
    if total == invoice.total:
        assert gst == invoice.gst
