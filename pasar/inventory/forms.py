"""Forms of the location and stock pages."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from pasar.core.errors import DomainError
from pasar.core.forms import ServiceForm
from pasar.core.money import COST_PLACES, MoneyFormField
from pasar.core.singapore import POSTAL_CODE_MESSAGE, is_postal_code
from pasar.inventory.models import Location, LocationKind


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
        if postal_code and not is_postal_code(postal_code):
            raise ValidationError(POSTAL_CODE_MESSAGE, code="invalid")
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


# -- transfers, stock counts and goods receipts ----------------------------------------------

DOCUMENT_ROWS = 5  # line rows a new transfer or goods receipt offers; more lines, more documents


def _location_field(label: str, required_message: str) -> forms.ModelChoiceField[Location]:
    return forms.ModelChoiceField(
        label=label,
        queryset=None,
        to_field_name="public_id",
        empty_label="Choose a location",
        error_messages={"required": required_message},
    )


def _units_field(label: str, *, required: bool = False) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=required,
        error_messages={"invalid": "Enter a whole number of units, e.g. 12."},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
    )


class DocumentLinesForm(ServiceForm):
    """A document with location fields and a fixed number of line rows (`line_<row>_<part>`).

    Blank rows are skipped; a half-filled row goes to the service as it is, so the service's
    own rules (a SKU on each line, at least 1 unit) decide and its error lands on that row.
    """

    location_fields: ClassVar[tuple[str, ...]] = ()
    line_parts: ClassVar[tuple[str, ...]] = ("sku", "quantity")

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.location_fields:
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = locations
        for row in range(DOCUMENT_ROWS):
            for part in self.line_parts:
                self.fields[f"line_{row}_{part}"] = self.line_field(part, row)
        self._service_rows: list[int] = []

    def line_field(self, part: str, row: int) -> forms.Field:
        if part == "sku":
            return forms.CharField(
                label=f"SKU, line {row + 1}",
                max_length=64,
                required=False,
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            )
        if part == "quantity":
            return _units_field(f"Quantity, line {row + 1}")
        raise ValueError(f"no line part {part}")

    @property
    def header_fields(self) -> list[forms.BoundField]:
        return [field for field in self if not field.name.startswith("line_")]

    @property
    def line_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"line_{row}_{part}"] for part in self.line_parts] for row in range(DOCUMENT_ROWS)
        ]

    def line_values(self) -> list[tuple[Any, ...]]:
        """The filled rows as tuples of their parts, remembering which row each came from."""
        values = []
        self._service_rows = []
        for row in range(DOCUMENT_ROWS):
            parts = tuple(self.cleaned_data.get(f"line_{row}_{part}") for part in self.line_parts)
            if all(value in (None, "") for value in parts):
                continue
            sku, *rest = parts
            values.append((sku or "", *rest))
            self._service_rows.append(row)
        return values

    def add_service_error(self, error: DomainError) -> None:
        """Errors on `lines.<index>.<part>` go to the row the line came from, unknown SKUs to
        every row naming them; the rest as for any service form."""
        placed = False
        for detail in error.details:
            if not isinstance(detail, dict):
                continue
            field = str(detail.get("field") or "")
            message = detail.get("message") or error.message
            prefix, _, rest = field.partition(".")
            index, _, part = rest.partition(".")
            if prefix == "lines" and index.isdigit() and int(index) < len(self._service_rows):
                self.add_error(f"line_{self._service_rows[int(index)]}_{part}", message)
                placed = True
            elif sku := detail.get("sku"):
                for row in range(DOCUMENT_ROWS):
                    if (self.cleaned_data.get(f"line_{row}_sku") or "").strip() == sku:
                        self.add_error(f"line_{row}_sku", f"No product has the SKU {sku}.")
                        placed = True
        if not placed:
            super().add_service_error(error)


class TransferForm(DocumentLinesForm):
    """A draft transfer: what moves from where to where. Stock moves only on dispatch."""

    location_fields = ("source", "destination")

    source = _location_field("From", "Choose where the goods leave from.")
    destination = _location_field("To", "Choose where the goods go.")
    note = forms.CharField(
        label="Note",
        max_length=500,
        required=False,
        help_text="For the people packing and receiving, e.g. “fragile, keep upright”.",
    )


class PurchaseReceiptForm(DocumentLinesForm):
    """Goods in from a supplier, at the unit cost on their delivery order or invoice."""

    location_fields = ("location",)
    line_parts = ("sku", "quantity", "unit_cost")

    location = _location_field("Received at", "Choose where the goods arrived.")
    supplier_name = forms.CharField(
        label="Supplier",
        max_length=200,
        error_messages={"required": "Name the supplier the goods came from."},
    )
    reference = forms.CharField(
        label="Reference",
        max_length=100,
        required=False,
        help_text="The delivery order or invoice number on the supplier's papers.",
    )
    # Shown (as a checkbox) only once the same supplier document has been refused as received.
    second_delivery = forms.BooleanField(
        label="Yes, this is a second delivery under the same document",
        required=False,
        widget=forms.HiddenInput,
    )

    def add_service_error(self, error: DomainError) -> None:
        if error.code == "duplicate_receipt":
            self.fields["second_delivery"].widget = forms.CheckboxInput()
        super().add_service_error(error)

    def line_field(self, part: str, row: int) -> forms.Field:
        if part == "unit_cost":
            return MoneyFormField(
                label=f"Unit cost (S$), line {row + 1}",
                required=False,
                places=COST_PLACES,
                what="The unit cost",
            )
        return super().line_field(part, row)


class StockCountStartForm(ServiceForm):
    """A new count sheet for one location, of everything held there or of named SKUs."""

    location = _location_field("Location", "Choose the location to count.")
    skus = forms.CharField(
        label="SKUs to count",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=(
            "One per line or separated by commas. Leave empty to count everything held there."
        ),
    )

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        location = self.fields["location"]
        assert isinstance(location, forms.ModelChoiceField)
        location.queryset = locations

    def clean_skus(self) -> list[str] | None:
        skus = self.cleaned_data["skus"].replace(",", "\n").split()
        return skus or None

    def add_service_error(self, error: DomainError) -> None:
        # An unknown SKU or a location holding nothing is about the SKUs typed.
        if error.code == "unknown_sku" or any(
            isinstance(detail, dict) and detail.get("field") == "skus" for detail in error.details
        ):
            self.add_error("skus", error.message)
            return
        super().add_service_error(error)


class LineQuantitiesForm(ServiceForm):
    """One whole-number input per SKU of a transfer or count sheet (`line_<row>`), blank for
    lines left alone; the service checks the numbers and its errors land on the SKU's input."""

    def __init__(self, *args: Any, skus: list[str], label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skus = skus
        for row, sku in enumerate(skus):
            self.fields[f"line_{row}"] = _units_field(f"{label} of {sku}")

    def quantities(self) -> dict[str, int]:
        """{sku: units} for the inputs filled in."""
        return {
            sku: self.cleaned_data[f"line_{row}"]
            for row, sku in enumerate(self.skus)
            if self.cleaned_data.get(f"line_{row}") is not None
        }

    def add_service_error(self, error: DomainError) -> None:
        rows = {sku: row for row, sku in enumerate(self.skus)}
        placed = False
        for detail in error.details:
            if not isinstance(detail, dict):
                continue
            sku = detail.get("sku") or str(detail.get("field") or "").removeprefix("lines.")
            if sku in rows:
                self.add_error(f"line_{rows[sku]}", detail.get("message") or error.message)
                placed = True
        if not placed:
            super().add_service_error(error)


class ReceiptVoidForm(ServiceForm):
    reason = forms.CharField(
        label="Why is it voided?",
        max_length=200,
        error_messages={"required": "Say why the receipt is voided, e.g. “entered twice”."},
        help_text="Its units leave the location again and the average cost moves back.",
    )
