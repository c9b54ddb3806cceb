"""The GST F5 return from the books: box identities, the reference's worked examples, the
rate across a rate change, and the API with its drill-down and filing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pasar.core.singapore import GST_TAX_CODES
from pasar.gst import services
from pasar.gst.codes import BOXES
from pasar.ledger import chart
from pasar.ledger import services as ledger_services
from pasar.ledger.services import Line
from pasar.tenancy.models import Company
from pasar.tenancy.permissions import Role
from tests.conftest import authenticated_client, member

Q3 = (date(2026, 7, 1), date(2026, 9, 30))
F5_URL = "/api/v1/gst/f5"


def _registered(company: Company) -> Company:
    company.gst_registered, company.gst_number = True, "M90312345A"
    company.save()
    return company


def _sale(company: Company, day: date, value: str, gst: str) -> None:
    ledger_services.entry_post(
        company=company,
        day=day,
        description="Sale",
        source="manual",
        lines=[
            Line(account=chart.PAYMENT_CLEARING, debit=Decimal(value) + Decimal(gst)),
            Line(
                account=chart.SALES, credit=Decimal(value), tax_code="SR", tax_base=Decimal(value)
            ),
            Line(account=chart.GST_OUTPUT, credit=Decimal(gst), tax_code="SR", tax=Decimal(gst)),
        ],
    )


def _purchase(company: Company, day: date, value: str, gst: str) -> None:
    ledger_services.entry_post(
        company=company,
        day=day,
        description="Bill",
        source="manual",
        lines=[
            Line(
                account=chart.INVENTORY,
                debit=Decimal(value),
                tax_code="TX",
                tax_base=Decimal(value),
            ),
            Line(account=chart.GST_INPUT, debit=Decimal(gst), tax_code="TX", tax=Decimal(gst)),
            Line(account=chart.PAYABLES, credit=Decimal(value) + Decimal(gst)),
        ],
    )


def test_every_tax_code_has_its_boxes() -> None:
    assert set(BOXES) == GST_TAX_CODES
    assert services.box_codes(6) == sorted(
        code for code, boxes in BOXES.items() if boxes.tax_box == 6
    )


sums = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("999999.99"), places=2)


@given(st.dictionaries(st.sampled_from(sorted(GST_TAX_CODES)), st.tuples(sums, sums)), sums)
def test_the_computed_boxes_always_add_up(
    by_code: dict[str, tuple[Decimal, Decimal]], revenue: Decimal
) -> None:
    boxes = services.boxes_from(by_code, revenue)
    assert boxes[4] == boxes[1] + boxes[2] + boxes[3]
    assert boxes[8] == boxes[6] - boxes[7]
    assert boxes[18] == boxes[8]
    assert boxes[20] == boxes[18] + boxes[19]
    assert boxes[9] <= boxes[5] or any(v < 0 for v, _ in by_code.values())
    # Box 6 is the sum of the GST the documents carried, never a rate times Box 1.
    assert boxes[6] == sum(
        (tax for code, (_, tax) in by_code.items() if BOXES[code].tax_box == 6), Decimal(0)
    )


@pytest.mark.django_db
def test_the_references_worked_examples(company: Company) -> None:
    _registered(company)
    _sale(company, date(2026, 8, 3), "100.00", "9.00")  # T3
    _purchase(company, date(2026, 8, 4), "100.00", "7.00")  # T4
    _sale(company, date(2026, 10, 1), "500.00", "45.00")  # the next quarter: not in Q3
    found = services.f5_compute(company=company, start=Q3[0], end=Q3[1])
    assert (found.box(1), found.box(6)) == (Decimal("100.00"), Decimal("9.00"))
    assert (found.box(5), found.box(7)) == (Decimal("100.00"), Decimal("7.00"))
    assert found.box(4) == Decimal("100.00")
    assert found.box(8) == Decimal("2.00")
    assert found.box(13) == Decimal("100.00")  # the sale's revenue
    payload = found.iras_payload(tax_ref="M90312345A")
    assert payload["supplies"]["totStdSupply"] == 100
    assert payload["taxes"] == {"outputTaxDue": 9.0, "inputTaxRefund": 7.0}


@pytest.mark.parametrize(
    ("invoiced", "paid", "delivered", "rate"),
    [
        # T9, T9b: invoiced in Dec 2023, paid and delivered in Jan 2024, or paid in Dec.
        (date(2023, 12, 29), date(2024, 1, 3), date(2024, 1, 3), "0.09"),
        (date(2023, 12, 29), date(2023, 12, 30), date(2024, 1, 3), "0.08"),
        # Invoiced after the change but paid in full before it: the old rate.
        (date(2024, 1, 2), date(2023, 12, 20), None, "0.08"),
        # Paid before the change, no invoice yet: the old rate on what was paid.
        (None, date(2022, 12, 31), date(2023, 1, 5), "0.07"),
        # Wholly on one side of 1 Jan 2023.
        (date(2022, 12, 31), date(2022, 12, 31), None, "0.07"),
        (date(2023, 1, 1), date(2023, 1, 1), None, "0.08"),
        (date(2024, 1, 1), None, None, "0.09"),
    ],
)
def test_the_rate_across_a_rate_change(
    invoiced: date | None, paid: date | None, delivered: date | None, rate: str
) -> None:
    assert services.rate_for_supply(
        invoiced_on=invoiced, paid_on=paid, delivered_on=delivered
    ) == Decimal(rate)


def test_delivered_before_the_change_and_invoiced_after_takes_the_old_rate_only_if_elected() -> (
    None
):
    dates = {
        "invoiced_on": date(2024, 1, 5),
        "paid_on": date(2024, 1, 20),
        "delivered_on": date(2023, 12, 28),
    }
    assert services.rate_for_supply(**dates) == Decimal("0.09")
    assert services.rate_for_supply(**dates, elect_old_rate=True) == Decimal("0.08")


def test_the_time_of_supply_is_the_earlier_of_invoice_and_payment() -> None:
    assert services.supply_date(invoiced_on=date(2026, 3, 31), paid_on=date(2026, 4, 2)) == date(
        2026, 3, 31
    )
    assert services.supply_date(invoiced_on=None, paid_on=date(2026, 4, 2)) == date(2026, 4, 2)


@pytest.mark.django_db
def test_the_api_answers_the_boxes_and_the_lines_behind_them(
    company: Company, owner_client
) -> None:
    _registered(company)
    _sale(company, date(2026, 7, 10), "100.00", "9.00")
    _sale(company, date(2026, 9, 30), "33.03", "2.97")
    answer = owner_client.get(F5_URL, {"start": "2026-07-01", "end": "2026-09-30"})
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["state"] == "open"
    assert data["boxes"]["box1"] == "133.03"
    assert data["boxes"]["box6"] == "11.97"
    assert set(data["boxes"]) == {f"box{n}" for n in range(1, 22)}
    behind = owner_client.get(
        f"{F5_URL}/lines", {"start": "2026-07-01", "end": "2026-09-30", "box": 6}
    )
    assert behind.status_code == 200
    lines = behind.json()["data"]
    assert sum(Decimal(line["tax"]) for line in lines) == Decimal(data["boxes"]["box6"])
    assert behind.json()["meta"]["pagination"]["total"] == 4  # two sales lines, two GST lines


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"start": "2026-12-01", "end": "2026-12-31"}, 400, "invalid_period"),  # not ended
        ({"start": "2026-09-30", "end": "2026-07-01"}, 400, "invalid_period"),
        ({"start": "2026-07-01"}, 400, "invalid"),
        ({"start": "July", "end": "2026-09-30"}, 400, "invalid"),
    ],
)
def test_a_bad_period_is_a_clear_4xx(company: Company, owner_client, query, status, code) -> None:
    _registered(company)
    answer = owner_client.get(F5_URL, query)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


@pytest.mark.django_db
def test_a_company_not_registered_for_gst_files_no_return(company: Company, owner_client) -> None:
    answer = owner_client.get(F5_URL, {"start": "2026-07-01", "end": "2026-09-30"})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_gst_registered"


@pytest.mark.django_db
def test_only_finance_and_managers_see_the_return(company: Company) -> None:
    _registered(company)
    sales = authenticated_client(member(company, Role.SALES), company)
    finance = authenticated_client(member(company, Role.FINANCE), company)
    period = {"start": "2026-07-01", "end": "2026-09-30"}
    assert sales.get(F5_URL, period).status_code == 403
    assert finance.get(F5_URL, period).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_filing_keeps_the_boxes_and_locks_the_period(company: Company, owner_client) -> None:
    _registered(company)
    _sale(company, date(2026, 8, 1), "100.00", "9.00")
    period = {"start": "2026-07-01", "end": "2026-09-30"}
    filed = owner_client.post(f"{F5_URL}/file", period, format="json")
    assert filed.status_code == 201
    assert filed.json()["data"]["boxes"]["box6"] == "9.00"
    assert owner_client.get(F5_URL, period).json()["data"]["state"] == "filed"
    again = owner_client.post(f"{F5_URL}/file", period, format="json")
    assert again.status_code == 409
    with pytest.raises(ledger_services.PeriodLocked):
        _sale(company, date(2026, 9, 15), "50.00", "4.50")
    _sale(company, date(2026, 10, 2), "50.00", "4.50")  # a late sale goes in the open period
    assert owner_client.get(F5_URL, period).json()["data"]["boxes"]["box6"] == "9.00"


JAN_2024 = date(2024, 1, 1)
money_values = st.integers(min_value=1, max_value=10**7).map(lambda cents: Decimal(cents) / 100)


@given(
    value=money_values,
    paid=st.integers(0, 100),
    delivered=st.integers(0, 100),
    invoiced_before=st.booleans(),
    elect=st.booleans(),
)
def test_a_supply_split_across_the_rate_change_adds_up_to_its_value(
    value: Decimal, paid: int, delivered: int, invoiced_before: bool, elect: bool
) -> None:
    paid_before = (value * paid / 100).quantize(Decimal("0.01"))
    delivered_before = (value * delivered / 100).quantize(Decimal("0.01"))
    parts = services.rate_split(
        value=value,
        change=JAN_2024,
        invoiced_on=date(2023, 12, 20) if invoiced_before else date(2024, 1, 5),
        paid_before=paid_before,
        delivered_before=delivered_before,
        elect_old_rate=elect,
    )
    assert sum(part for part, _ in parts) == value
    assert {rate for _, rate in parts} <= {Decimal("0.08"), Decimal("0.09")}
    # Paid in full before the change: the old rate on all of it, however it was invoiced.
    if paid_before == value:
        assert parts == [(value, Decimal("0.08"))]


@pytest.mark.parametrize(
    ("invoiced_on", "paid", "delivered", "elect", "expected"),
    [
        # Invoiced in December, delivered in full in December: all at 8%.
        (date(2023, 12, 29), "0", "1000", False, [("1000", "0.08")]),
        # Invoiced in December, 300 paid and 600 delivered before: 9% on the lower of what
        # was paid (700) and delivered (400) on or after 1 Jan.
        (date(2023, 12, 29), "300", "600", False, [("600", "0.08"), ("400", "0.09")]),
        # Invoiced in January, 300 paid in December (delivered after): 8% on what was paid.
        (date(2024, 1, 3), "300", "0", False, [("300", "0.08"), ("700", "0.09")]),
        # Invoiced in January, 600 delivered in December: 9% unless the supplier elects.
        (date(2024, 1, 3), "300", "600", False, [("300", "0.08"), ("700", "0.09")]),
        (date(2024, 1, 3), "300", "600", True, [("600", "0.08"), ("400", "0.09")]),
        # Not invoiced yet, nothing before the change: all at 9%.
        (None, "0", "0", False, [("1000", "0.09")]),
    ],
)
def test_the_reference_s_rate_change_cases_split_as_iras_says(
    invoiced_on: date | None,
    paid: str,
    delivered: str,
    elect: bool,
    expected: list[tuple[str, str]],
) -> None:
    parts = services.rate_split(
        value=Decimal(1000),
        change=JAN_2024,
        invoiced_on=invoiced_on,
        paid_before=Decimal(paid),
        delivered_before=Decimal(delivered),
        elect_old_rate=elect,
    )
    assert parts == [(Decimal(value), Decimal(rate)) for value, rate in expected]
