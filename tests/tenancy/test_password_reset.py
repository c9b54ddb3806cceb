"""Password reset by a single-use emailed link, and email verification before live payments."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from pasar.core.errors import Forbidden
from pasar.payments.services import gateway_account_save
from pasar.tenancy.models import Role, User
from tests.conftest import member
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "kaya-toast-and-kopi-o"


def reset_link() -> str:
    [message] = mail.outbox
    match = re.search(r"https?://[^/\s]+(/password-reset/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_password_reset_round_trip_works_once(
    django_capture_on_commit_callbacks, owner: User
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/password-reset/", {"email": owner.email.upper()})
    assert sent.status_code == 200
    assert "Check your email" in sent.content.decode()
    link = reset_link()

    assert client.get(link).status_code == 200
    changed = client.post(link, {"new_password": NEW_PASSWORD})
    assert changed.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert not owner.check_password(PASSWORD)

    # Used once, the link is spent.
    again = Client().post(link, {"new_password": "another-long-passphrase"})
    assert again.status_code == 400
    assert "no longer works" in again.content.decode()


def test_an_unknown_email_gets_the_same_answer_and_no_mail(
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = Client().post("/password-reset/", {"email": "nobody@example.com"})
    assert answer.status_code == 200
    assert "If nobody@example.com has a Pasar account" in answer.content.decode()
    assert mail.outbox == []


def test_reset_requests_are_limited_per_email(
    django_capture_on_commit_callbacks, owner: User, settings
) -> None:
    settings.PASSWORD_RESET_EMAIL_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assert Client().post("/password-reset/", {"email": owner.email}).status_code == 200
    assert len(mail.outbox) == 2


def test_a_weak_new_password_is_refused_and_the_link_still_works(
    django_capture_on_commit_callbacks, owner: User
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/password-reset/", {"email": owner.email})
    link = reset_link()
    weak = Client().post(link, {"new_password": "password"})
    assert weak.status_code == 400
    assert Client().post(link, {"new_password": NEW_PASSWORD}).status_code == 302


def test_a_new_account_is_asked_to_confirm_its_email(
    django_capture_on_commit_callbacks,
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/signup/",
            {"full_name": "Siti", "email": "siti@example.com", "password": NEW_PASSWORD},
        )
    user = User.objects.get(email="siti@example.com")
    assert user.email_verified_at is None
    [message] = mail.outbox
    link = re.search(r"(/verify-email/[^\s]+/)", message.body)
    assert link
    assert client.get(link.group(1)).status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert Client().get("/verify-email/forged:token/").status_code == 400


def test_live_payments_wait_for_a_confirmed_email(company) -> None:
    owner = UserFactory(email_verified_at=None)
    from tests.factories import MembershipFactory

    MembershipFactory(company=company, user=owner, role=Role.OWNER)
    with pytest.raises(Forbidden) as refused:
        gateway_account_save(
            company=company,
            gateway="stripe",
            credentials={"secret_key": "sk_live_x", "webhook_secret": "whsec_x"},
            live=True,
            actor=owner,
        )
    assert refused.value.code == "email_not_verified"
    confirmed = member(company, Role.OWNER)
    account = gateway_account_save(
        company=company,
        gateway="stripe",
        credentials={"secret_key": "sk_live_x", "webhook_secret": "whsec_x"},
        live=True,
        actor=confirmed,
    )
    assert account.live
