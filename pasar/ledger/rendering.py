"""A tax document as its PDF (WeasyPrint). Rendering only: what a document says was decided
by the service that issued it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string

from pasar.core.exports import pdf_from_html
from pasar.core.money import parse_money
from pasar.ledger.models import Document, DocumentKind

SUPPLY_TYPES = {
    "SR": "Standard-rated",
    "ZR": "Zero-rated",
    "ES33": "Exempt",
    "ESN33": "Exempt",
    "OS": "Out of scope",
}


def _amount(value: Any) -> str:
    return f"{parse_money(value, what='A document figure'):,.2f}"


def document_mail_context(document: Document) -> dict[str, Any]:
    """What a document shows, for the email that carries it."""
    context = _document_context(document, copy=False)
    context.pop("document")
    return {
        **context,
        "kind": document.kind,
        "issued_on": f"{document.issued_on:%d %B %Y}",
        "supplier": document.supplier,
        "customer_name": document.customer_name,
        "customer_address": document.customer_address,
        "corrects": document.corrects.number if document.corrects else "",
        "reason": document.reason,
    }


def document_html(document: Document, *, copy: bool) -> str:
    return render_to_string("ledger/pdf/document.html", _document_context(document, copy=copy))


def _document_context(document: Document, *, copy: bool) -> dict[str, Any]:
    registered = bool(document.supplier.get("gst_number"))
    lines = [
        {
            **line,
            "supply": SUPPLY_TYPES.get(line.get("tax_code", ""), line.get("tax_code", "")),
            "amount": _amount(line["amount"]),
            "gst": _amount(line["gst"]),
        }
        for line in document.lines
    ]
    # A tax invoice with zero-rated or exempt lines states their gross amounts apart (IRAS).
    gross: dict[str, Decimal] = {}
    if document.kind == DocumentKind.TAX_INVOICE:
        for line in document.lines:
            kind = SUPPLY_TYPES.get(line.get("tax_code", ""))
            if kind in ("Zero-rated", "Exempt"):
                amount = parse_money(line["amount"], what="A document figure")
                gross[kind] = gross.get(kind, Decimal(0)) + amount
    return {
        "document": document,
        "copy": copy,
        "registered": registered,
        "lines": lines,
        "currency": "S$" if document.currency == "SGD" else document.currency,
        "rate_percent": f"{(document.gst_rate * 100).normalize():f}",
        "figures": {
            name: _amount(getattr(document, name)) for name in ("subtotal", "gst", "total")
        },
        "gross_by_kind": [(kind, _amount(value)) for kind, value in gross.items()],
        "show_customer": document.kind in (DocumentKind.TAX_INVOICE, DocumentKind.CREDIT_NOTE),
    }


def document_pdf(document: Document, *, copy: bool) -> bytes:
    """The document as a PDF; a copy (any output after the first) is marked COPY."""
    return pdf_from_html(document_html(document, copy=copy))
