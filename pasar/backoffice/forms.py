"""Forms of the team pages."""

from __future__ import annotations

from typing import ClassVar

from django import forms

from pasar.core.forms import ServiceForm
from pasar.tenancy.models import Role


class InvitationForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "already_member": "email",
        "owner_only": "role",
    }

    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Enter the email address of the person to invite.",
            "invalid": "Enter an email address like name@yourcompany.sg.",
        },
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.SALES)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class RoleChangeForm(ServiceForm):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
