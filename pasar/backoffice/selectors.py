"""Reads of the back office's own: what the home page's set-up checklist ticks, from the data."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from pasar.core.tenant import tenant_rows
from pasar.tenancy.models import Company
from pasar.tenancy.permissions import can

# One round trip: each step's "done" as an EXISTS over the company's rows.
SETUP_SQL = """
SELECT
    (SELECT address_line1 <> '' AND postal_code <> '' FROM tenancy_company WHERE id = %s),
    EXISTS (SELECT 1 FROM inventory_location WHERE company_id = %s),
    EXISTS (SELECT 1 FROM catalog_product WHERE company_id = %s),
    EXISTS (SELECT 1 FROM inventory_stocklevel WHERE company_id = %s AND on_hand > 0),
    EXISTS (SELECT 1 FROM payments_gatewayaccount
            WHERE company_id = %s AND is_active),
    (SELECT count(*) > 1 FROM tenancy_membership WHERE company_id = %s)
    OR EXISTS (SELECT 1 FROM tenancy_invitation WHERE company_id = %s
               AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now())
"""


@dataclass(frozen=True)
class SetupStep:
    title: str
    hint: str
    done: bool
    url: str  # where the step is done; empty when the role may not do it


# (title, hint, the page that does it, the action it needs), in the order a shop sets up.
STEPS = (
    (
        "Company details",
        "Your address and GST registration, as your invoices will show them.",
        "tenancy:company_settings",
        "company.update",
    ),
    (
        "Where you keep stock",
        "A shop or a warehouse, with its address.",
        "inventory:onboarding_location",
        "location.manage",
    ),
    (
        "Products",
        "Add them one by one or import a CSV.",
        "catalog:product_list",
        "catalog.manage",
    ),
    (
        "Stock",
        "Receive goods from a supplier or count what is on the shelves.",
        "inventory:receipt_list",
        "stock.manage",
    ),
    (
        "A payment gateway",
        "PayNow and cards through Stripe, HitPay or 2C2P (or the sandbox to try it).",
        "payments_office:gateway_settings",
        "gateway.manage",
    ),
    (
        "Your team",
        "Invite the people who work with you, each with the role they need.",
        "backoffice:team",
        "invitation.manage",
    ),
)


def setup_checklist(*, company: Company, role: str | None) -> list[SetupStep]:
    """The steps of setting up a shop, each ticked from the company's data, each linked to
    its page for a role that may do it."""
    ((*done,),) = tenant_rows(company, SETUP_SQL, [company.pk] * SETUP_SQL.count("%s"))
    return [
        SetupStep(
            title=title,
            hint=hint,
            done=bool(finished),
            url=reverse(page) if can(role, action) else "",
        )
        for (title, hint, page, action), finished in zip(STEPS, done, strict=True)
    ]
