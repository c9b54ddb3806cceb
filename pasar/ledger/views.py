"""The books in the back office, mounted at /office/books/ (namespace `books`): reports with
their charts and exports, journals (finance types manual ones), tax documents with their PDFs
and credit notes, supplier bills and their payments.

Who does what comes from the permission table: managers and finance read (`ledger.view`), the
owner and finance post (`ledger.post`). Writes go through `pasar.ledger.services`; the tenant
middleware has set the company, so every query sees that company's rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pasar.core.errors import DomainError
from pasar.core.exports import EXPORTS, Report, display_rows, report_file
from pasar.core.transactions import no_request_transaction
from pasar.ledger import reports, services
from pasar.ledger.forms import (
    AccountForm,
    BillForm,
    BillLineFormSet,
    BillPaymentForm,
    CreditNoteForm,
    JournalForm,
    JournalLineFormSet,
    PayoutForm,
    PeriodForm,
    bill_lines,
    manual_lines,
)
from pasar.ledger.models import Account, Document, GatewayPayout, JournalEntry, SupplierBill
from pasar.ledger.rendering import document_pdf
from pasar.tenancy.models import User
from pasar.tenancy.permissions import acting_company, company_required, request_can

PER_PAGE = 50
# Reports of a day ("as at"), not of a period.
AS_AT = frozenset({"trial-balance", "balance-sheet", "aged-payables", "aged-receivables"})
CHART_WIDTH, CHART_HEIGHT = 640, 220
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 64, 190, 12


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    x: float
    middle: float
    y: float
    width: float
    height: float
    negative: bool


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    zero: float
    top_label: str
    bottom_label: str
    bars: list[Bar]
    title: str


def bar_chart(points: list[tuple[str, Decimal]], title: str) -> BarChart | None:
    """Bars for a report's figures (months of profit, ageing buckets...), drawn around zero
    when some are negative; None when there is nothing to draw."""
    if not points or not any(value for _, value in points):
        return None
    highest = max(max(value for _, value in points), Decimal(0))
    lowest = min(min(value for _, value in points), Decimal(0))
    span = (highest - lowest) or Decimal(1)
    right = CHART_WIDTH - 8
    slot = (right - CHART_LEFT) / len(points)

    def y(value: Decimal) -> float:
        return round(CHART_BOTTOM - float((value - lowest) / span) * (CHART_BOTTOM - CHART_TOP), 1)

    zero = y(Decimal(0))
    bars = []
    for index, (label, value) in enumerate(points):
        top = min(y(value), zero)
        bars.append(
            Bar(
                label=label,
                value=f"{value:,.2f}",
                x=round(CHART_LEFT + index * slot + slot * 0.15, 1),
                middle=round(CHART_LEFT + index * slot + slot / 2, 1),
                y=top,
                width=round(slot * 0.7, 1),
                height=max(round(abs(y(value) - zero), 1), 1.0),
                negative=value < 0,
            )
        )
    return BarChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=CHART_LEFT,
        right=right,
        zero=zero,
        # The top's figure only where it does not sit on the zero line's.
        top_label=f"{highest:,.0f}" if zero - CHART_TOP > 16 else "",
        bottom_label=f"{lowest:,.0f}",
        bars=bars,
        title=title,
    )


# -- reports --------------------------------------------------------------------------------


def _header(report: Report) -> list[tuple[str, bool]]:
    """The columns, each marked when it holds amounts (aligned right like them)."""
    numeric = {
        index
        for row in report.rows
        for index, value in enumerate(row)
        if isinstance(value, Decimal | int) and not isinstance(value, bool)
    }
    return [(name, index in numeric) for index, name in enumerate(report.columns)]


@require_GET
@company_required("ledger.view")
def report_page(request: HttpRequest, name: str = "profit-and-loss") -> HttpResponse:
    """One report for a period, with its chart and its exports."""
    if name not in reports.REPORTS:
        raise Http404("No such report.")
    company = acting_company(request)
    today = timezone.localdate()
    form = PeriodForm(request.GET or None)
    start = today.replace(month=1, day=1)
    end, account = today, ""
    report: Report | None = None
    error = ""
    if form.is_bound and not form.is_valid():
        error = " ".join(str(message) for message in form.non_field_errors()) or (
            "Give the dates as day, month and year."
        )
    else:
        data = form.cleaned_data if form.is_bound else {}
        start = data.get("start") or start
        end = data.get("end") or end
        account = data.get("account") or ""
    if not error and not (name == "general-ledger" and not account):
        try:
            report = reports.report_make(
                name,
                company=company,
                period=reports.Period(
                    start=None if name in AS_AT else start, end=end, account=account
                ),
            )
        except DomainError as refused:
            error = refused.message
    export = request.GET.get("export", "")
    if report is not None and export in EXPORTS:
        return report_file(report, export, f"{name}-{end.isoformat()}")
    with_dates = name not in AS_AT
    return render(
        request,
        "ledger/report.html",
        {
            "name": name,
            "reports": [(slug, title) for slug, (title, _) in reports.REPORTS.items()],
            "report": report,
            "error": error,
            "start": start,
            "end": end,
            "account": account,
            "with_start": with_dates,
            "accounts": Account.objects.filter(company=company).order_by("code")
            if name == "general-ledger"
            else [],
            "chart": bar_chart(report.chart, report.title) if report else None,
            "rows": display_rows(report) if report else [],
            "header": _header(report) if report else [],
            "exports": sorted(EXPORTS),
        },
        status=400 if error and form.is_bound else 200,
    )


# -- journals -------------------------------------------------------------------------------


@require_GET
@company_required("ledger.view")
def journal_list(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    origin = request.GET.get("origin", "")
    entries = JournalEntry.objects.filter(company=company)
    if origin:
        entries = entries.filter(source=origin)
    page = Paginator(
        entries.prefetch_related("lines__account").order_by("-date", "-id"), PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/journal_list.html",
        {
            "page": page,
            "origin": origin,
            "origins": ["sale", "refund", "credit_note", "stock", "bill", "bill_payment", "manual"],
            "can_post": request_can(request, "ledger.post"),
        },
    )


@require_http_methods(["GET", "POST"])
@company_required("ledger.post")
def journal_new(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    accounts = list(Account.objects.filter(company=company).order_by("code"))
    form = JournalForm(request.POST or None)
    lines = JournalLineFormSet(
        request.POST or None, prefix="line", form_kwargs={"accounts": accounts}
    )
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            entry = services.journal_post_manual(
                company=company,
                day=form.cleaned_data["date"],
                description=form.cleaned_data["description"],
                reference=form.cleaned_data["reference"],
                lines=manual_lines(lines),
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{entry.number} is posted.")
            return redirect("books:journal_detail", public_id=entry.public_id)
    return render(
        request,
        "ledger/journal_new.html",
        {"form": form, "lines": lines},
        status=400 if form.is_bound else 200,
    )


def _entry(request: HttpRequest, public_id: Any) -> JournalEntry:
    entry = (
        JournalEntry.objects.filter(company=acting_company(request), public_id=public_id)
        .select_related("reverses", "created_by")
        .first()
    )
    if entry is None:
        raise Http404("No such journal entry.")
    return entry


@require_GET
@company_required("ledger.view")
def journal_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    entry = _entry(request, public_id)
    return render(
        request,
        "ledger/journal_detail.html",
        {
            "entry": entry,
            "lines": entry.lines.select_related("account"),
            "reversed_by": JournalEntry.objects.filter(reverses=entry).first(),
            "can_post": request_can(request, "ledger.post"),
        },
    )


@require_POST
@company_required("ledger.post")
def journal_reverse(request: HttpRequest, public_id: Any) -> HttpResponse:
    entry = _entry(request, public_id)
    try:
        reversal = services.entry_reverse(
            company=acting_company(request),
            entry=entry,
            day=timezone.localdate(),
            actor=_actor(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("books:journal_detail", public_id=entry.public_id)
    messages.success(request, f"{reversal.number} reverses {entry.number}.")
    return redirect("books:journal_detail", public_id=reversal.public_id)


# -- documents ------------------------------------------------------------------------------


@require_GET
@company_required("ledger.view")
def document_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    documents = Document.objects.filter(company=acting_company(request))
    if query:
        documents = documents.filter(number__icontains=query) | documents.filter(
            order_number__icontains=query
        )
    page = Paginator(
        documents.select_related("corrects").order_by("-issued_on", "-id"), PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(request, "ledger/document_list.html", {"page": page, "query": query})


def _document(request: HttpRequest, public_id: Any) -> Document:
    document = (
        Document.objects.filter(company=acting_company(request), public_id=public_id)
        .select_related("corrects")
        .first()
    )
    if document is None:
        raise Http404("No such document.")
    return document


def _document_page(
    request: HttpRequest, document: Document, form: CreditNoteForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "ledger/document_detail.html",
        {
            "document": document,
            "credit_notes": document.credit_notes.order_by("id"),
            "form": form or CreditNoteForm(),
            "can_credit": request_can(request, "ledger.post")
            and services.left_to_credit(document) > 0,
        },
        status=status,
    )


@require_GET
@company_required("ledger.view")
def document_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _document_page(request, _document(request, public_id))


@require_GET
@company_required("ledger.view")
def document_download(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The PDF; every output after the first is marked COPY."""
    document = _document(request, public_id)
    original = services.document_output(company=acting_company(request), document=document)
    response = HttpResponse(document_pdf(document, copy=not original), "application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
    return response


@no_request_transaction
@require_GET
def document_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The PDF a customer's emailed link names (signed: it cannot be turned into another
    document's); marked COPY after the first output, as every reprint is."""
    document = services.document_from_link(token)
    if document is None:
        raise Http404("No such document.")
    original = services.document_output(company=document.company_id, document=document)
    response = HttpResponse(document_pdf(document, copy=not original), "application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@company_required("ledger.post")
def document_credit(request: HttpRequest, public_id: Any) -> HttpResponse:
    document = _document(request, public_id)
    form = CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.credit_note_correct(
                company=acting_company(request),
                document=document,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Credit note {note.number} is issued.")
            return redirect("books:document_detail", public_id=note.public_id)
    return _document_page(request, document, form, status=400)


# -- bills ----------------------------------------------------------------------------------


@require_GET
@company_required("ledger.view")
def bill_list(request: HttpRequest) -> HttpResponse:
    open_only = request.GET.get("open") == "1"
    bills = SupplierBill.objects.filter(company=acting_company(request))
    if open_only:
        bills = bills.filter(paid__lt=F("total"))
    page = Paginator(bills.order_by("-bill_date", "-id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "ledger/bill_list.html",
        {"page": page, "open_only": open_only, "can_post": request_can(request, "ledger.post")},
    )


@require_http_methods(["GET", "POST"])
@company_required("ledger.post")
def bill_new(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    accounts = list(Account.objects.filter(company=company).order_by("code"))
    form = BillForm(request.POST or None)
    lines = BillLineFormSet(request.POST or None, prefix="line", form_kwargs={"accounts": accounts})
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            bill = services.bill_enter(
                company=company,
                supplier_name=data["supplier_name"],
                supplier_gst_number=data["supplier_gst_number"],
                supplier_reference=data["supplier_reference"],
                bill_date=data["bill_date"],
                due_date=data["due_date"],
                description=data["description"],
                lines=bill_lines(lines, supplier=data["supplier_name"]),
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{bill.number} is entered and posted.")
            return redirect("books:bill_detail", public_id=bill.public_id)
    return render(
        request,
        "ledger/bill_new.html",
        {"form": form, "lines": lines},
        status=400 if form.is_bound else 200,
    )


def _bill(request: HttpRequest, public_id: Any) -> SupplierBill:
    bill = (
        SupplierBill.objects.filter(company=acting_company(request), public_id=public_id)
        .select_related("entry")
        .first()
    )
    if bill is None:
        raise Http404("No such bill.")
    return bill


def _bill_page(
    request: HttpRequest, bill: SupplierBill, form: BillPaymentForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "ledger/bill_detail.html",
        {
            "bill": bill,
            "lines": bill.lines.select_related("account"),
            "payments": bill.payments.select_related("entry"),
            "form": form or BillPaymentForm(initial={"amount": f"{bill.outstanding:.2f}"}),
            "can_pay": request_can(request, "ledger.post") and bill.outstanding > 0,
        },
        status=status,
    )


@require_GET
@company_required("ledger.view")
def bill_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    return _bill_page(request, _bill(request, public_id))


@require_POST
@company_required("ledger.post")
def bill_pay(request: HttpRequest, public_id: Any) -> HttpResponse:
    bill = _bill(request, public_id)
    form = BillPaymentForm(request.POST)
    if form.is_valid():
        try:
            services.bill_pay(
                company=acting_company(request),
                bill=bill,
                amount=form.cleaned_data["amount"],
                paid_on=form.cleaned_data["paid_on"],
                actor=_actor(request),
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, f"S${form.cleaned_data['amount']:,.2f} paid on {bill.number}."
            )
            return redirect(reverse("books:bill_detail", args=[bill.public_id]))
    return _bill_page(request, bill, form, status=400)


# -- payouts --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@company_required("ledger.view")
def payout_list(request: HttpRequest) -> HttpResponse:
    """The gateways' payouts, and the form that records one (owner and finance)."""
    company = acting_company(request)
    can_post = request_can(request, "ledger.post")
    form = PayoutForm(request.POST or None)
    if request.method == "POST":
        if not can_post:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                payout = services.payout_record(
                    company=company,
                    gateway=data["gateway"],
                    reference=data["reference"],
                    paid_on=data["paid_on"],
                    gross=data["gross"],
                    fee=data["fee"] or services.ZERO,
                    fee_gst=data["fee_gst"] or services.ZERO,
                    actor=_actor(request),
                )
            except DomainError as error:
                form.add_service_error(error)
            else:
                messages.success(
                    request, f"{payout.gateway} payout {payout.reference} is recorded."
                )
                return redirect("books:payout_list")
    page = Paginator(
        GatewayPayout.objects.filter(company=company)
        .select_related("entry")
        .order_by("-paid_on", "-id"),
        PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/payout_list.html",
        {"page": page, "form": form, "can_post": can_post},
        status=400 if form.is_bound else 200,
    )


# -- the chart ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@company_required("ledger.view")
def account_list(request: HttpRequest) -> HttpResponse:
    """The chart of accounts, and the form that adds one (owner and finance)."""
    company = acting_company(request)
    can_post = request_can(request, "ledger.post")
    form = AccountForm(request.POST or None)
    if request.method == "POST":
        if not can_post:
            raise PermissionDenied
        if form.is_valid():
            try:
                account = services.account_create(
                    company=company, actor=_actor(request), **form.cleaned_data
                )
            except DomainError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"{account} is added to the chart.")
                return redirect("books:account_list")
    return render(
        request,
        "ledger/account_list.html",
        {
            "accounts": Account.objects.filter(company=company).order_by("code"),
            "form": form,
            "can_post": can_post,
        },
        status=400 if form.is_bound else 200,
    )


@require_POST
@company_required("ledger.post")
def account_change(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Rename an account, archive it or bring it back (the rules are the service's)."""
    account = Account.objects.filter(company=acting_company(request), public_id=public_id).first()
    if account is None:
        raise Http404("No such account.")
    archive = request.POST.get("archive")
    try:
        services.account_update(
            company=acting_company(request),
            account=account,
            actor=_actor(request),
            name=request.POST.get("name") or None,
            archived={"1": True, "0": False}.get(archive or ""),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{account} is saved.")
    return redirect("books:account_list")
