"""The books' and GST pages in the back office: every page renders for finance with and
without data, writes go through the services with their refusals shown on the form, and
roles keep sales staff out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.gst import services as gst_services
from pasar.gst.models import GstReturn
from pasar.ledger import services
from pasar.ledger.models import Account, JournalEntry, SupplierBill
from pasar.tenancy.models import Company, Role, User
from tests.conftest import member
from tests.ledger.test_api import _books, _registered

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance(company: Company) -> Client:
    _registered(company)
    return signed_in(member(company, Role.FINANCE))


PAGES = [
    "/office/books/",
    "/office/books/reports/trial-balance/",
    "/office/books/reports/balance-sheet/",
    "/office/books/reports/general-ledger/?account=1000&start=2026-01-01",
    "/office/books/reports/aged-payables/",
    "/office/books/reports/aged-receivables/",
    "/office/books/journals/",
    "/office/books/journals/new/",
    "/office/books/documents/",
    "/office/books/bills/",
    "/office/books/bills/new/",
    "/office/books/payouts/",
    "/office/books/accounts/",
    "/office/gst/",
]


@pytest.mark.parametrize("with_books", [False, True])
def test_every_books_page_renders_for_finance_with_and_without_data(
    company: Company, owner: User, finance: Client, with_books: bool
) -> None:
    if with_books:
        _books(company, owner)
    for url in PAGES:
        answer = finance.get(url)
        assert answer.status_code == 200, url
        text = answer.content.decode()
        if not with_books and url.endswith("/journals/"):
            assert "No journal entries yet" in text
    if with_books:
        pnl = finance.get("/office/books/").content.decode()
        assert '<svg class="chart"' in pnl
        assert "Net loss" in pnl
        xlsx = finance.get("/office/books/reports/trial-balance/", {"export": "xlsx"})
        assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_sales_staff_see_no_books(company: Company) -> None:
    _registered(company)
    sales = signed_in(member(company, Role.SALES))
    for url in ("/office/books/", "/office/books/journals/", "/office/gst/"):
        assert sales.get(url).status_code == 403


def _journal_post(day: date, debit: str, credit: str) -> dict[str, Any]:
    form = {
        "date": day.isoformat(),
        "description": "Opening capital",
        "reference": "",
        "line-TOTAL_FORMS": "6",
        "line-INITIAL_FORMS": "0",
        "line-MIN_NUM_FORMS": "0",
        "line-MAX_NUM_FORMS": "50",
        "line-0-account": "1000",
        "line-0-debit": debit,
        "line-1-account": "3000",
        "line-1-credit": credit,
    }
    return form


def test_a_journal_typed_on_the_page_is_posted_and_an_unbalanced_one_explained(
    company: Company, finance: Client
) -> None:
    today = timezone.localdate()
    refused = finance.post("/office/books/journals/new/", _journal_post(today, "100.00", "90.00"))
    assert refused.status_code == 400
    assert "must be equal" in refused.content.decode()
    with tenant_context(company):
        assert not JournalEntry.objects.exists()
    posted = finance.post("/office/books/journals/new/", _journal_post(today, "100.00", "100.00"))
    assert posted.status_code == 302
    detail = finance.get(posted["Location"]).content.decode()
    assert "JE-000001" in detail
    assert "Reverse it today" in detail


def test_a_bill_entered_on_the_page_is_paid_in_two_parts(company: Company, finance: Client) -> None:
    today = timezone.localdate()
    form = {
        "supplier_name": "Kopi Beans Trading",
        "supplier_gst_number": "",
        "supplier_reference": "KB-9",
        "bill_date": (today - timedelta(days=1)).isoformat(),
        "due_date": (today + timedelta(days=29)).isoformat(),
        "description": "",
        "line-TOTAL_FORMS": "4",
        "line-INITIAL_FORMS": "0",
        "line-MIN_NUM_FORMS": "0",
        "line-MAX_NUM_FORMS": "50",
        "line-0-account": "6100",
        "line-0-description": "Rent",
        "line-0-amount": "200.00",
        "line-0-tax_code": "TX",
    }
    future = finance.post(
        "/office/books/bills/new/", {**form, "bill_date": (today + timedelta(days=3)).isoformat()}
    )
    assert future.status_code == 400
    assert "not in the future" in future.content.decode()
    entered = finance.post("/office/books/bills/new/", form)
    assert entered.status_code == 302
    with tenant_context(company):
        bill = SupplierBill.objects.get()
    assert bill.total == 218
    pay = f"/office/books/bills/{bill.public_id}/pay/"
    too_much = finance.post(pay, {"amount": "300.00", "paid_on": today.isoformat()})
    assert too_much.status_code == 400
    assert "owes S$218.00" in too_much.content.decode()
    finance.post(pay, {"amount": "18.00", "paid_on": today.isoformat()})
    page = finance.get(f"/office/books/bills/{bill.public_id}/").content.decode()
    assert "S$200.00" in page


def test_the_f5_page_shows_the_boxes_drills_down_and_files_the_period(
    company: Company, owner: User, finance: Client
) -> None:
    today = timezone.localdate()
    (start, end), *_ = gst_services.periods_ended(company=company, today=today)
    services.journal_post_manual(
        company=company,
        day=end,
        description="Cafe sale",
        lines=[
            services.ManualLine(account_code="1100", debit=109),
            services.ManualLine(account_code="4000", credit=100, tax_code="SR", tax_base=100),
            services.ManualLine(account_code="2100", credit=9, tax_code="SR", tax=9),
        ],
        actor=owner,
    )
    page = finance.get("/office/gst/").content.decode()
    assert 'data-testid="box6">S$9.00' in page
    assert "Mark this return filed" in page
    lines = finance.get(
        f"/office/gst/boxes/6/?start={start.isoformat()}&end={end.isoformat()}"
    ).content.decode()
    assert "Cafe sale" in lines
    filed = finance.post("/office/gst/file/", {"start": start.isoformat(), "end": end.isoformat()})
    assert filed.status_code == 302
    with tenant_context(company):
        assert GstReturn.objects.get().boxes["box6"] == "9.00"
    assert "Mark this return filed" not in finance.get(filed["Location"]).content.decode()


def test_a_payout_recorded_on_the_page_and_refused_twice(company: Company, finance: Client) -> None:
    form = {
        "gateway": "HitPay",
        "reference": "HP-2026-11",
        "paid_on": timezone.localdate().isoformat(),
        "gross": "500.00",
        "fee": "9.50",
        "fee_gst": "0.86",
    }
    assert finance.post("/office/books/payouts/", form).status_code == 302
    again = finance.post("/office/books/payouts/", form)
    assert again.status_code == 400
    assert "recorded already" in again.content.decode()
    page = finance.get("/office/books/payouts/").content.decode()
    assert "S$489.64" in page
    sales = signed_in(member(company, Role.SALES))
    assert sales.post("/office/books/payouts/", {**form, "reference": "x"}).status_code == 403


def test_the_chart_is_edited_on_its_page_within_its_rules(
    company: Company, finance: Client
) -> None:
    added = finance.post(
        "/office/books/accounts/", {"code": "6300", "name": "Marketing", "kind": "expense"}
    )
    assert added.status_code == 302
    twice = finance.post(
        "/office/books/accounts/", {"code": "6300", "name": "Ads", "kind": "expense"}
    )
    assert twice.status_code == 400
    assert "already has an account 6300" in twice.content.decode()
    with tenant_context(company):
        marketing = Account.objects.get(code="6300")
        clearing = Account.objects.get(role="payment_clearing")
    finance.post(f"/office/books/accounts/{marketing.public_id}/", {"name": "Marketing and ads"})
    finance.post(f"/office/books/accounts/{marketing.public_id}/", {"archive": "1"})
    refused = finance.post(
        f"/office/books/accounts/{clearing.public_id}/", {"archive": "1"}, follow=True
    )
    assert "cannot be archived" in refused.content.decode()
    with tenant_context(company):
        marketing.refresh_from_db()
        clearing.refresh_from_db()
    assert (marketing.name, marketing.is_archived) == ("Marketing and ads", True)
    assert not clearing.is_archived
