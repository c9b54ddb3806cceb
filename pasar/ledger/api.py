"""The /api/v1/ledger/ endpoints: the chart, journals (manual ones typed by finance), tax
documents and credit notes, supplier bills and payments, and the reports with their
CSV, XLSX and PDF exports. The rules live in `pasar.ledger.services`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.db.models import F, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pasar.core.api import StrictSerializer, by_public_id
from pasar.core.exports import EXPORTS, Report, report_data, report_file
from pasar.ledger import reports, services
from pasar.ledger.models import (
    Account,
    AccountKind,
    Document,
    GatewayPayout,
    JournalEntry,
    SupplierBill,
)
from pasar.ledger.rendering import document_pdf
from pasar.ledger.services.bills import BILL_CODES
from pasar.tenancy.models import User
from pasar.tenancy.permissions import ReadWriteActions, acting_company


def money(**options: Any) -> serializers.DecimalField:
    """An amount in dollars and cents, as a decimal string."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **options)


def positive_money(**options: Any) -> serializers.DecimalField:
    return money(min_value=Decimal("0.01"), **options)


class LedgerView(ReadWriteActions, APIView):
    read_action = "ledger.view"
    write_action = "ledger.post"


class LedgerListView(LedgerView, ListAPIView):
    pass


def _actor(request: Request) -> User:
    return cast(User, request.user)  # the permission admits signed-in staff only


# -- the chart ------------------------------------------------------------------------------


class AccountOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    role = serializers.CharField(help_text="What the books post here; blank for a plain account.")
    is_archived = serializers.BooleanField()


class AccountInput(StrictSerializer):
    code = serializers.CharField(max_length=10)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=AccountKind.choices)


