"""Tax documents: the invoice or receipt a sale is issued, the credit notes that correct it.

Which document a sale gets (../shared/reference/gst.md, section 5, written up in docs/gst.md):
- a company not registered for GST issues a receipt, which says no GST was charged;
- a registered company issues a simplified tax invoice when the total with GST is at most
  S$1,000 and every line is standard-rated (Reg 13), else a full tax invoice (Reg 11).

Numbers are gapless per series (INV, RCT, CN: `numbering.next_number` in the document's own
transaction). An issued document never changes (the database refuses it); a credit note never
takes its document's credits above the document's total (the database refuses that too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from pasar.core import numbering
from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError
from pasar.core.money import CENT, parse_money, spread
from pasar.core.tenant import id_of, tenant_context
from pasar.ledger import chart, rendering
from pasar.ledger.models import (
    CREDIT_NOTE_PREFIX,
    INVOICE_PREFIX,
    RECEIPT_PREFIX,
    Document,
    DocumentKind,
)
from pasar.ledger.services.journals import Line, entry_post
from pasar.tenancy.models import Company, User

ZERO = Decimal("0.00")
SIMPLIFIED_LIMIT = Decimal("1000.00")  # total with GST, Reg 13
STANDARD_RATED = "SR"
SHIPPING_LINE = "Delivery"

SERIES = {
    DocumentKind.TAX_INVOICE: INVOICE_PREFIX,
    DocumentKind.SIMPLIFIED_TAX_INVOICE: INVOICE_PREFIX,
    DocumentKind.RECEIPT: RECEIPT_PREFIX,
    DocumentKind.CREDIT_NOTE: CREDIT_NOTE_PREFIX,
}


class CreditTooLarge(DomainError):
    code = "credit_above_document"


def _money(value: Any) -> Decimal:
    return parse_money(value if value not in (None, "") else "0", what="A document figure")


def _text(amount: Decimal) -> str:
    return f"{amount:.2f}"


def supplier_block(company: Company) -> dict[str, Any]:
    """The supplier as a document shows it, kept on the document as it was that day."""
    return {
        "name": company.legal_name,
        "uen": company.uen,
        "gst_number": company.gst_number if company.gst_registered else "",
        "address": [
            line
            for line in (
                company.address_line1,
                company.address_line2,
                f"Singapore {company.postal_code}" if company.postal_code else "",
            )
            if line
        ],
    }


def sale_document_kind(*, registered: bool, total: Decimal, codes: set[str]) -> str:
    if not registered:
        return DocumentKind.RECEIPT
    if total <= SIMPLIFIED_LIMIT and codes <= {STANDARD_RATED}:
        return DocumentKind.SIMPLIFIED_TAX_INVOICE
    return DocumentKind.TAX_INVOICE


def sale_document_lines(payload: dict[str, Any]) -> list[dict[str, str]]:
    """The document's lines from a paid order's figures: each line's amount without GST and
    its GST, then delivery as a line of its own."""
    registered = _money(payload.get("gst_rate")) > 0
    includes = bool(payload.get("prices_include_gst"))
    lines = []
    for line in payload["lines"]:
        net, gst = _money(line["net"]), _money(line.get("gst"))
        lines.append(
            {
                "description": f"{line['name']} ({line['sku']})",
                "tax_code": line["tax_code"] if registered else "",
                "quantity": str(line["quantity"]),
                "unit_price": _text(_money(line["unit_price"])),
                "discount": _text(_money(line.get("discount"))),
                "amount": _text(net - gst if includes else net),
                "gst": _text(gst),
            }
        )
    shipping, shipping_gst = _money(payload.get("shipping")), _money(payload.get("shipping_gst"))
    if shipping > 0:
        lines.append(
            {
                "description": SHIPPING_LINE,
                "tax_code": STANDARD_RATED if registered else "",
                "quantity": "1",
                "unit_price": _text(shipping),
                "discount": "0.00",
                "amount": _text(shipping - shipping_gst if includes else shipping),
                "gst": _text(shipping_gst),
                "shipping": "1",
            }
        )
    return lines


def sale_document_issue(
    *, company: Company, payload: dict[str, Any], day: date, event_id: Any
) -> Document:
    """The document for a paid order (once per event: the same event finds it again). In the
    caller's transaction and the company's context."""
    earlier = Document.objects.filter(event_id=event_id).exclude(kind=DocumentKind.CREDIT_NOTE)
    found = earlier.first()
    if found is not None:
        return found
    total, gst = _money(payload["total"]), _money(payload.get("gst"))
    lines = sale_document_lines(payload)
    registered = _money(payload.get("gst_rate")) > 0
    kind = sale_document_kind(
        registered=registered, total=total, codes={line["tax_code"] for line in lines}
    )
    bill_to = payload.get("bill_to") or {}
    return Document.objects.create(
        company_id=company.pk,
        kind=kind,
        number=numbering.next_number(company=company, prefix=SERIES[DocumentKind(kind)]),
        issued_on=day,
        order=payload.get("order"),
        order_number=payload.get("number", ""),
        supplier=supplier_block(company),
        customer_name=str(bill_to.get("name", ""))[:120],
        customer_email=str(bill_to.get("email", ""))[:254],
        customer_address=list(bill_to.get("address", [])),
        gst_rate=_money(payload.get("gst_rate")) if registered else Decimal(0),
        prices_include_gst=bool(payload.get("prices_include_gst")),
        lines=lines,
        subtotal=total - gst,
        gst=gst,
        total=total,
        event_id=event_id,
        created_at=timezone.now(),
    )


@dataclass(frozen=True)
class Credited:
    """What earlier credit notes took from a document."""

    total: Decimal
    gst: Decimal


def credited_so_far(document: Document) -> Credited:
    notes = list(document.credit_notes.values_list("total", "gst"))
    return Credited(
        total=sum((total for total, _ in notes), ZERO), gst=sum((gst for _, gst in notes), ZERO)
    )


def left_to_credit(document: Document) -> Decimal:
    """What credit notes may still take from a document (nothing from a credit note)."""
    if document.kind == DocumentKind.CREDIT_NOTE:
        return ZERO
    return document.total - credited_so_far(document).total


def credit_note_lines(
    document: Document, amount: Decimal, credited: Credited
) -> tuple[list[dict[str, str]], Decimal]:
    """The credit note's lines for `amount` (with GST) off `document`, and their GST.

    The GST part is the document's GST in proportion, rounded half-up; the note that credits
    what is left of the document takes exactly the GST left, so that a document credited in
    full has every cent of its GST reversed. The rest is spread over the document's lines in
    proportion to their amounts.
    """
    left = document.total - credited.total
    if amount == left:
        gst = document.gst - credited.gst
    else:
        gst = (amount * document.gst / document.total).quantize(CENT, rounding=ROUND_HALF_UP)
    originals = document.lines
    amounts = spread(amount - gst, [_money(line["amount"]) for line in originals])
    taxes = spread(gst, [_money(line["gst"]) for line in originals])
    lines = []
    for original, part, tax in zip(originals, amounts, taxes, strict=True):
        if part == 0 and tax == 0:
            continue
        line = {
            "description": original["description"],
            "tax_code": original["tax_code"],
            "quantity": "",
            "unit_price": "",
            "discount": "0.00",
            "amount": _text(part),
            "gst": _text(tax),
        }
        if original.get("shipping"):
            line["shipping"] = "1"
        lines.append(line)
    return lines, gst


def credit_note_issue(
    *,
    company: Company,
    document: Document,
    amount: Decimal,
    reason: str,
    day: date,
    event_id: Any = None,
    actor: User | None = None,
) -> Document:
    """A credit note for `amount` (with GST) off `document`. Refused above what is left of the
    document after its earlier credit notes. In the caller's transaction and context; the
    document is locked so two notes cannot both take its last dollars."""
    if amount <= 0:
        raise DomainError("A credit note is for more than nothing.", code="invalid_amount")
    if not reason.strip():
        raise DomainError("A credit note says why it was issued.", code="reason_required")
    if document.kind == DocumentKind.CREDIT_NOTE:
        raise Conflict("A credit note corrects an invoice or receipt, not another credit note.")
    if event_id is not None:
        earlier = Document.objects.filter(event_id=event_id, kind=DocumentKind.CREDIT_NOTE).first()
        if earlier is not None:
            return earlier
    Document.objects.select_for_update().filter(pk=document.pk).first()
    credited = credited_so_far(document)
    left = document.total - credited.total
    if amount > left:
        raise CreditTooLarge(
            f"{document.number} has S${left:,.2f} left to credit; S${amount:,.2f} is more.",
            details=[{"field": "amount", "left": _text(left)}],
        )
    lines, gst = credit_note_lines(document, amount, credited)
    note = Document.objects.create(
        company_id=id_of(company),
        kind=DocumentKind.CREDIT_NOTE,
        number=numbering.next_number(company=company, prefix=CREDIT_NOTE_PREFIX),
        issued_on=day,
        order=document.order,
        order_number=document.order_number,
        supplier=supplier_block(company),
        customer_name=document.customer_name,
        customer_email=document.customer_email,
        customer_address=document.customer_address,
        currency=document.currency,
        gst_rate=document.gst_rate,
        prices_include_gst=document.prices_include_gst,
        lines=lines,
        subtotal=amount - gst,
        gst=gst,
        total=amount,
        corrects=document,
        reason=reason.strip()[:200],
        event_id=event_id,
        created_at=timezone.now(),
    )
    if actor is not None:
        audit_record(action="ledger.credit_note_issued", obj=note, actor=actor)
    return note


def document_output(*, company: Company | int, document: Document, emailed: bool = False) -> bool:
    """Count one more output of the document (printed, downloaded or emailed); True when this
    one is the original, False for a copy (its PDF is marked COPY)."""
    with tenant_context(company, all_or_nothing=True):
        earlier = (
            Document.objects.select_for_update()
            .filter(pk=document.pk)
            .values_list("outputs", flat=True)
            .get()
        )
        changes: dict[str, Any] = {"outputs": earlier + 1}
        if emailed:
            changes["emailed_at"] = timezone.now()
        Document.objects.filter(pk=document.pk).update(**changes)
    document.outputs = earlier + 1
    return earlier == 0


DOCUMENT_LINK_SALT = "pasar.ledger.document-link"
# Documents whose email carries their PDF; the others (simplified tax invoices and receipts,
# issued for every shop sale) are in the email's own body, with a link to their PDF, so that
# a sale costs no PDF unless someone asks for one.
PDF_ATTACHED = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.CREDIT_NOTE})


def document_link(document: Document) -> str:
    """The customer's link to the document's PDF: signed, so it names one document of one
    company and cannot be altered into another."""
    token = signing.dumps([document.company_id, str(document.public_id)], salt=DOCUMENT_LINK_SALT)
    return f"{settings.PASAR_BASE_URL.rstrip('/')}/documents/{token}/"


def document_from_link(token: str) -> Document | None:
    """The document a customer's link names, or None for a link that was altered or made up."""
    try:
        company_id, public_id = signing.loads(token, salt=DOCUMENT_LINK_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    with tenant_context(company_id):
        return Document.objects.select_related("corrects").filter(public_id=public_id).first()


def document_send(*, company: Company | int, document_id: Any) -> Document:
    """Email a document to its customer: its particulars in the mail itself, with a link to
    its PDF, and for tax invoices and credit notes the PDF attached (the original, if nothing
    was output before; else a copy). Made and sent outside any transaction; the output is
    counted once the mail has gone."""
    with tenant_context(company):
        document = Document.objects.select_related("corrects").get(public_id=document_id)
    if not document.customer_email:
        raise DomainError(f"{document.number} has no email address to send it to.")
    first = document.outputs == 0
    context = {
        "title": document.title,
        "number": document.number,
        "shop": document.supplier.get("name", ""),
        "total": f"{document.total:,.2f}",
        "order": document.order_number,
        "link": document_link(document),
        "document": rendering.document_mail_context(document),
    }
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string("ledger/mail/document_subject.txt", context).split()),
        body=render_to_string("ledger/mail/document.txt", context),
        to=[document.customer_email],
    )
    message.attach_alternative(render_to_string("ledger/mail/document.html", context), "text/html")
    if document.kind in PDF_ATTACHED:
        pdf = rendering.document_pdf(document, copy=not first)
        message.attach(f"{document.number}.pdf", pdf, "application/pdf")
    message.send()
    document_output(company=company, document=document, emailed=True)
    return document


