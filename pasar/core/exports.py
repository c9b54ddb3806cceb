"""Tables as files: a report (title, columns, rows) as CSV, XLSX or PDF, and HTML made into a
PDF by WeasyPrint. Shared by every context that offers downloads; what a report says is the
owner's business, how it is written out is this module's."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.template.loader import render_to_string


def pdf_from_html(html: str) -> bytes:
    from weasyprint import HTML  # loads Pango: only where a PDF is made

    return bytes(HTML(string=html).write_pdf())


@dataclass
class Report:
    """A report as a table: what every export and screen shows. `rows` hold plain values
    (text, Decimal, int, dates); `emphasis` marks rows shown in bold (headings, totals)."""

    title: str
    subtitle: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    emphasis: set[int] = field(default_factory=set)
    chart: list[tuple[str, Decimal]] = field(default_factory=list)  # label, value
    data: dict[str, Any] = field(default_factory=dict)  # the figures for the API

    def add(self, *cells: Any, bold: bool = False) -> None:
        if bold:
            self.emphasis.add(len(self.rows))
        self.rows.append(list(cells))


def _cell(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def report_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM tells Excel it is UTF-8


def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = report.title[:31]
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([report.subtitle])
    sheet.append([])
    sheet.append(report.columns)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for index, row in enumerate(report.rows):
        sheet.append(row)
        excel_row = sheet.max_row
        for cell in sheet[excel_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00;[Red]-#,##0.00"
            if index in report.emphasis:
                cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJ", (14, 40, 16, 16, 16, 16, 16, 16, 16, 16), strict=False):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def display_rows(report: Report) -> list[dict[str, Any]]:
    """The report's rows as a page or PDF shows them: amounts with thousands separators and
    right-aligned, headings and totals bold."""
    return [
        {"cells": [_display(value) for value in row], "bold": index in report.emphasis}
        for index, row in enumerate(report.rows)
    ]


def report_pdf(report: Report) -> bytes:
    rows = display_rows(report)
    return pdf_from_html(render_to_string("core/report_pdf.html", {"report": report, "rows": rows}))


def _display(value: Any) -> dict[str, Any]:
    if isinstance(value, Decimal):
        return {"text": f"{value:,.2f}", "number": True}
    return {"text": _cell(value), "number": isinstance(value, int)}


EXPORTS: dict[str, tuple[str, str, Callable[[Report], bytes]]] = {
    "csv": ("text/csv; charset=utf-8", "csv", report_csv),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        report_xlsx,
    ),
    "pdf": ("application/pdf", "pdf", report_pdf),
}


def report_file(report: Report, export: str, name: str) -> HttpResponse:
    """The report as a download: `export` is csv, xlsx or pdf."""
    content_type, extension, render = EXPORTS[export]
    response = HttpResponse(render(report), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    return response


def report_data(report: Report) -> dict[str, Any]:
    """The report for an API: its table and its figures, amounts as decimal strings."""

    def cell(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {key: cell(item) for key, item in value.items()}
        if isinstance(value, list):
            return [cell(item) for item in value]
        return value

    return {
        "title": report.title,
        "subtitle": report.subtitle,
        "columns": report.columns,
        "rows": [cell(row) for row in report.rows],
        "figures": cell(report.data),
    }
