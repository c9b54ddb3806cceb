"""Shop accounts: a forgotten password reset by a single-use link, and where signing in leads."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from pasar.tenancy import services as tenancy_services
from pasar.tenancy.models import Company
from tests.sales.conftest import Store

pytestmark = pytest.mark.django_db

PASSWORD = "teh-tarik-kaya-toast"
NEW_PASSWORD = "chendol-and-ice-kacang"


def base(store: Store) -> str:
    return f"/s/{store.company.shop_slug}/"


@pytest.fixture
def siti(store: Store) -> str:
    tenancy_services.shopper_register(
        company=store.company, email="siti@example.com", password=PASSWORD, full_name="Siti"
    )
    return "siti@example.com"


def reset_link(store: Store) -> str:
    [message] = mail.outbox
    assert store.company.legal_name in message.subject
    match = re.search(r"https?://[^/\s]+(/s/[^\s]+/account/reset/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_forgotten_password_is_reset_once_and_the_shopper_is_signed_in(
    django_capture_on_commit_callbacks, store: Store, siti: str
) -> None:
    client = Client()
    assert "Forgot your password?" in client.get(f"{base(store)}account/sign-in/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"{base(store)}account/reset/", {"email": "SITI@example.com"})
    assert sent.status_code == 200
    assert "a link to choose a new password is on its way" in sent.content.decode()
    link = reset_link(store)
    assert client.get(link).status_code == 200
    weak = client.post(link, {"password": "short"})
    assert weak.status_code == 400
    saved = client.post(link, {"password": NEW_PASSWORD})
    assert saved.status_code == 302
    assert "Account" in client.get(f"{base(store)}account/").content.decode()
    # The link worked once; the new password signs in, the old one does not.
    assert client.get(link).status_code == 400
    assert client.post(link, {"password": "another-long-password"}).status_code == 400
    tenancy_services.shopper_authenticate(company=store.company, email=siti, password=NEW_PASSWORD)


def test_an_unknown_email_gets_the_same_answer_and_no_mail(
    django_capture_on_commit_callbacks, store: Store, siti: str
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"{base(store)}account/reset/", {"email": "nobody@example.com"})
    assert answer.status_code == 200
    assert "a link to choose a new password is on its way" in answer.content.decode()
    assert mail.outbox == []


def test_a_reset_link_works_only_at_its_own_shop(
    django_capture_on_commit_callbacks, store: Store, siti: str, other_company: Company
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"{base(store)}account/reset/", {"email": siti})
    mine = f"/s/{store.company.shop_slug}/"
    link = reset_link(store).replace(mine, f"/s/{other_company.shop_slug}/")
    assert Client().get(link).status_code == 400


def test_signing_in_never_leads_to_another_site(store: Store, siti: str) -> None:
    client = Client()
    away = client.post(
        f"{base(store)}account/sign-in/",
        {"email": siti, "password": PASSWORD, "next": "https://evil.example/phish"},
    )
    assert away.status_code == 302
    assert away["Location"] == f"{base(store)}account/"
    onward = Client().post(
        f"{base(store)}account/sign-in/",
        {"email": siti, "password": PASSWORD, "next": f"{base(store)}checkout/"},
    )
    assert onward["Location"] == f"{base(store)}checkout/"


def test_adding_to_the_cart_never_leads_to_another_site(store: Store) -> None:
    away = Client().post(
        f"{base(store)}cart/",
        {"action": "add", "variant": str(store.kopi.public_id), "next": "//evil.example/"},
    )
    assert away.status_code == 302
    assert away["Location"] == f"{base(store)}cart/"
