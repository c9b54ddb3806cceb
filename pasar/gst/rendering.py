"""The F5 return as a PDF, for the company's files and its accountant."""

from __future__ import annotations

from django.template.loader import render_to_string

from pasar.core.exports import pdf_from_html
from pasar.gst.codes import BOX_LABELS
from pasar.gst.services import BOX_NUMBERS, F5Return, due_date
from pasar.tenancy.models import Company


def f5_pdf(*, company: Company, found: F5Return, state: str) -> bytes:
    boxes = [(number, BOX_LABELS[number], f"{found.box(number):,.2f}") for number in BOX_NUMBERS]
    return pdf_from_html(
        render_to_string(
            "gst/pdf/f5.html",
            {
                "company": company,
                "start": found.start,
                "end": found.end,
                "due": due_date(found.end),
                "state": state,
                "boxes": boxes,
            },
        )
    )
