"""The GST detail report: the period's journal lines summed by tax code, each code with the
F5 boxes it feeds (a table like the books' reports, with the same exports)."""

from __future__ import annotations

from datetime import date

from pasar.core.exports import Report
from pasar.gst.codes import BOXES
from pasar.ledger import selectors
from pasar.tenancy.models import Company


def gst_detail(*, company: Company, start: date, end: date) -> Report:
    rows = selectors.tax_detail(company=company, start=start, end=end)
    report = Report(
        title="GST detail by tax code",
        subtitle=f"{company.legal_name}: {start:%d %b %Y} to {end:%d %b %Y}",
        columns=["Tax code", "F5 boxes", "Lines", "Value", "GST"],
    )
    for code, count, value, tax in rows:
        mapping = BOXES.get(code)
        boxes = ", ".join(
            str(number)
            for number in (
                *(mapping.value_boxes if mapping else ()),
                *((mapping.tax_box,) if mapping and mapping.tax_box else ()),
            )
        )
        report.add(code, boxes or "none", count, value, tax)
    report.chart = [(code, value) for code, _, value, _ in rows]
    report.data = {
        "codes": [
            {"code": code, "lines": count, "value": value, "gst": tax}
            for code, count, value, tax in rows
        ]
    }
    return report