def document_email_after_commit(company: Company | int, document: Document) -> None:
    """Email the document to its customer once the transaction that issued it commits."""
    from pasar.ledger.tasks import document_email  # the tasks module imports this one

    transaction.on_commit(
        lambda: document_email.delay(id_of(company), str(document.public_id)), robust=True
    )


def credit_note_entry_lines(note: Document, *, paid_from: str, paid: Decimal) -> list[Line]:
    """A credit note's entry: sales, delivery and output tax debited back by tax code (their
    values and GST as negative sums, so that the return nets them), `paid` credited to the
    account the money leaves or is owed from. Paid beyond the note (more went back than the
    document had left) is debited to sales without GST."""
    lines = []
    for item in note.lines:
        amount = _money(item["amount"])
        if amount > 0:
            lines.append(
                Line(
                    account=chart.SHIPPING_INCOME if item.get("shipping") else chart.SALES,
                    debit=amount,
                    tax_code=item["tax_code"],
                    tax_base=-amount,
                    description=item["description"],
                )
            )
    if note.gst > 0:
        lines.append(
            Line(account=chart.GST_OUTPUT, debit=note.gst, tax_code=STANDARD_RATED, tax=-note.gst)
        )
    beyond = paid - note.total
    if beyond > 0:
        lines.append(Line(account=chart.SALES, debit=beyond, description="Paid above the document"))
    lines.append(Line(account=paid_from, credit=paid))
    return lines


def credit_note_correct(
    *,
    company: Company,
    document: Document,
    amount: Decimal,
    reason: str,
    actor: User,
    today: date | None = None,
) -> Document:
    """Finance credits part or all of a document without money moving through Pasar's
    payments (a price corrected, goods returned and refunded in cash): the note is issued
    and posted, the amount owed back to the customer until it is paid."""
    day = today or timezone.localdate()
    with tenant_context(company, all_or_nothing=True):
        note = credit_note_issue(
            company=company, document=document, amount=amount, reason=reason, day=day, actor=actor
        )
        entry_post(
            company=company,
            day=day,
            description=f"Credit note {note.number} on {document.number}",
            source="credit_note",
            reference=note.number,
            lines=credit_note_entry_lines(note, paid_from=chart.CUSTOMER_REFUNDS, paid=note.total),
            actor=actor,
        )
    if note.customer_email:
        document_email_after_commit(company, note)
    return note
