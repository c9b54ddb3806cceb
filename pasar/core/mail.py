"""Email made from templates and sent after the change it reports has committed.

A mail is three templates: `<name>_subject.txt`, `<name>.txt` and `<name>.html`, rendered with
a context of plain values (text and numbers: it travels to a worker). Services call
`mail_after_commit`; the Celery task `pasar.core.tasks.send_mail` renders and sends it once the
service's transaction has committed, so no mail goes out for a change that rolled back, and
none is sent while the transaction holds row locks.
"""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string


def mail_after_commit(*, to: str, template: str, context: dict[str, Any]) -> None:
    """Send the mail `template` to `to` once the open transaction commits (at once if none
    is open); a failed send is retried by the task and logged, never raised here."""
    from pasar.core.tasks import send_mail  # the tasks module imports this one

    transaction.on_commit(lambda: send_mail.delay(to, template, context), robust=True)


def send_templated_mail(*, to: str, template: str, context: dict[str, Any]) -> None:
    """Render the mail `template` with `context` and send it now."""
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"{template}.txt", context), to=[to]
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()
