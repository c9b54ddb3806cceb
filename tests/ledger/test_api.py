"""The books over the API: the chart, manual journals and reversals, supplier bills, tax
documents and credit notes, the reports and their exports, the F5's exports, periods and
reminders. Bad input gets a clear 4xx and changes nothing; roles decide who may do what."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook

from pasar.core.tenant import tenant_context
from pasar.gst import services as gst_services
from pasar.gst.models import GstReminder
from pasar.ledger import postings, services
from pasar.ledger.models import JournalEntry, SupplierBill
from pasar.tenancy.models import Company, User
from pasar.tenancy.permissions import Role
from tests.conftest import authenticated_client, member
from tests.ledger.test_postings import paid_order_payload, relayed_event

pytestmark = pytest.mark.django_db
LEDGER = "/api/v1/ledger"


def _registered(company: Company) -> Company:
    company.gst_registered, company.gst_number = True, "M90312345A"
    company.save()
    services.chart_install(company=company)
    return company


def _journal(day: date, *lines: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "description": "Owner's capital",
        "lines": [{"account": a, "debit": d, "credit": c} for a, d, c in lines],
    }


def _entries(company: Company) -> int:
    with tenant_context(company):
        return JournalEntry.objects.count()


def test_a_manual_journal_is_posted_reversed_and_listed(
    company: Company, owner_client: Any
) -> None:
    _registered(company)
    today = timezone.localdate()
    posted = owner_client.post(
        f"{LEDGER}/journals",
        _journal(today, ("1000", "5000.00", "0"), ("3000", "0", "5000.00")),
        format="json",
    )
    assert posted.status_code == 201, posted.json()
    entry = posted.json()["data"]
    assert entry["number"] == "JE-000001"
    assert entry["origin"] == "manual"
    assert [line["account"] for line in entry["lines"]] == ["1000", "3000"]
    reversed_ = owner_client.post(f"{LEDGER}/journals/{entry['id']}/reverse", {}, format="json")
    assert reversed_.status_code == 201
    assert reversed_.json()["data"]["reverses"] == "JE-000001"
    again = owner_client.post(f"{LEDGER}/journals/{entry['id']}/reverse", {}, format="json")
    assert again.status_code == 409
    listed = owner_client.get(f"{LEDGER}/journals", {"origin": "manual"}).json()
    assert listed["meta"]["pagination"]["total"] == 1  # the reversal's origin is "reversal"
    assert owner_client.get(f"{LEDGER}/journals").json()["meta"]["pagination"]["total"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            _journal(date(2026, 1, 5), ("1000", "10.00", "0"), ("3000", "0", "9.00")),
            400,
            "unbalanced_entry",
        ),
        (
            _journal(date(2099, 1, 5), ("1000", "10.00", "0"), ("3000", "0", "10.00")),
            400,
            "future_date",
        ),
        (
            _journal(date(2026, 1, 5), ("1000", "10.00", "0"), ("9999", "0", "10.00")),
            400,
            "unknown_account",
        ),
        (_journal(date(2026, 1, 5), ("1000", "-1", "0"), ("3000", "0", "-1")), 400, "invalid"),
        ({"date": "2026-01-05", "description": "x", "lines": "nope"}, 400, "invalid"),
        ({**_journal(date(2026, 1, 5)), "lines": []}, 400, "invalid"),
    ],
)
def test_a_bad_journal_gets_a_clear_400_and_nothing_is_posted(
    company: Company, owner_client: Any, body: dict[str, Any], status: int, code: str | None
) -> None:
    _registered(company)
    answer = owner_client.post(f"{LEDGER}/journals", body, format="json")
    assert answer.status_code == status
    assert answer.json()["status"] == "error"
    assert answer.json()["error"]["message"]
    assert answer.json()["error"]["code"] == code
    assert _entries(company) == 0


def test_a_journal_into_a_locked_period_is_refused(company: Company, owner_client: Any) -> None:
    _registered(company)
    services.period_lock(
        company=company, start=date(2026, 1, 1), end=date(2026, 3, 31), reason="Q1 filed"
    )
    answer = owner_client.post(
        f"{LEDGER}/journals",
        _journal(date(2026, 2, 1), ("1000", "10.00", "0"), ("3000", "0", "10.00")),
        format="json",
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "period_locked"
    assert _entries(company) == 0


def test_only_owner_and_finance_post_and_sales_staff_see_nothing(company: Company) -> None:
    _registered(company)
    today = timezone.localdate()
    body = _journal(today, ("1000", "1.00", "0"), ("3000", "0", "1.00"))
    sales = authenticated_client(member(company, Role.SALES), company)
    finance = authenticated_client(member(company, Role.FINANCE), company)
    assert sales.get(f"{LEDGER}/journals").status_code == 403
    assert sales.get(f"{LEDGER}/reports/trial-balance").status_code == 403
    assert sales.post(f"{LEDGER}/journals", body, format="json").status_code == 403
    assert finance.post(f"{LEDGER}/journals", body, format="json").status_code == 201


def test_a_bill_is_entered_paid_and_its_future_date_refused(
    company: Company, owner_client: Any
) -> None:
    _registered(company)
    today = timezone.localdate()
    bill = {
        "supplier_name": "Kopi Beans Trading",
        "supplier_reference": "KB-77",
        "bill_date": (today - timedelta(days=2)).isoformat(),
        "due_date": (today + timedelta(days=28)).isoformat(),
        "lines": [{"account": "6100", "description": "Rent", "amount": "100.00", "tax_code": "TX"}],
    }
    future = owner_client.post(
        f"{LEDGER}/bills",
        {**bill, "bill_date": (today + timedelta(days=1)).isoformat()},
        format="json",
    )
    assert future.status_code == 400
    assert future.json()["error"]["code"] == "future_date"
    with tenant_context(company):
        assert not SupplierBill.objects.exists()
    entered = owner_client.post(f"{LEDGER}/bills", bill, format="json")
    assert entered.status_code == 201, entered.json()
    data = entered.json()["data"]
    assert (data["gst"], data["total"], data["outstanding"]) == ("9.00", "109.00", "109.00")
    twice = owner_client.post(f"{LEDGER}/bills", bill, format="json")
    assert twice.status_code == 409
    too_much = owner_client.post(
        f"{LEDGER}/bills/{data['id']}/payments",
        {"amount": "109.01", "paid_on": today.isoformat()},
        format="json",
    )
    assert too_much.status_code == 400
    paid = owner_client.post(
        f"{LEDGER}/bills/{data['id']}/payments",
        {"amount": "109.00", "paid_on": today.isoformat()},
        format="json",
    )
    assert paid.status_code == 201
    assert paid.json()["data"]["outstanding"] == "0.00"
    assert (
        owner_client.get(f"{LEDGER}/bills", {"open": "1"}).json()["meta"]["pagination"]["total"]
        == 0
    )


def _books(company: Company, owner: User) -> date:
    """Capital, a month of sales by journal, a rent bill: something for every report."""
    today = timezone.localdate()
    start = today - timedelta(days=40)
    services.journal_post_manual(
        company=company,
        day=start,
        description="Capital",
        lines=[
            services.ManualLine(account_code="1000", debit=Decimal("10000.00")),
            services.ManualLine(account_code="3000", credit=Decimal("10000.00")),
        ],
        actor=owner,
    )
    services.journal_post_manual(
        company=company,
        day=start + timedelta(days=1),
        description="Sales on credit to a cafe",
        reference="INV-CAFE-1",
        lines=[
            services.ManualLine(account_code="1100", debit=Decimal("1090.00")),
            services.ManualLine(
                account_code="4000",
                credit=Decimal("1000.00"),
                tax_code="SR",
                tax_base=Decimal("1000.00"),
            ),
            services.ManualLine(
                account_code="2100", credit=Decimal("90.00"), tax_code="SR", tax=Decimal("90.00")
            ),
        ],
        actor=owner,
    )
    services.bill_enter(
        company=company,
        supplier_name="Landlord",
        supplier_reference="R-1",
        bill_date=start + timedelta(days=2),
        due_date=start + timedelta(days=9),
        lines=[services.BillLineInput("6100", "Rent", Decimal("2000.00"), "TX")],
        actor=owner,
    )
    return start


def test_the_reports_agree_with_each_other_and_export_as_csv_xlsx_and_pdf(
    company: Company, owner: User, owner_client: Any
) -> None:
    _registered(company)
    start = _books(company, owner)
    today = timezone.localdate().isoformat()
    trial = owner_client.get(f"{LEDGER}/reports/trial-balance", {"end": today}).json()["data"]
    assert trial["figures"]["difference"] == "0.00"
    assert trial["figures"]["debits"] == trial["figures"]["credits"] == "13270.00"
    profit = owner_client.get(
        f"{LEDGER}/reports/profit-and-loss", {"start": start.isoformat(), "end": today}
    ).json()["data"]["figures"]
    assert (profit["income"], profit["expenses"], profit["profit"]) == (
        "1000.00",
        "2000.00",
        "-1000.00",
    )
    sheet = owner_client.get(f"{LEDGER}/reports/balance-sheet", {"end": today}).json()["data"]
    figures = sheet["figures"]
    assert Decimal(figures["assets"]) == Decimal(figures["liabilities"]) + Decimal(
        figures["equity"]
    )
    assert figures["earnings_to_date"] == "-1000.00"
    ledger = owner_client.get(
        f"{LEDGER}/reports/general-ledger",
        {"start": start.isoformat(), "end": today, "account": "1000"},
    ).json()["data"]
    assert ledger["figures"]["closing"] == "10000.00"
    payables = owner_client.get(f"{LEDGER}/reports/aged-payables", {"end": today}).json()
    assert payables["data"]["figures"]["buckets"]["31-60 days"] == "2180.00"
    receivables = owner_client.get(f"{LEDGER}/reports/aged-receivables", {"end": today}).json()
    assert receivables["data"]["rows"][0][1] == "INV-CAFE-1"

    as_csv = owner_client.get(f"{LEDGER}/reports/trial-balance", {"end": today, "export": "csv"})
    assert as_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["Code", "Account", "Debit", "Credit"]
    assert rows[-1][-2:] == ["13270.00", "13270.00"]
    as_xlsx = owner_client.get(
        f"{LEDGER}/reports/profit-and-loss",
        {"start": start.isoformat(), "end": today, "export": "xlsx"},
    )
    book = load_workbook(io.BytesIO(as_xlsx.content))
    (net_loss,) = [row for row in book.active.iter_rows(values_only=True) if row[1] == "Net loss"]
    assert Decimal(str(net_loss[2])) == Decimal("-1000.00")
    as_pdf = owner_client.get(f"{LEDGER}/reports/balance-sheet", {"end": today, "export": "pdf"})
    assert as_pdf["Content-Type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF")


def test_bad_report_requests_get_a_clear_4xx(company: Company, owner_client: Any) -> None:
    _registered(company)
    assert owner_client.get(f"{LEDGER}/reports/nonsense").status_code == 404
    assert owner_client.get(f"{LEDGER}/reports/profit-and-loss").status_code == 400
    assert (
        owner_client.get(
            f"{LEDGER}/reports/profit-and-loss", {"start": "2026-05-01", "end": "2026-04-01"}
        ).status_code
        == 400
    )
    assert (
        owner_client.get(f"{LEDGER}/reports/trial-balance", {"end": "31/12/2026"}).status_code
        == 400
    )
    assert (
        owner_client.get(f"{LEDGER}/reports/trial-balance", {"export": "docx"}).status_code == 400
    )
    assert (
        owner_client.get(
            f"{LEDGER}/reports/general-ledger", {"start": "2026-01-01", "account": "9999"}
        ).status_code
        == 404
    )


def test_the_f5_exports_as_pdf_and_as_the_iras_payload_with_gst_detail(
    company: Company, owner: User, owner_client: Any
) -> None:
    _registered(company)
    start = _books(company, owner)
    end = timezone.localdate() - timedelta(days=1)
    period = {"start": start.isoformat(), "end": end.isoformat()}
    payload = owner_client.get("/api/v1/gst/f5/export", {**period, "as": "json"})
    assert payload.status_code == 200
    body = payload.json()
    assert body["filingInfo"]["taxRefNo"] == "M90312345A"
    assert body["supplies"]["totStdSupply"] == 1000
    assert (body["taxes"]["outputTaxDue"], body["taxes"]["inputTaxRefund"]) == (90.0, 180.0)
    pdf = owner_client.get("/api/v1/gst/f5/export", period)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    detail = owner_client.get("/api/v1/gst/detail", period).json()["data"]
    assert [row[:2] for row in detail["rows"]] == [["SR", "1, 6"], ["TX", "5, 7"]]
    as_csv = owner_client.get("/api/v1/gst/detail", {**period, "export": "csv"})
    assert b'SR,"1, 6",2,1000.00,90.00' in as_csv.content


def test_a_credit_note_over_the_api_never_exceeds_its_invoice(
    company: Company, owner: User, owner_client: Any
) -> None:
    _registered(company)
    day = timezone.localdate()
    postings.sale_post(
        event=relayed_event(
            company, "order.paid", paid_order_payload(1, Decimal("54.50"), Decimal(0), day), day
        )
    )
    (invoice,) = owner_client.get(f"{LEDGER}/documents").json()["data"]
    assert invoice["total"] == "54.50"
    url = f"{LEDGER}/documents/{invoice['id']}/credit-notes"
    too_much = owner_client.post(url, {"amount": "54.51", "reason": "x"}, format="json")
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "credit_above_document"
    note = owner_client.post(url, {"amount": "10.90", "reason": "Price corrected"}, format="json")
    assert note.status_code == 201
    assert (note.json()["data"]["gst"], note.json()["data"]["corrects"]) == (
        "0.90",
        invoice["number"],
    )
    pdf = owner_client.get(f"{LEDGER}/documents/{invoice['id']}/pdf")
    assert pdf["Content-Type"] == "application/pdf"
    copy = owner_client.get(f"{LEDGER}/documents/{invoice['id']}/pdf")
    assert copy.content != pdf.content  # the second is marked COPY
    assert _entries(company) == 2


def test_periods_follow_the_company_s_cycle_and_finance_is_reminded_once(
    company: Company, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    _registered(company)
    company.gst_period_start_month = 2  # cycle B: Feb-Apr, May-Jul, Aug-Oct, Nov-Jan
    company.save()
    assert gst_services.period_of(company=company, day=date(2026, 12, 5)) == (
        date(2026, 11, 1),
        date(2027, 1, 31),
    )
    assert gst_services.periods_ended(company=company, today=date(2026, 12, 5), count=2) == [
        (date(2026, 8, 1), date(2026, 10, 31)),
        (date(2026, 5, 1), date(2026, 7, 31)),
    ]
    assert gst_services.due_date(date(2026, 10, 31)) == date(2026, 11, 30)
    (last, *_) = gst_services.periods_recent(company=company, today=date(2026, 12, 5))
    assert (last.start, last.due, last.state, last.late) == (
        date(2026, 8, 1),
        date(2026, 11, 30),
        "open",
        True,
    )
    finance = member(company, Role.FINANCE)
    mail.outbox.clear()
    assert gst_services.reminders_send(today=date(2026, 11, 10)) == 0  # not due within 14 days
    with django_capture_on_commit_callbacks(execute=True):
        assert gst_services.reminders_send(today=date(2026, 11, 20)) == 1
    assert gst_services.reminders_send(today=date(2026, 11, 21)) == 0  # once per period
    with tenant_context(company):
        assert GstReminder.objects.get().due == date(2026, 11, 30)
    to = sorted(message.to[0] for message in mail.outbox)
    assert to == sorted([owner.email, finance.email])
    assert "30 Nov 2026" in mail.outbox[0].subject


def test_a_return_is_filed_only_for_a_period_of_the_cycle(company: Company, owner: User) -> None:
    _registered(company)
    with pytest.raises(gst_services.InvalidPeriod, match="one accounting period"):
        gst_services.f5_file(
            company=company, start=date(2026, 7, 1), end=date(2026, 8, 31), actor=owner
        )


def test_a_payout_moves_clearing_to_the_bank_and_books_its_fees_with_their_gst(
    company: Company, owner_client: Any
) -> None:
    _registered(company)
    today = timezone.localdate()
    payout = {
        "gateway": "Stripe",
        "reference": "po_1QxYz",
        "paid_on": today.isoformat(),
        "gross": "1000.00",
        "fee": "34.00",
        "fee_gst": "3.06",
    }
    recorded = owner_client.post(f"{LEDGER}/payouts", payout, format="json")
    assert recorded.status_code == 201, recorded.json()
    assert recorded.json()["data"]["net"] == "962.94"
    assert owner_client.post(f"{LEDGER}/payouts", payout, format="json").status_code == 409
    too_much = owner_client.post(
        f"{LEDGER}/payouts", {**payout, "reference": "po_2", "fee": "999.00"}, format="json"
    )
    assert too_much.status_code == 400
    trial = owner_client.get(f"{LEDGER}/reports/trial-balance").json()["data"]["rows"]
    balances = {row[0]: (row[2], row[3]) for row in trial if row[0]}
    assert balances["1000"] == ("962.94", "0.00")  # bank
    assert balances["1010"] == ("0.00", "1000.00")  # payment clearing
    assert balances["6000"] == ("34.00", "0.00")  # gateway fees
    assert balances["1300"] == ("3.06", "0.00")  # GST input tax
    detail = owner_client.get(
        "/api/v1/gst/detail", {"start": today.isoformat(), "end": today.isoformat()}
    ).json()["data"]
    assert detail["rows"] == [["TX", "5, 7", 2, "34.00", "3.06"]]
