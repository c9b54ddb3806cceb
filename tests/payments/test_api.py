"""The /api/v1/payments endpoints: shapes, roles, bad input, and nothing changed on refusal."""

from __future__ import annotations

import pytest

from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import GatewayAccount, Payment, PaymentStatus, Refund
from pasar.tenancy.models import Role
from tests.conftest import authenticated_client, member

pytestmark = pytest.mark.django_db(transaction=True)


def _captured(company, make_payment, to_app, amount="40.00", reference="SO-API-1") -> Payment:
    payment = make_payment(amount, reference=reference)
    started = services.payment_start(
        payment=payment,
        method="paynow",
        base_url="http://testserver",
        return_url="http://testserver/",
    )
    services.sandbox_charge_settle(
        company=company,
        provider_reference=started.attempt.provider_reference,
        outcome="paid",
        http=to_app,
    )
    with tenant_context(company):
        payment.refresh_from_db()
    return payment


def test_create_then_read_a_payment(owner_client, company, sandbox):
    answer = owner_client.post(
        "/api/v1/payments",
        {"reference": "SO-000777", "amount": "19.90", "description": "Kopi beans"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    data = answer.json()["data"]
    assert data["status"] == "pending"
    assert data["amount"] == "19.90"
    assert data["pay_url"].endswith(f"/pay/{company.public_id}/{data['id']}/")

    detail = owner_client.get(f"/api/v1/payments/{data['id']}")
    assert detail.status_code == 200
    assert detail.json()["data"]["attempts"] == []

    listed = owner_client.get("/api/v1/payments?reference=000777")
    assert listed.json()["meta"]["pagination"]["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reference": "SO-1", "amount": "0.00"}, "amount"),
        ({"reference": "SO-1", "amount": "0.001"}, "amount"),
        ({"reference": "SO-1", "amount": "-5"}, "amount"),
        ({"reference": "SO-1", "amount": "ten"}, "amount"),
        ({"reference": "SO-1", "amount": "10.00", "currency": "USD"}, "currency"),
        ({"reference": "", "amount": "10.00"}, "reference"),
        ({"reference": "X" * 26, "amount": "10.00"}, "reference"),
        ({"reference": "SO-1", "amount": "10.00", "surprise": 1}, "surprise"),
    ],
)
def test_bad_payment_input_is_a_400_naming_the_field_and_writes_nothing(
    owner_client, company, body, field
):
    answer = owner_client.post("/api/v1/payments", body, format="json")
    assert answer.status_code == 400, answer.json()
    error = answer.json()["error"]
    assert any(field in (detail.get("field") or "") for detail in error["details"]), error
    with tenant_context(company):
        assert Payment.objects.count() == 0


