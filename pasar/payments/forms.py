"""Forms of the back-office payment pages: a payment link, a refund, a gateway's settings.

They check what a person typed; whether the write may happen (a unique reference, a refund
within the balance, the credentials a gateway needs) is decided by `pasar.payments.services`,
whose errors land next to the field they concern.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django import forms

from pasar.core.errors import DomainError
from pasar.core.forms import ServiceForm
from pasar.core.money import CENT, MoneyFormField
from pasar.payments.gateways.base import CredentialField
from pasar.payments.models import GatewayAccount

MAX_TTL_MINUTES = 30 * 24 * 60  # the service keeps a payment open for at most 30 days


def _amount_field(label: str, help_text: str) -> MoneyFormField:
    return MoneyFormField(
        label=label,
        help_text=help_text,
        minimum=CENT,
        error_messages={"required": "Enter an amount in dollars, e.g. 25.90."},
    )


def _minutes_field(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=MAX_TTL_MINUTES,
        help_text=help_text,
        error_messages={
            "required": "Say how many minutes a payment stays open, e.g. 30.",
            "invalid": "Enter a whole number of minutes, e.g. 30.",
            "min_value": "A payment stays open at least 1 minute.",
            "max_value": f"A payment stays open at most 30 days ({MAX_TTL_MINUTES} minutes).",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
    )


class PaymentLinkForm(ServiceForm):
    """A payment for one payable, whose link the shop sends to the shopper."""

    service_error_fields: ClassVar[dict[str, str]] = {
        "duplicate_reference": "reference",
        "unsupported_currency": "amount",
    }

    reference = forms.CharField(
        label="Reference",
        max_length=25,
        help_text="What the shopper's banking app shows, e.g. the order or invoice number.",
        error_messages={"required": "Name what is being paid for, e.g. SO-000123."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    amount = _amount_field("Amount (S$)", "What the shopper pays, in Singapore dollars.")
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        help_text="Shown on the payment page, e.g. “2 bags of Sumatra beans”.",
    )
    ttl_minutes = _minutes_field(
        "Open for (minutes)",
        "After this the link expires; 1440 is a day. Your default is set under Gateways.",
    )

    def add_service_error(self, error: DomainError) -> None:
        # The service counts the time a link stays open in seconds; this form in minutes.
        if any(
            isinstance(detail, dict) and detail.get("field") == "ttl_seconds"
            for detail in error.details
        ):
            self.add_error("ttl_minutes", error.details[0].get("message") or error.message)
            return
        super().add_service_error(error)


class PaymentSettingsForm(ServiceForm):
    """How long new payments stay open unless the person or program creating one says."""

    link_ttl_minutes = _minutes_field(
        "Links sent by chat or email (minutes)",
        "A shopper may open a link hours later: 1440 is a day.",
    )
    checkout_ttl_minutes = _minutes_field(
        "Checkout (minutes)",
        "The shopper is paying now; stock held for the order is released when it expires.",
    )


class RefundForm(ServiceForm):
    """Money back to the shopper through the gateway that took it."""

    service_error_fields: ClassVar[dict[str, str]] = {
        "refund_exceeds_balance": "amount",
        "refund_exceeds_capture": "amount",
    }

    amount = _amount_field("Amount to refund (S$)", "At most what is still refundable.")
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        help_text="Kept with the refund and in the audit log, e.g. “1 bag arrived torn”.",
        error_messages={"required": "Say why the money goes back."},
    )

    # One key per form shown, sent back with it: pressing "Refund" again (after a timeout, or
    # twice) is the same refund, which the service and the provider take once.
    request_key = forms.RegexField(
        regex=r"^office-[0-9a-f]{32}$", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, refundable: Decimal, **kwargs: Any) -> None:
        # The amount starts empty: a refund is typed and confirmed, never one click away.
        kwargs.setdefault("initial", {"request_key": f"office-{uuid.uuid4().hex}"})
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = f"Up to S${refundable} can still be refunded."


class GatewayAccountForm(ServiceForm):
    """One gateway's settings. Credential inputs always start empty: a stored value is shown
    only as its hint, and leaving an input blank keeps what is stored."""

    priority = forms.IntegerField(
        label="Priority",
        min_value=0,
        max_value=1000,
        initial=100,
        help_text="Lower goes first; the next gateway is tried when one fails.",
        error_messages={
            "required": "Enter a priority from 0 to 1000.",
            "invalid": "Enter a whole number from 0 to 1000.",
            "min_value": "Priority is at least 0.",
            "max_value": "Priority is at most 1000.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
    )
    is_active = forms.BooleanField(label="Take payments with this gateway", required=False)
    live = forms.BooleanField(
        label="Live mode (real money)",
        required=False,
        help_text="Leave off while testing with the provider's test keys.",
    )

    def __init__(
        self,
        *args: Any,
        credential_fields: tuple[CredentialField, ...],
        account: GatewayAccount | None,
        moves_money: bool = True,
        **kwargs: Any,
    ) -> None:
        if account is not None:
            stored = {"priority": account.priority, "is_active": account.is_active}
            kwargs.setdefault("initial", {**stored, "live": account.live})
        super().__init__(*args, **kwargs)
        if not moves_money:
            # The sandbox has no live mode, so the choice is not offered.
            del self.fields["live"]
        self.credential_names = [field.name for field in credential_fields]
        # Needed to turn a gateway on, yet blank is fine once stored: no "(optional)" mark.
        self.conditionally_required = frozenset(self.credential_names)
        hints = account.credential_hints if account is not None else {}
        credentials = {
            field.name: self._credential_field(field, hints.get(field.name, ""))
            for field in credential_fields
        }
        # Credentials first: they are what a new gateway needs.
        self.fields = {**credentials, **self.fields}

    @staticmethod
    def _credential_field(field: CredentialField, stored_hint: str) -> forms.CharField:
        attrs = {"autocomplete": "off", "spellcheck": "false"}
        widget: forms.Widget = (
            forms.PasswordInput(attrs=attrs, render_value=False)
            if field.secret
            else forms.TextInput(attrs=attrs)
        )
        help_parts = [f"stored: {stored_hint}; leave blank to keep."] if stored_hint else []
        if field.help_text:
            help_parts.append(field.help_text)
        return forms.CharField(
            label=field.label,
            required=False,
            strip=True,
            max_length=500,
            widget=widget,
            help_text=" ".join(help_parts),
        )

    @property
    def credential_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.credential_names]

    @property
    def setting_fields(self) -> list[forms.BoundField]:
        return [field for field in self if field.name not in self.credential_names]

    def credentials(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.credential_names}
