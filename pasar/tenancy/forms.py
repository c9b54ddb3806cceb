"""Forms of the sign-up, sign-in, onboarding and team pages.

They check what a person typed and say what is wrong next to the field; the rules that
decide whether a write may happen stay in `pasar.tenancy.services`.
"""

from __future__ import annotations

import calendar
from typing import Any, ClassVar

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from pasar.core.forms import ServiceForm
from pasar.core.singapore import POSTAL_CODE_MESSAGE, is_postal_code
from pasar.tenancy import selectors
from pasar.tenancy.models import GstPeriod, User, normalise_uen

MONTHS = [(number, calendar.month_name[number]) for number in range(1, 13)]


def _email(value: str) -> str:
    return value.strip().lower()


class SignupForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {"email_taken": "email"}

    email = forms.EmailField(
        label="Work email",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your work email address.",
            "invalid": "Enter an email address like name@yourcompany.sg.",
        },
    )
    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Enter your full name."},
    )
    password = forms.CharField(
        strip=False,
        error_messages={"required": "Choose a password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password and not only digits.",
    )

    def clean_email(self) -> str:
        return _email(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            # Django's validators compare the password with the person's own details.
            candidate = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password, user=candidate)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
        error_messages={
            "required": "Enter the email address you signed up with.",
            "invalid": "Enter an email address like name@yourcompany.sg.",
        },
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password."},
    )

    def clean_email(self) -> str:
        return _email(self.cleaned_data["email"])


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
        error_messages={
            "required": "Enter the email address you signed up with.",
            "invalid": "Enter an email address like name@yourcompany.sg.",
        },
    )


class NewPasswordForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {"weak_password": "new_password"}

    new_password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Choose a new password."},
        help_text="At least 10 characters, not a common password.",
    )


class CompanyOnboardingForm(ServiceForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "uen_taken": "uen",
        "shop_slug_taken": "shop_slug",
    }
    # Required once GST registration is ticked, so not labelled "(optional)".
    conditionally_required: ClassVar[frozenset[str]] = frozenset({"gst_number"})

    legal_name = forms.CharField(
        label="Registered company name",
        max_length=200,
        help_text="As on your ACRA business profile, for example “Kopi Kakis Pte. Ltd.”.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        error_messages={"required": "Enter the company's registered name."},
    )
    uen = forms.CharField(
        label="UEN",
        max_length=20,
        help_text="Your Unique Entity Number, for example 201912345R.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": "Enter the company's UEN, for example 201912345R."},
    )
    gst_registered = forms.BooleanField(label="The company is registered for GST", required=False)
    gst_number = forms.CharField(
        label="GST registration number",
        max_length=20,
        required=False,
        help_text="Needed when the company is GST-registered, for example M90312345A.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    gst_period = forms.ChoiceField(
        label="GST accounting period",
        choices=GstPeriod.choices,
        initial=GstPeriod.QUARTERLY,
        widget=forms.RadioSelect,
    )
    gst_period_start_month = forms.TypedChoiceField(
        label="First GST period starts in",
        choices=MONTHS,
        coerce=int,
        initial=1,
        help_text="The month your first GST accounting period begins, as IRAS told you.",
    )
    address_line1 = forms.CharField(
        label="Address line 1",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line2 = forms.CharField(
        label="Address line 2",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    postal_code = forms.CharField(
        label="Postal code",
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    shop_slug = forms.SlugField(
        label="Shop web address",
        max_length=60,
        required=False,
        help_text="Lower-case letters, digits and hyphens, e.g. kopi-kakis. "
        "Leave it empty to make one from the company name.",
        error_messages={
            "invalid": "Use only lower-case letters, digits and hyphens, for example kopi-kakis."
        },
    )

    def clean_uen(self) -> str:
        uen = normalise_uen(self.cleaned_data["uen"].strip().upper())
        if selectors.company_by_uen(uen=uen) is not None:
            raise ValidationError(
                "A company with this UEN is already on Pasar. Ask its owner to invite you.",
                code="uen_taken",
            )
        return uen

    def clean_gst_number(self) -> str:
        return self.cleaned_data["gst_number"].strip().upper()

    def clean_postal_code(self) -> str:
        postal_code = self.cleaned_data["postal_code"].strip()
        if postal_code and not is_postal_code(postal_code):
            raise ValidationError(POSTAL_CODE_MESSAGE, code="invalid")
        return postal_code

    def clean_shop_slug(self) -> str | None:
        return self.cleaned_data["shop_slug"].strip().lower() or None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("gst_registered") and not cleaned.get("gst_number"):
            self.add_error(
                "gst_number", "A GST-registered company needs its GST registration number."
            )
        if not cleaned.get("gst_registered"):
            cleaned["gst_number"] = ""
        return cleaned


class CompanyProfileForm(CompanyOnboardingForm):
    """The company's details after onboarding: the same as at sign-up, less the UEN (its
    identity on Pasar, which never changes)."""

    uen = None  # type: ignore[assignment]
