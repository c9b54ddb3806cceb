"""Mail is made from templates (text and HTML) and leaves only once its change committed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from pasar.core.mail import mail_after_commit
from pasar.tenancy import services
from pasar.tenancy.models import Role

pytestmark = pytest.mark.django_db


def test_a_mail_has_a_text_and_an_html_part_each_escaped_for_its_kind(
    company, owner, django_capture_on_commit_callbacks
) -> None:
    company.legal_name = "Kopi & <Teh> Pte. Ltd."
    company.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            company=company, invited_by=owner, email="new@kopitest.example", role=Role.SALES
        )
    [message] = mail.outbox
    assert message.subject == "You are invited to join Kopi & <Teh> Pte. Ltd. on Pasar"
    assert "Kopi & <Teh> Pte. Ltd. has invited you" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    assert "Kopi &amp; &lt;Teh&gt; Pte. Ltd. has invited you" in html


def test_no_mail_leaves_for_a_change_that_rolled_back(
    company, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                mail_after_commit(
                    to="someone@example.com",
                    template="tenancy/mail/email_verification",
                    context={"link": "https://pasar.example/verify"},
                )
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert mail.outbox == []