def test_a_reference_is_paid_for_once(owner_client, company):
    body = {"reference": "SO-000001", "amount": "5.00"}
    assert owner_client.post("/api/v1/payments", body, format="json").status_code == 201
    again = owner_client.post("/api/v1/payments", body, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_reference"


def test_start_gives_the_sandbox_checkout_and_qr(owner_client, company, sandbox, make_payment):
    payment = make_payment("12.30")
    answer = owner_client.post(
        f"/api/v1/payments/{payment.public_id}/start", {"method": "paynow"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    attempt = answer.json()["data"]
    assert attempt["gateway"] == "sandbox"
    assert attempt["paynow_payload"].startswith("000201010212")
    assert "/sandbox/" in attempt["checkout_url"]


def test_start_without_any_gateway_is_a_clear_503(owner_client, company, make_payment):
    payment = make_payment("12.30")
    answer = owner_client.post(
        f"/api/v1/payments/{payment.public_id}/start", {"method": "card"}, format="json"
    )
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "no_gateway"


def test_refund_over_the_balance_is_refused_and_changes_nothing(
    owner_client, company, sandbox, make_payment, to_app
):
    payment = _captured(company, make_payment, to_app)
    url = f"/api/v1/payments/{payment.public_id}/refunds"
    first = owner_client.post(url, {"amount": "15.00", "reason": "damaged"}, format="json")
    assert first.status_code == 201, first.json()
    too_much = owner_client.post(url, {"amount": "25.01", "reason": "damaged"}, format="json")
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "refund_exceeds_balance"
    with tenant_context(company):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.PARTIALLY_REFUNDED
        assert str(payment.refunded_amount) == "15.00"
        assert Refund.objects.count() == 1


def test_a_refund_repeated_with_its_idempotency_key_happens_once(
    owner_client, company, sandbox, make_payment, to_app
):
    payment = _captured(company, make_payment, to_app)
    url = f"/api/v1/payments/{payment.public_id}/refunds"
    headers = {"HTTP_IDEMPOTENCY_KEY": "refund-abc"}
    one = owner_client.post(url, {"amount": "10.00", "reason": "late"}, format="json", **headers)
    two = owner_client.post(url, {"amount": "10.00", "reason": "late"}, format="json", **headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["data"]["id"] == two.json()["data"]["id"]
    other = owner_client.post(url, {"amount": "11.00", "reason": "late"}, format="json", **headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("role", "view", "refund"),
    [
        (Role.OWNER, 200, 201),
        (Role.ADMIN, 200, 403),
        (Role.FINANCE, 200, 201),
        (Role.SALES, 200, 403),
        (Role.WAREHOUSE, 403, 403),
    ],
)
def test_who_may_see_payments_and_give_money_back(
    company, sandbox, make_payment, to_app, role, view, refund
):
    payment = _captured(company, make_payment, to_app)
    client = authenticated_client(member(company, role), company)
    assert client.get(f"/api/v1/payments/{payment.public_id}").status_code == view
    answer = client.post(
        f"/api/v1/payments/{payment.public_id}/refunds",
        {"amount": "1.00", "reason": "goodwill"},
        format="json",
    )
    assert answer.status_code == refund


def test_gateway_settings_never_show_a_secret_again(owner_client, company):
    answer = owner_client.put(
        "/api/v1/payments/gateways/hitpay",
        {"credentials": {"api_key": "hp_live_key_123456789", "salt": "salty-secret-98765"}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    shown = answer.content.decode()
    assert "hp_live_key_123456789" not in shown
    assert "salty-secret-98765" not in shown
    assert answer.json()["data"]["credential_hints"]["api_key"].endswith("6789")
    assert answer.json()["data"]["webhook_url"].endswith(f"/webhooks/hitpay/{company.public_id}/")
    with tenant_context(company):
        stored = GatewayAccount.objects.get(gateway="hitpay").credentials_encrypted
    assert "hp_live_key" not in stored

    # Changing the priority alone keeps the stored credentials.
    again = owner_client.put("/api/v1/payments/gateways/hitpay", {"priority": 5}, format="json")
    assert again.status_code == 200
    assert again.json()["data"]["credential_hints"]["salt"].endswith("8765")


def test_gateway_settings_refuse_unknown_fields_and_missing_credentials(owner_client, company):
    unknown = owner_client.put(
        "/api/v1/payments/gateways/stripe",
        {"credentials": {"password": "x"}},
        format="json",
    )
    assert unknown.status_code == 400
    missing = owner_client.put("/api/v1/payments/gateways/stripe", {}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "credentials_missing"
    with tenant_context(company):
        assert not GatewayAccount.objects.exists()


def test_sales_cannot_change_gateways(company):
    client = authenticated_client(member(company, Role.SALES), company)
    answer = client.put(
        "/api/v1/payments/gateways/sandbox",
        {"credentials": {"signing_secret": "x" * 20}},
        format="json",
    )
    assert answer.status_code == 403


def test_webhook_log_lists_every_call(owner_client, company, sandbox, make_payment, to_app):
    _captured(company, make_payment, to_app)
    answer = owner_client.get("/api/v1/payments/webhooks")
    assert answer.status_code == 200
    rows = answer.json()["data"]
    assert [row["outcome"] for row in rows] == ["processed"]
    assert rows[0]["gateway"] == "sandbox"