class AccountChangeInput(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    is_archived = serializers.BooleanField(required=False)


class AccountListView(LedgerListView):
    serializer_class = AccountOutput
    pagination_class = None

    def get_queryset(self) -> QuerySet[Account]:
        return Account.objects.filter(company=acting_company(self.request)).order_by("code")

    @extend_schema(request=AccountInput, responses={201: AccountOutput}, summary="Add an account")
    def post(self, request: Request) -> Response:
        data = AccountInput.valid(request.data)
        account = services.account_create(
            company=acting_company(request), actor=_actor(request), **data
        )
        return Response(AccountOutput(account).data, status=status.HTTP_201_CREATED)


class AccountDetailView(LedgerView):
    def _account(self, request: Request, public_id: Any) -> Account:
        return by_public_id(
            Account.objects.filter(company=acting_company(request)), public_id, "account"
        )

    @extend_schema(
        request=AccountChangeInput,
        responses=AccountOutput,
        summary="Rename an account, archive it or bring it back",
    )
    def patch(self, request: Request, public_id: Any) -> Response:
        data = AccountChangeInput.valid(request.data)
        account = services.account_update(
            company=acting_company(request),
            account=self._account(request, public_id),
            actor=_actor(request),
            name=data.get("name"),
            archived=data.get("is_archived"),
        )
        return Response(AccountOutput(account).data)

    @extend_schema(responses={204: None}, summary="Delete an account nothing was posted to")
    def delete(self, request: Request, public_id: Any) -> Response:
        services.account_delete(
            company=acting_company(request),
            account=self._account(request, public_id),
            actor=_actor(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- journals -------------------------------------------------------------------------------


class LineOutput(serializers.Serializer):
    account = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    debit = money()
    credit = money()
    tax_code = serializers.CharField()
    tax_base = money()
    tax = money()
    description = serializers.CharField()
    channel = serializers.CharField()
    location = serializers.CharField()


class EntryOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    date = serializers.DateField()
    description = serializers.CharField()
    origin = serializers.CharField(
        source="source", help_text="What posted it: sale, refund, stock, bill, manual..."
    )
    reference = serializers.CharField()
    reverses = serializers.CharField(source="reverses.number", default=None)
    posted_at = serializers.DateTimeField()
    lines = LineOutput(many=True)


class ManualLineInput(StrictSerializer):
    account = serializers.CharField(max_length=10, help_text="The account's code.")
    debit = money(min_value=0, default=0)
    credit = money(min_value=0, default=0)
    tax_code = serializers.CharField(max_length=10, required=False, default="", allow_blank=True)
    tax_base = money(default=0)
    tax = money(default=0)
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )


class ManualJournalInput(StrictSerializer):
    date = serializers.DateField()
    description = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    lines = ManualLineInput(many=True, min_length=2, max_length=500)  # type: ignore[call-arg]


class ReverseInput(StrictSerializer):
    date = serializers.DateField(required=False, help_text="Today if not given.")


class JournalListView(LedgerListView):
    serializer_class = EntryOutput

    def get_queryset(self) -> QuerySet[JournalEntry]:
        params = self.request.query_params
        entries = JournalEntry.objects.filter(company=acting_company(self.request))
        if params.get("origin"):
            entries = entries.filter(source=params["origin"])
        return (
            entries.select_related("reverses")
            .prefetch_related("lines__account")
            .order_by("-date", "-id")
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("origin", str, description="sale, refund, stock, bill, manual...")
        ],
        summary="Journal entries, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ManualJournalInput,
        responses={201: EntryOutput},
        summary="Post a manual journal (balanced, in an open period, not in the future)",
    )
    def post(self, request: Request) -> Response:
        data = ManualJournalInput.valid(request.data)
        entry = services.journal_post_manual(
            company=acting_company(request),
            day=data["date"],
            description=data["description"],
            reference=data["reference"],
            lines=[
                services.ManualLine(
                    account_code=line["account"],
                    debit=line["debit"],
                    credit=line["credit"],
                    tax_code=line["tax_code"],
                    tax_base=line["tax_base"],
                    tax=line["tax"],
                    description=line["description"],
                )
                for line in data["lines"]
            ],
            actor=_actor(request),
        )
        return Response(EntryOutput(entry).data, status=status.HTTP_201_CREATED)


def _entry(request: Request, public_id: Any) -> JournalEntry:
    return by_public_id(
        JournalEntry.objects.filter(company=acting_company(request)).prefetch_related(
            "lines__account"
        ),
        public_id,
        "journal entry",
    )


class JournalDetailView(LedgerView):
    @extend_schema(responses=EntryOutput, summary="One journal entry with its lines")
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(EntryOutput(_entry(request, public_id)).data)


class JournalReverseView(LedgerView):
    @extend_schema(
        request=ReverseInput,
        responses={201: EntryOutput},
        summary="Post the entry that cancels this one exactly",
    )
    def post(self, request: Request, public_id: Any) -> Response:
        data = ReverseInput.valid(request.data)
        reversal = services.entry_reverse(
            company=acting_company(request),
            entry=_entry(request, public_id),
            day=data.get("date") or timezone.localdate(),
            actor=_actor(request),
        )
        return Response(EntryOutput(reversal).data, status=status.HTTP_201_CREATED)


# -- documents ------------------------------------------------------------------------------


class DocumentOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    number = serializers.CharField()
    issued_on = serializers.DateField()
    order_number = serializers.CharField()
    customer_name = serializers.CharField()
    subtotal = money()
    gst = money()
    total = money()
    corrects = serializers.CharField(source="corrects.number", default=None)
    reason = serializers.CharField()
    lines = serializers.JSONField()
    outputs = serializers.IntegerField(help_text="Times printed or emailed.")


class CreditNoteInput(StrictSerializer):
    amount = positive_money()
    reason = serializers.CharField(max_length=200)


def _document(request: Request, public_id: Any) -> Document:
    return by_public_id(
        Document.objects.filter(company=acting_company(request)).select_related("corrects"),
        public_id,
        "document",
    )


class DocumentListView(LedgerListView):
    serializer_class = DocumentOutput

    def get_queryset(self) -> QuerySet[Document]:
        params = self.request.query_params
        documents = Document.objects.filter(company=acting_company(self.request))
        if params.get("order"):
            documents = documents.filter(order_number=params["order"])
        if params.get("kind"):
            documents = documents.filter(kind=params["kind"])
        return documents.select_related("corrects").order_by("-issued_on", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("order", str, description="An order number, e.g. SO-000123."),
            OpenApiParameter("kind", str, description="tax_invoice, receipt, credit_note..."),
        ],
        summary="Tax invoices, receipts and credit notes, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DocumentDetailView(LedgerView):
    @extend_schema(responses=DocumentOutput, summary="One document")
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(DocumentOutput(_document(request, public_id)).data)


class DocumentPdfView(LedgerView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="The document as a PDF (marked COPY unless it is the first output)",
    )
    def get(self, request: Request, public_id: Any) -> HttpResponse:
        document = _document(request, public_id)
        original = services.document_output(company=acting_company(request), document=document)
        response = HttpResponse(document_pdf(document, copy=not original), "application/pdf")
        response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
        return response


class DocumentCreditNoteView(LedgerView):
    @extend_schema(
        request=CreditNoteInput,
        responses={201: DocumentOutput},
        summary="Credit part or all of an invoice or receipt (money owed back to the customer)",
    )
    def post(self, request: Request, public_id: Any) -> Response:
        data = CreditNoteInput.valid(request.data)
        note = services.credit_note_correct(
            company=acting_company(request),
            document=_document(request, public_id),
            amount=data["amount"],
            reason=data["reason"],
            actor=_actor(request),
        )
        return Response(DocumentOutput(note).data, status=status.HTTP_201_CREATED)


# -- bills ----------------------------------------------------------------------------------


class BillLineInput(StrictSerializer):
    account = serializers.CharField(max_length=10, help_text="The account's code.")
    description = serializers.CharField(max_length=200)
    amount = positive_money(help_text="Without GST.")
    tax_code = serializers.CharField(
        max_length=10, help_text=f"A purchase code: {', '.join(sorted(BILL_CODES))}."
    )


class BillInput(StrictSerializer):
    supplier_name = serializers.CharField(max_length=120)
    supplier_gst_number = serializers.CharField(
        max_length=20, required=False, default="", allow_blank=True
    )
    supplier_reference = serializers.CharField(max_length=60, help_text="Their invoice number.")
    bill_date = serializers.DateField()
    due_date = serializers.DateField()
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    lines = BillLineInput(many=True, min_length=1, max_length=200)  # type: ignore[call-arg]


class BillLineOutput(serializers.Serializer):
    account = serializers.CharField(source="account.code")
    description = serializers.CharField()
    amount = money()
    tax_code = serializers.CharField()
    gst = money()


class BillOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.CharField()
    supplier_name = serializers.CharField()
    supplier_reference = serializers.CharField()
    bill_date = serializers.DateField()
    due_date = serializers.DateField()
    subtotal = money()
    gst = money()
    total = money()
    paid = money()
    outstanding = money()
    entry = serializers.CharField(source="entry.number")
    lines = BillLineOutput(many=True)


class BillPaymentInput(StrictSerializer):
    amount = positive_money()
    paid_on = serializers.DateField()


def _bills(request: Request) -> QuerySet[SupplierBill]:
    return (
        SupplierBill.objects.filter(company=acting_company(request))
        .select_related("entry")
        .prefetch_related("lines__account")
    )


class BillListView(LedgerListView):
    serializer_class = BillOutput

    def get_queryset(self) -> QuerySet[SupplierBill]:
        bills = _bills(self.request)
        if self.request.query_params.get("open") in ("1", "true"):
            bills = bills.filter(paid__lt=F("total"))
        return bills.order_by("-bill_date", "-id")

    @extend_schema(
        parameters=[OpenApiParameter("open", bool, description="Only bills still owing.")],
        summary="Supplier bills, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=BillInput, responses={201: BillOutput}, summary="Enter and post a supplier bill"
    )
    def post(self, request: Request) -> Response:
        data = BillInput.valid(request.data)
        company = acting_company(request)
        bill = services.bill_enter(
            company=company,
            supplier_name=data["supplier_name"],
            supplier_gst_number=data["supplier_gst_number"],
            supplier_reference=data["supplier_reference"],
            bill_date=data["bill_date"],
            due_date=data["due_date"],
            description=data["description"],
            lines=[
                services.BillLineInput(
                    account_code=line["account"],
                    description=line["description"],
                    amount=line["amount"],
                    tax_code=line["tax_code"],
                )
                for line in data["lines"]
            ],
            actor=_actor(request),
        )
        return Response(
            BillOutput(_bills(request).get(pk=bill.pk)).data, status=status.HTTP_201_CREATED
        )


class BillPaymentView(LedgerView):
    @extend_schema(
        request=BillPaymentInput,
        responses={201: BillOutput},
        summary="Record a payment to the supplier (never above what the bill owes)",
    )
    def post(self, request: Request, public_id: Any) -> Response:
        data = BillPaymentInput.valid(request.data)
        bill = by_public_id(_bills(request), public_id, "bill")
        services.bill_pay(
            company=acting_company(request),
            bill=bill,
            amount=data["amount"],
            paid_on=data["paid_on"],
            actor=_actor(request),
        )
        return Response(
            BillOutput(_bills(request).get(pk=bill.pk)).data, status=status.HTTP_201_CREATED
        )


# -- payouts --------------------------------------------------------------------------------


class PayoutInput(StrictSerializer):
    gateway = serializers.CharField(max_length=40, help_text="As the statement names it.")
    reference = serializers.CharField(max_length=60, help_text="The payout's id on it.")
    paid_on = serializers.DateField()
    gross = positive_money(help_text="The captures it settles.")
    fee = money(min_value=Decimal(0), default=Decimal(0))
    fee_gst = money(min_value=Decimal(0), default=Decimal(0))


class PayoutOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    gateway = serializers.CharField()
    reference = serializers.CharField()
    paid_on = serializers.DateField()
    gross = money()
    fee = money()
    fee_gst = money()
    net = money()
    entry = serializers.CharField(source="entry.number")


class PayoutListView(LedgerListView):
    serializer_class = PayoutOutput

    def get_queryset(self) -> QuerySet[GatewayPayout]:
        return (
            GatewayPayout.objects.filter(company=acting_company(self.request))
            .select_related("entry")
            .order_by("-paid_on", "-id")
        )

    @extend_schema(
        request=PayoutInput,
        responses={201: PayoutOutput},
        summary="Record a gateway's payout: clearing to bank, its fees and their GST",
    )
    def post(self, request: Request) -> Response:
        data = PayoutInput.valid(request.data)
        payout = services.payout_record(
            company=acting_company(request), actor=_actor(request), **data
        )
        return Response(PayoutOutput(payout).data, status=status.HTTP_201_CREATED)


# -- reports --------------------------------------------------------------------------------


class ReportInput(StrictSerializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False, help_text="Today if not given.")
    account = serializers.CharField(max_length=10, required=False, default="")
    export = serializers.ChoiceField(choices=sorted(EXPORTS), required=False)


def report_response(report: Report, export: str | None, name: str) -> HttpResponse | Response:
    """The report as JSON, or as the file `export` names."""
    if not export:
        return Response(report_data(report))
    return report_file(report, export, name)


class ReportOutput(serializers.Serializer):
    title = serializers.CharField()
    subtitle = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(), help_text="Amounts as decimal strings, dates ISO."
    )
    figures = serializers.DictField(help_text="The report's totals, by name.")


class ReportView(LedgerView):
    @extend_schema(
        responses={
            200: ReportOutput,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/pdf"): OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter("start", str, description="First day, YYYY-MM-DD."),
            OpenApiParameter("end", str, description="Last day, YYYY-MM-DD (today if none)."),
            OpenApiParameter("account", str, description="The general ledger's account code."),
            OpenApiParameter("export", str, enum=sorted(EXPORTS), description="A file instead."),
        ],
        summary="A report of the books: trial-balance, profit-and-loss, balance-sheet, "
        "general-ledger, aged-receivables, aged-payables or gst-detail",
    )
    def get(self, request: Request, name: str) -> HttpResponse | Response:
        asked = ReportInput.valid(request.query_params.dict())
        end = asked.get("end") or timezone.localdate()
        report = reports.report_make(
            name,
            company=acting_company(request),
            period=reports.Period(start=asked.get("start"), end=end, account=asked["account"]),
        )
        return report_response(report, asked.get("export"), f"{name}-{end.isoformat()}")
