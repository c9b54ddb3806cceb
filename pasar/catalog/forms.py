"""Forms of the product pages: they read what a person typed; `pasar.catalog.services` and
`pasar.catalog.rules` decide whether it is allowed (prices, SKUs, barcodes, options)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from pasar.catalog.models import Category, ProductStatus, TaxCode, VariantStatus
from pasar.core.errors import DomainError
from pasar.core.forms import ServiceForm

OPTION_EXAMPLE = "size=250g, grind=whole beans"


def parse_options(text: str) -> dict[str, str]:
    """ "size=250g, colour=Black" as {"size": "250g", "colour": "Black"}."""
    options: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        name, equals, value = pair.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise ValidationError(
                f"Write each option as name=value, separated by commas, e.g. {OPTION_EXAMPLE}.",
                code="invalid",
            )
        options[name.strip()] = value.strip()
    return options


def options_text(options: dict[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in options.items())


class CatalogForm(ServiceForm):
    """Places a service's refusal next to its field, also for a nested `variants.0.price`."""

    def add_service_error(self, error: DomainError) -> None:
        for detail in error.details:
            if isinstance(detail, dict) and str(detail.get("field", "")).startswith("variants."):
                detail["field"] = str(detail["field"]).rsplit(".", 1)[-1]
        super().add_service_error(error)


class ProductForm(CatalogForm):
    name = forms.CharField(
        label="Name",
        max_length=200,
        error_messages={"required": "Give the product a name."},
        help_text="What a customer sees, for example “Kampong Blend Coffee Beans”.",
    )
    category: forms.ModelChoiceField[Category] = forms.ModelChoiceField(
        label="Category", queryset=None, required=False, empty_label="None"
    )
    status = forms.ChoiceField(label="Status", choices=ProductStatus.choices)
    tax_code = forms.ChoiceField(
        label="GST", choices=TaxCode.choices, initial=TaxCode.STANDARD_RATED
    )
    price_includes_gst = forms.BooleanField(
        label="Prices include GST", required=False, initial=True
    )
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)
    weight_g = forms.IntegerField(label="Weight in grams", required=False, min_value=0)

    def __init__(self, *args: Any, categories: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = categories
        self.fields["description"].widget.attrs["rows"] = 3


class VariantForm(CatalogForm):
    service_error_fields: ClassVar[dict[str, str]] = {
        "sku_taken": "sku",
        "barcode_taken": "barcode",
        "invalid_barcode": "barcode",
        "too_precise": "price",
        "price_below_cost": "price",
    }

    sku = forms.CharField(
        label="SKU",
        max_length=64,
        error_messages={"required": "Give the variant a SKU, for example KK-BEAN-250."},
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    price = forms.CharField(
        label="Price (S$)",
        max_length=20,
        error_messages={"required": "Enter the selling price, for example 18.50."},
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    cost = forms.CharField(
        label="Cost (S$)",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    barcode = forms.CharField(
        label="Barcode",
        max_length=20,
        required=False,
        help_text="EAN-13 or UPC-A, as printed under the bars.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "spellcheck": "false"}),
    )
    options = forms.CharField(
        label="Options",
        max_length=300,
        required=False,
        help_text=f"Name=value pairs, separated by commas, e.g. {OPTION_EXAMPLE}.",
    )
    status = forms.ChoiceField(
        label="Status", choices=VariantStatus.choices, initial=VariantStatus.ACTIVE
    )
    # Shown (as a checkbox) only once a price under the cost has been refused.
    confirm_below_cost = forms.BooleanField(
        label="Yes, sell below cost", required=False, widget=forms.HiddenInput
    )

    def add_service_error(self, error: DomainError) -> None:
        if error.code == "price_below_cost":
            self.fields["confirm_below_cost"].widget = forms.CheckboxInput()
        super().add_service_error(error)

    def clean_options(self) -> dict[str, str]:
        return parse_options(self.cleaned_data["options"])

    def service_fields(self) -> dict[str, Any]:
        """The cleaned fields as the variant services take them (a blank cost is 0)."""
        data = dict(self.cleaned_data)
        data["cost"] = data["cost"] or "0"
        data["allow_below_cost"] = bool(data.pop("confirm_below_cost", False))
        return data


class NewProductForm(ProductForm, VariantForm):
    """A product and its first variant, the least a shop can sell."""

    field_order = [
        "name",
        "category",
        "tax_code",
        "price_includes_gst",
        "sku",
        "price",
        "cost",
        "barcode",
        "options",
        "description",
        "weight_g",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new product starts as a draft and its first variant active.
        del self.fields["status"]


class ImageForm(CatalogForm):
    image = forms.FileField(
        label="Photo",
        help_text="JPEG, PNG or WebP, up to 10 MB.",
        error_messages={"required": "Choose a photo to upload."},
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    alt_text = forms.CharField(
        label="Description of the photo",
        max_length=200,
        required=False,
        help_text="Read aloud to customers who cannot see it, e.g. “250 g bag, front”.",
    )


class ImportForm(CatalogForm):
    file = forms.FileField(
        label="Catalog file (CSV)",
        help_text="UTF-8 CSV (in Excel: “CSV UTF-8”), up to 20 MB and 50,000 rows.",
        error_messages={"required": "Choose the CSV file to import."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
