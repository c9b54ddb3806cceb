"""No provider is called inside an open database transaction: the attempt or refund is
recorded and committed first, the provider called with nothing open, the answer recorded in a
new transaction; the API and back-office views that call out run without the request-wide
transaction. Review refunds are committed one by one with derived keys, so a failure between
two calls never loses the first and a retry never pays it twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.gateways.base import GatewayUnavailable, RefundRequest, RefundResult
from pasar.payments.models import (
    GatewayAccount,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReviewReason,
)
from pasar.tenancy.models import Company, User
from tests.conftest import authenticated_client
from tests.payments.conftest import start_at_sandbox

pytestmark = pytest.mark.django_db(transaction=True)


class Watched:
    """A real gateway whose calls note whether a database transaction was open."""

    def __init__(self, inner: Any, calls: list[tuple[str, bool]]) -> None:
        self.inner = inner
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create_charge(self, request: Any) -> Any:
        self.calls.append(("create_charge", connection.in_atomic_block))
        return self.inner.create_charge(request)

    def refund(self, request: Any) -> Any:
        self.calls.append(("refund", connection.in_atomic_block))
        return self.inner.refund(request)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []
    real = services._account_gateway
    monkeypatch.setattr(
        services, "_account_gateway", lambda account, http=None: Watched(real(account, http), seen)
    )
    return seen


def reloaded(payment: Payment) -> Payment:
    with tenant_context(payment.company_id):
        payment.refresh_from_db()
    return payment


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_payment_start_through_the_api_calls_the_gateway_with_no_transaction_open(
    company: Company,
    owner: User,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    calls: list[tuple[str, bool]],
) -> None:
    payment = make_payment()

    answer = authenticated_client(owner, company).post(
        f"/api/v1/payments/{payment.public_id}/start", {"method": "paynow"}, format="json"
    )

    assert answer.status_code == 201, answer.content
    assert calls == [("create_charge", False)]


def test_the_pay_page_of_a_signed_in_member_calls_the_gateway_with_no_transaction_open(
    company: Company,
    owner: User,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    calls: list[tuple[str, bool]],
) -> None:
    payment = make_payment()

    answer = signed_in(owner).post(
        f"/pay/{company.public_id}/{payment.public_id}/", {"method": "paynow"}
    )

    assert answer.status_code == 302
    assert calls == [("create_charge", False)]


def test_refunds_through_the_api_and_the_office_call_the_gateway_with_no_transaction_open(
    company: Company,
    owner: User,
    make_payment: Callable[..., Payment],
    pay: Callable[[Payment], Payment],
    calls: list[tuple[str, bool]],
) -> None:
    payment = pay(make_payment("30.00"))
    calls.clear()

    by_api = authenticated_client(owner, company).post(
        f"/api/v1/payments/{payment.public_id}/refunds",
        {"amount": "5.00", "reason": "Returned"},
        format="json",
    )
    by_office = signed_in(owner).post(
        f"/office/payments/{payment.public_id}/refund/",
        {"amount": "5.00", "reason": "Returned", "confirmed": "yes"},
    )

    assert by_api.status_code == 201, by_api.content
    assert by_office.status_code == 302
    assert calls == [("refund", False), ("refund", False)]
    assert reloaded(payment).refunded_amount == Decimal("10.00")


def paid_twice_late(
    company: Company, make_payment: Callable[..., Payment], to_app: dict[str, httpx.Client]
) -> Payment:
    """A 10.00 payment that expired, then was paid at two sandbox charges: 20.00 to review."""
    created = timezone.now() - timedelta(hours=2)
    payment = make_payment("10.00", clock=lambda: created)
    first = start_at_sandbox(payment, clock=lambda: created)
    second = start_at_sandbox(payment, clock=lambda: created)
    services.payments_expire_overdue()
    for attempt in (first, second):
        services.sandbox_charge_settle(
            company=company,
            provider_reference=attempt.provider_reference,
            outcome="paid",
            http=to_app,
        )
    payment = reloaded(payment)
    assert payment.review_reason == ReviewReason.CAPTURED_AFTER_EXPIRY
    assert payment.captured_amount == Decimal("20.00")
    return payment


def test_review_refunds_through_the_office_call_the_gateway_with_no_transaction_open(
    company: Company,
    owner: User,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
    calls: list[tuple[str, bool]],
) -> None:
    payment = paid_twice_late(company, make_payment, to_app)
    calls.clear()

    answer = signed_in(owner).post(
        f"/office/payments/{payment.public_id}/review/", {"decision": "refund"}
    )

    assert answer.status_code == 302
    assert calls == [("refund", False), ("refund", False)]
    assert reloaded(payment).status == PaymentStatus.REFUNDED


def test_a_gateway_call_inside_an_open_transaction_is_refused(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    pay: Callable[[Payment], Payment],
    calls: list[tuple[str, bool]],
) -> None:
    from pasar.core.transactions import TransactionOpen

    paid = pay(make_payment("30.00"))
    unpaid = make_payment()
    calls.clear()

    with pytest.raises(TransactionOpen), transaction.atomic():
        services.refund_create(payment=paid, amount="5.00", actor=None)
    with pytest.raises(TransactionOpen), transaction.atomic():
        start_at_sandbox(unpaid)

    assert calls == []
    assert reloaded(paid).refunded_amount == 0


class FailsSecond:
    """A gateway whose refunds succeed, except the call numbered `fail_at` (from 1)."""

    def __init__(self, sent: list[RefundRequest], fail_at: int | None) -> None:
        self.sent = sent
        self.fail_at = fail_at

    def refund(self, request: RefundRequest) -> RefundResult:
        assert not connection.in_atomic_block
        self.sent.append(request)
        if len(self.sent) == self.fail_at:
            raise GatewayUnavailable("the provider did not answer in time")
        return RefundResult(
            provider_refund_id=f"re_{len(self.sent)}_{request.idempotency_key[:8]}",
            succeeded=True,
        )


def test_a_failure_between_two_review_refunds_keeps_the_first_and_the_retry_sends_only_the_second(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    to_app: dict[str, httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment = paid_twice_late(company, make_payment, to_app)
    first_run: list[RefundRequest] = []
    monkeypatch.setattr(
        services, "_account_gateway", lambda account, http=None: FailsSecond(first_run, 2)
    )

    with pytest.raises(services.RefundFailed):
        services.payment_review_refund(payment=payment, actor=None)

    # The first refund left the shop's account: it stays recorded, committed and succeeded.
    with tenant_context(company):
        [kept] = Refund.objects.all()
    assert kept.status == RefundStatus.SUCCEEDED
    assert kept.idempotency_key == first_run[0].idempotency_key
    payment = reloaded(payment)
    assert payment.refunded_amount == Decimal("10.00")
    assert payment.review_reason == ReviewReason.CAPTURED_AFTER_EXPIRY

    retry: list[RefundRequest] = []
    monkeypatch.setattr(
        services, "_account_gateway", lambda account, http=None: FailsSecond(retry, None)
    )
    services.payment_review_refund(payment=payment, actor=None)

    assert [r.idempotency_key for r in retry] == [first_run[1].idempotency_key]
    payment = reloaded(payment)
    assert payment.refunded_amount == Decimal("20.00")
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.review_reason == ReviewReason.NONE


def test_a_refund_sends_a_key_derived_from_the_refund_itself(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    pay: Callable[[Payment], Payment],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paid = pay(make_payment("30.00"))
    sent: list[RefundRequest] = []
    monkeypatch.setattr(
        services, "_account_gateway", lambda account, http=None: FailsSecond(sent, None)
    )

    given = services.refund_create(payment=paid, amount="5.00", actor=None)

    assert [r.idempotency_key for r in sent] == [given.idempotency_key]
    assert given.idempotency_key == services.derived_key("refund", given.public_id)


def test_a_retried_refund_under_its_key_is_never_sent_twice(
    company: Company,
    sandbox: GatewayAccount,
    make_payment: Callable[..., Payment],
    pay: Callable[[Payment], Payment],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paid = pay(make_payment("30.00"))
    sent: list[RefundRequest] = []
    monkeypatch.setattr(
        services, "_account_gateway", lambda account, http=None: FailsSecond(sent, 1)
    )
    with pytest.raises(services.RefundFailed):
        services.refund_create(payment=paid, amount="5.00", actor=None, idempotency_key="k-1")
    assert reloaded(paid).refunded_amount == 0

    services.refund_create(payment=paid, amount="5.00", actor=None, idempotency_key="k-1")
    services.refund_create(payment=paid, amount="5.00", actor=None, idempotency_key="k-1")

    assert [r.idempotency_key for r in sent] == ["k-1", "k-1"]
    assert reloaded(paid).refunded_amount == Decimal("5.00")


def test_the_office_refund_form_resent_sends_the_same_key_and_refunds_once(
    company: Company,
    owner: User,
    make_payment: Callable[..., Payment],
    pay: Callable[[Payment], Payment],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paid = pay(make_payment("30.00"))
    sent: list[RefundRequest] = []
    # The first call times out (the money may or may not have left), the resend goes through.
    monkeypatch.setattr(
        services, "_account_gateway", lambda account, http=None: FailsSecond(sent, 1)
    )
    client = signed_in(owner)
    page = client.get(f"/office/payments/{paid.public_id}/").content.decode()
    key = page.split('name="request_key" value="', 1)[1].split('"', 1)[0]
    form = {"amount": "5.00", "reason": "Returned", "request_key": key, "confirmed": "yes"}
    url = f"/office/payments/{paid.public_id}/refund/"

    answers = [client.post(url, form).status_code for _ in range(3)]

    assert answers == [400, 302, 302]
    assert [r.idempotency_key for r in sent] == [key, key]
    assert reloaded(paid).refunded_amount == Decimal("5.00")
