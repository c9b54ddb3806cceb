"""A payment left unpaid past its expiry becomes expired, by the periodic sweep or on the next
read, exactly once; a payable that is not well formed is refused with nothing written."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from pasar.core.errors import Conflict
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import GatewayAccount, Payment, PaymentAttempt, PaymentStatus
from pasar.tenancy.models import Company
from tests.payments.conftest import FakeClock, sandbox_webhook, start_at_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def topics(company: Company) -> list[str]:
    with tenant_context(company):
        return list(
            OutboxEvent.objects.filter(company=company)
            .order_by("id")
            .values_list("topic", flat=True)
        )


def status_of(payment: Payment) -> str:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment.status


def notify(
    company: Company,
    payment: Payment,
    clock: FakeClock,
    *,
    event_type: str = "charge.succeeded",
    amount: str | None = None,
) -> None:
    """The sandbox tells the shop what became of the payment's newest charge."""
    with tenant_context(company):
        charge = PaymentAttempt.objects.filter(payment=payment).latest("id").provider_reference
    body, headers = sandbox_webhook(
        company,
        event_type=event_type,
        charge=charge,
        payment=payment,
        amount=amount,
        at=clock.timestamp(),
    )
    services.webhook_receive(
        company_public_id=str(company.public_id),
        gateway="sandbox",
        body=body,
        headers=headers,
        clock=clock,
    )


def test_the_sweep_expires_only_what_is_due_and_only_once(
    company: Company, make_payment: Callable[..., Payment], clock: FakeClock
) -> None:
    due = make_payment(clock=clock)
    later = make_payment(clock=clock, ttl=timedelta(hours=2))
    clock.advance(minutes=30)

    assert services.payments_expire_overdue(clock=clock) == 1
    assert services.payments_expire_overdue(clock=clock) == 0

    assert status_of(due) == PaymentStatus.EXPIRED
    assert status_of(later) == PaymentStatus.PENDING
    assert topics(company).count("payment.expired") == 1


def test_a_payment_is_open_until_its_expiry(
    make_payment: Callable[..., Payment], clock: FakeClock
) -> None:
    payment = make_payment(clock=clock)
    clock.advance(minutes=29, seconds=59)

    assert services.payments_expire_overdue(clock=clock) == 0
    assert status_of(payment) == PaymentStatus.PENDING


def test_the_sweep_leaves_payments_with_money_on_them(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    clock: FakeClock,
) -> None:
    paid = make_payment("20.00", clock=clock)
    short_paid = make_payment("20.00", clock=clock)
    failed = make_payment("20.00", clock=clock)
    for payment in (paid, short_paid, failed):
        start_at_sandbox(payment, clock=clock)
    notify(company, paid, clock, amount="20.00")
    notify(company, short_paid, clock, amount="15.00")
    notify(company, failed, clock, event_type="charge.failed")
    clock.advance(hours=1)

    assert services.payments_expire_overdue(clock=clock) == 1

    assert status_of(paid) == PaymentStatus.CAPTURED
    # Paid short: still pending with money on it, waiting for staff; never expired under it.
    assert status_of(short_paid) == PaymentStatus.PENDING
    assert short_paid.captured_amount == Decimal("15.00")
    assert status_of(failed) == PaymentStatus.EXPIRED
    assert topics(company).count("payment.expired") == 1


def test_reading_an_overdue_payment_expires_it_once(
    company: Company, make_payment: Callable[..., Payment], clock: FakeClock
) -> None:
    payment = make_payment(clock=clock)
    assert services.payment_expire_if_due(payment, clock=clock).status == PaymentStatus.PENDING
    clock.advance(hours=1)

    read = services.payment_expire_if_due(payment, clock=clock)
    again = services.payment_expire_if_due(read, clock=clock)

    assert read.status == again.status == PaymentStatus.EXPIRED
    assert status_of(payment) == PaymentStatus.EXPIRED
    assert topics(company).count("payment.expired") == 1


