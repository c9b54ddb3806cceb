"""Forms of the location and stock pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from pasar.core.errors import DomainError
from pasar.inventory.models import Location, LocationKind
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


class AdjustmentForm(ServiceForm):
    """Add or write off units at one location, for a reason the history keeps."""

    location: forms.ModelChoiceField[Location] = forms.ModelChoiceField(
        label="Location",
        queryset=None,
        to_field_name="public_id",
        empty_label=None,
        error_messages={"required": "Choose where the stock is."},
    )
    quantity = forms.IntegerField(
        label="Change in units",
        help_text="Positive adds units, negative writes them off, e.g. -2.",
        error_messages={
            "required": "Enter how many units to add (e.g. 3) or remove (e.g. -3).",
            "invalid": "Enter a whole number of units, e.g. 3 or -3.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=200,
        help_text="Kept in the history, e.g. “2 bags torn”.",
        error_messages={"required": "Say why the stock changes, e.g. “damaged in storage”."},
    )

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location = self.fields["location"]
        assert isinstance(location, forms.ModelChoiceField)
        location.queryset = locations

    def clean_quantity(self) -> int:
        quantity: int = self.cleaned_data["quantity"]
        if quantity == 0:
            raise ValidationError("An adjustment adds or removes at least one unit.", code="zero")
        return quantity

    def add_service_error(self, error: DomainError) -> None:
        # Not enough unpromised units is about the quantity typed.
        if error.code == "insufficient_stock":
            self.add_error("quantity", error.message)
            return
        super().add_service_error(error)
