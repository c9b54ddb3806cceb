"""How an audit entry reads on the audit-log page: a title in words, changes as text a person
reads, and a link to what it is about. Presentation only; the entries themselves stay as
recorded (codes and JSON), which the API returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse

# Where each kind of object is shown; ones not listed get no link.
OBJECT_PAGES = {
    "catalog.product": "catalog:product_detail",
    "catalog.variant": "catalog:variant_edit",
    "catalog.importjob": "catalog:import_progress",
    "inventory.transfer": "inventory:transfer_detail",
    "inventory.stockcount": "inventory:count_detail",
    "inventory.purchasereceipt": "inventory:receipt_detail",
    "payments.payment": "payments_office:payment_detail",
}
TEAM_OBJECTS = {"tenancy.membership", "tenancy.invitation"}


def audit_title(action: str) -> str:
    """ "payment.refund_requested" reads "Payment refund requested"."""
    words = action.replace(".", " ").replace("_", " ").split()
    return " ".join(words).capitalize() if words else action


def audit_value(value: Any) -> str:
    """A recorded value as text: lists joined, mappings as "name: value", nothing as "(empty)"."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{name}: {audit_value(item)}" for name, item in value.items())
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, list | tuple) for item in value):
            return "; ".join(" ".join(str(part) for part in item) for item in value)
        return ", ".join(audit_value(item) for item in value) or "(none)"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def audit_link(object_type: str, object_id: str) -> str | None:
    if object_type in TEAM_OBJECTS:
        return reverse("backoffice:team")
    page = OBJECT_PAGES.get(object_type)
    if page is None or not object_id:
        return None
    try:
        return reverse(page, args=[object_id])
    except NoReverseMatch:
        return None