def test_the_pay_page_of_an_overdue_payment_says_it_expired(
    client: Client, company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment(clock=FakeClock())  # expired long before the wall clock's now
    url = f"/pay/{company.public_id}/{payment.public_id}/"

    page = client.get(url)

    assert page.status_code == 200
    assert b"This payment link has expired" in page.content
    assert b"Pay with PayNow" not in page.content
    assert status_of(payment) == PaymentStatus.EXPIRED
    assert topics(company).count("payment.expired") == 1


def test_paying_an_expired_payment_is_refused_with_nothing_sent(
    client: Client, company: Company, sandbox: GatewayAccount, make_payment: Callable[..., Payment]
) -> None:
    payment = make_payment(clock=FakeClock())

    answer = client.post(f"/pay/{company.public_id}/{payment.public_id}/", {"method": "paynow"})

    assert answer.status_code == 409
    assert b"expired" in answer.content
    with tenant_context(company):
        assert PaymentAttempt.objects.count() == 0


def test_starting_an_overdue_payment_expires_it_and_refuses(
    sandbox: GatewayAccount, make_payment: Callable[..., Payment], clock: FakeClock
) -> None:
    payment = make_payment(clock=clock)
    clock.advance(hours=1)

    with pytest.raises(Conflict) as refused:
        start_at_sandbox(payment, clock=clock)

    assert refused.value.code == "payment_closed"
    assert status_of(payment) == PaymentStatus.EXPIRED


def test_cancelling_stops_the_wait_but_only_for_an_open_payment(
    company: Company, make_payment: Callable[..., Payment], clock: FakeClock
) -> None:
    payment = make_payment(clock=clock)

    assert services.payment_cancel(payment=payment, actor=None).status == PaymentStatus.CANCELLED
    with pytest.raises(Conflict) as refused:
        services.payment_cancel(payment=payment, actor=None)

    assert refused.value.code == "payment_closed"
    clock.advance(hours=1)
    assert services.payments_expire_overdue(clock=clock) == 0
    assert topics(company).count("payment.cancelled") == 1


# --- Bad payables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"currency": "USD"}, "currency", "unsupported_currency"),
        ({"currency": "XYZ"}, "currency", "unsupported_currency"),
        ({"currency": ""}, "currency", "unsupported_currency"),
        ({"amount": "0.001"}, "amount", "invalid"),
        ({"amount": "0"}, "amount", "too_small"),
        ({"amount": "-12.00"}, "amount", "too_small"),
        ({"amount": "10000000.00"}, "amount", "too_large"),
        ({"amount": "12,50"}, "amount", "invalid"),
        ({"amount": 12.5}, "amount", "invalid"),
        ({"reference": ""}, "reference", "required"),
        ({"reference": "SO-" + "9" * 23}, "reference", "invalid"),
        ({"reference": "SO-00001é"}, "reference", "invalid"),
        ({"reference": "SO-1\n2"}, "reference", "invalid"),
        ({"ttl": timedelta(seconds=30)}, "ttl_seconds", "invalid"),
        ({"ttl": timedelta(days=31)}, "ttl_seconds", "invalid"),
    ],
)
def test_a_payable_that_is_not_well_formed_is_refused_with_nothing_written(
    company: Company, changes: dict[str, Any], field: str, code: str
) -> None:
    given: dict[str, Any] = {"reference": "SO-000001", "amount": "12.50", "currency": "SGD"}

    with pytest.raises(services.InvalidPayment) as refused:
        services.payment_create(company=company, **{**given, **changes})

    assert refused.value.status == 400
    assert [(d["field"], d["code"]) for d in refused.value.details] == [(field, code)]
    with tenant_context(company):
        assert Payment.objects.count() == 0
    assert topics(company) == []


def test_a_reference_is_taken_once_per_shop(
    company: Company, other_company: Company, make_payment: Callable[..., Payment]
) -> None:
    make_payment(reference="SO-000001")

    with pytest.raises(Conflict) as refused:
        make_payment(reference=" SO-000001 ")

    assert (refused.value.code, refused.value.status) == ("duplicate_reference", 409)
    with tenant_context(company):
        assert Payment.objects.count() == 1
    assert topics(company) == ["payment.created"]
    # Another shop's order numbers are its own.
    services.payment_create(company=other_company, reference="SO-000001", amount="1.00")


@pytest.mark.django_db(transaction=True)
def test_one_reference_created_ten_times_at_once_is_created_once(company: Company) -> None:
    barrier = threading.Barrier(10)
    outcomes: list[Any] = [None] * 10

    def create(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            outcomes[index] = services.payment_create(
                company=company, reference="SO-000042", amount="42.00"
            )
        except Exception as error:  # the refused ones, and anything unexpected
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    kinds = Counter(
        outcome.code if isinstance(outcome, Conflict) else type(outcome).__name__
        for outcome in outcomes
    )
    assert kinds == {"Payment": 1, "duplicate_reference": 9}, outcomes
    assert topics(company) == ["payment.created"]


def test_a_well_formed_payable_is_normalised(company: Company) -> None:
    payment = services.payment_create(
        company=company, reference=" SO-000007 ", amount="12.5", currency="sgd"
    )

    assert (payment.reference, payment.amount, payment.currency) == (
        "SO-000007",
        Decimal("12.50"),
        "SGD",
    )
    assert topics(company) == ["payment.created"]
