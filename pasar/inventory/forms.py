"""Forms of the location pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from pasar.inventory.models import LocationKind
from pasar.tenancy.forms import ServiceForm


class LocationForm(ServiceForm):
    name = forms.CharField(
        label="Name",
        max_length=120,
        help_text="What your team calls it, for example “Tiong Bahru Cafe”.",
        error_messages={"required": "Give the location a name."},
    )
    kind = forms.ChoiceField(
        label="Kind",
        choices=LocationKind.choices,
        initial=LocationKind.STORE,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether it is a store or a warehouse."},
        help_text="A store sells to walk-in customers; a warehouse only holds and ships stock.",
    )
    address_line1 = forms.CharField(
        label="Address",
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

    def clean_postal_code(self) -> str:
        postal_code = self.cleaned_data["postal_code"].strip()
        if postal_code and not (len(postal_code) == 6 and postal_code.isdigit()):
            raise ValidationError("A Singapore postal code has six digits.", code="invalid")
        return postal_code
