"""How long a new payment stays open: per company, a day for links sent by chat, 30 minutes at
checkout, unless the caller says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from pasar.core.models import AuditEntry
from pasar.core.tenant import tenant_context
from pasar.payments import services
from pasar.payments.models import Payment, PaymentPurpose, PaymentSettings
from pasar.tenancy.models import Role
from tests.conftest import member

pytestmark = pytest.mark.django_db


def open_for(payment: Payment) -> timedelta:
    return payment.expires_at - payment.created_at


def test_a_link_stays_open_a_day_and_a_checkout_thirty_minutes(company, make_payment) -> None:
    assert open_for(make_payment(purpose=PaymentPurpose.LINK)) == timedelta(days=1)
    assert open_for(make_payment(purpose=PaymentPurpose.CHECKOUT)) == timedelta(minutes=30)
    assert open_for(make_payment()) == timedelta(minutes=30)
    assert open_for(make_payment(ttl=timedelta(minutes=7))) == timedelta(minutes=7)


def test_a_company_sets_its_own_defaults_and_others_keep_theirs(
    company, other_company, owner, make_payment
) -> None:
    services.payment_settings_save(
        company=company, link_ttl_minutes=180, checkout_ttl_minutes=15, actor=owner
    )
    assert open_for(make_payment(purpose=PaymentPurpose.LINK)) == timedelta(hours=3)
    assert open_for(make_payment(purpose=PaymentPurpose.CHECKOUT)) == timedelta(minutes=15)
    elsewhere = services.payment_create(
        company=other_company, reference="SO-1", amount="5.00", purpose=PaymentPurpose.LINK
    )
    assert open_for(elsewhere) == timedelta(days=1)
    with tenant_context(company):
        entry = AuditEntry.objects.filter(action="payments.settings_saved").get()
    assert entry.changes == {"link_ttl_minutes": [1440, 180], "checkout_ttl_minutes": [30, 15]}


@pytest.mark.parametrize(("link", "checkout"), [(0, 30), (1440, 43_201), (-5, 30)])
def test_defaults_out_of_range_are_refused_and_nothing_changes(company, link, checkout) -> None:
    with pytest.raises(services.InvalidPayment):
        services.payment_settings_save(
            company=company, link_ttl_minutes=link, checkout_ttl_minutes=checkout
        )
    with tenant_context(company):
        assert not PaymentSettings.objects.exists()


def test_an_unknown_purpose_is_refused(company, make_payment) -> None:
    with pytest.raises(services.InvalidPayment) as refused:
        make_payment(purpose="forever")
    assert refused.value.details[0]["field"] == "purpose"


def test_the_api_takes_the_purpose_and_the_companys_default(owner_client, company) -> None:
    answer = owner_client.post(
        "/api/v1/payments",
        {"reference": "SO-CHAT-1", "amount": "19.90", "purpose": "link"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    with tenant_context(company):
        payment = Payment.objects.get(reference="SO-CHAT-1")
    assert open_for(payment) == timedelta(days=1)
    refused = owner_client.post(
        "/api/v1/payments",
        {"reference": "SO-CHAT-2", "amount": "19.90", "purpose": "never"},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["field"] == "purpose"


def test_the_owner_changes_the_defaults_on_the_gateways_page(company, owner) -> None:
    browser = Client()
    browser.force_login(owner)
    page = browser.get(reverse("payments_office:gateway_settings")).content.decode()
    assert "How long new payments stay open" in page
    assert 'value="1440"' in page
    saved = browser.post(
        reverse("payments_office:payment_defaults_save"),
        {"link_ttl_minutes": "2880", "checkout_ttl_minutes": "20"},
    )
    assert saved.status_code == 302
    new_link = browser.get(reverse("payments_office:payment_new")).content.decode()
    assert 'value="2880"' in new_link
    refused = browser.post(
        reverse("payments_office:payment_defaults_save"),
        {"link_ttl_minutes": "0", "checkout_ttl_minutes": "20"},
    )
    assert refused.status_code == 400
    assert "at least 1 minute" in refused.content.decode()
    with tenant_context(company):
        assert PaymentSettings.objects.get().link_ttl_minutes == 2880


def test_finance_reads_the_defaults_but_may_not_change_them(company) -> None:
    finance = member(company, Role.FINANCE)
    browser = Client()
    browser.force_login(finance)
    page = browser.get(reverse("payments_office:gateway_settings"))
    assert page.status_code == 200
    assert "1440 minutes" in page.content.decode()
    refused = browser.post(
        reverse("payments_office:payment_defaults_save"),
        {"link_ttl_minutes": "5", "checkout_ttl_minutes": "5"},
    )
    assert refused.status_code == 403
    with tenant_context(company):
        assert not PaymentSettings.objects.exists()
