"""The GST F5 in the back office, mounted at /office/gst/ (namespace `gst`): the company's
periods with their due dates, a period's boxes with the lines behind each, its exports, and
filing. Managers and finance read (`gst.view`); the owner and finance file (`gst.file`)."""

from __future__ import annotations

from datetime import date
from typing import cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from pasar.core.errors import DomainError
from pasar.gst import services
from pasar.gst.codes import BOX_LABELS
from pasar.ledger import selectors as ledger_selectors
from pasar.tenancy.models import User
from pasar.tenancy.permissions import acting_company, company_required, request_can

LINES_PER_PAGE = 100


def _period(request: HttpRequest, default: tuple[date, date]) -> tuple[date, date]:
    try:
        return (
            date.fromisoformat(request.GET.get("start", "") or request.POST.get("start", "")),
            date.fromisoformat(request.GET.get("end", "") or request.POST.get("end", "")),
        )
    except ValueError:
        return default


@require_GET
@company_required("gst.view")
def f5_page(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    today = timezone.localdate()
    periods = services.periods_recent(company=company, today=today)
    start, end = _period(request, (periods[0].start, periods[0].end))
    context: dict[str, object] = {
        "company": company,
        "start": start,
        "end": end,
        "due": services.due_date(end),
        "periods": periods,
    }
    try:
        found = services.f5_compute(company=company, start=start, end=end)
    except DomainError as refused:
        return render(request, "gst/f5.html", {**context, "error": refused.message}, status=400)
    state = services.f5_state(company=company, start=start, end=end)
    query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
    context.update(
        {
            "state": state,
            "query": query,
            "boxes": [
                {
                    "number": number,
                    "label": BOX_LABELS[number],
                    "amount": found.box(number),
                    "drill": bool(services.box_codes(number)),
                }
                for number in services.BOX_NUMBERS
            ],
            "can_file": request_can(request, "gst.file")
            and state == "open"
            and (start, end) == services.period_of(company=company, day=start),
        }
    )
    return render(request, "gst/f5.html", context)


@require_GET
@company_required("gst.view")
def box_lines(request: HttpRequest, number: int) -> HttpResponse:
    company = acting_company(request)
    periods = services.periods_ended(company=company, today=timezone.localdate(), count=1)
    start, end = _period(request, periods[0])
    error = ""
    lines = ledger_selectors.tax_lines(
        company=company, start=start, end=end, codes=services.box_codes(number)
    )
    try:
        services.f5_period_check(company=company, start=start, end=end)
    except DomainError as refused:
        error, lines = refused.message, lines.none()
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "gst/box_lines.html",
        {
            "number": number,
            "label": BOX_LABELS.get(number, ""),
            "codes": services.box_codes(number),
            "start": start,
            "end": end,
            "page": page,
            "error": error,
            "query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
        },
        status=400 if error else 200,
    )


@require_POST
@company_required("gst.file")
def f5_file(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    start, end = _period(request, (date.min, date.min))
    back = f"{reverse('gst:f5')}?{urlencode({'start': start.isoformat(), 'end': end.isoformat()})}"
    try:
        services.f5_file(company=company, start=start, end=end, actor=cast(User, request.user))
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect(back)
    messages.success(
        request,
        f"The F5 for {start:%d %b %Y} to {end:%d %b %Y} is marked filed and its period locked; "
        "later adjustments go into the next open period.",
    )
    return redirect(back)
