"""Customers and their saved addresses; marketing consent is recorded, never assumed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from pasar.core.errors import DomainError, NotFound
from pasar.core.singapore import AddressError, clean_address
from pasar.core.tenant import is_public_id, tenant_context
from pasar.sales.models import Address, Customer
from pasar.tenancy.models import Company, Shopper

# The privacy notice a consent was given under (the privacy context will version notices).
PRIVACY_NOTICE_VERSION = "2026-01"
MAX_ADDRESSES = 10


class InvalidAddress(DomainError):
    code = "invalid_address"


def customer_for_order(
    *,
    company: Company,
    email: str,
    full_name: str,
    phone: str,
    marketing_consent: bool,
    shopper: Shopper | None = None,
    now: datetime,
) -> Customer:
    """The customer an order is for: the account's, or the guest's by email (one per shop).

    Ticking the marketing box records consent with the notice's version and time; leaving it
    unticked withdraws nothing given before (withdrawal is its own act, in the account).
    In the caller's transaction and tenant context.
    """
    email = email.strip().lower()
    customer = (
        Customer.objects.filter(shopper=shopper).first() if shopper is not None else None
    ) or Customer.objects.filter(email=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    company=company,
                    shopper=shopper,
                    email=email,
                    full_name=full_name,
                    phone=phone,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:  # a concurrent order by the same email made it
            customer = Customer.objects.get(email=email)
    changed = []
    if full_name and not customer.full_name:
        customer.full_name = full_name
        changed.append("full_name")
    if phone and not customer.phone:
        customer.phone = phone
        changed.append("phone")
    if marketing_consent and not customer.marketing_consent:
        _consent(customer, True, now)
        changed += ["marketing_consent", "consent_notice_version", "consent_changed_at"]
    if changed:
        customer.updated_at = now
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


def _consent(customer: Customer, given: bool, now: datetime) -> None:
    customer.marketing_consent = given
    customer.consent_notice_version = PRIVACY_NOTICE_VERSION
    customer.consent_changed_at = now


def customer_for_shopper(*, company: Company, shopper: Shopper) -> Customer:
    """The customer record of a shop account, made at first use (joined to earlier guest
    orders by the same email)."""
    now = timezone.now()
    with tenant_context(company):
        customer = Customer.objects.filter(shopper=shopper).first()
        if customer is not None:
            return customer
        customer = Customer.objects.select_for_update().filter(email=shopper.email).first()
        if customer is None:
            return Customer.objects.create(
                company=company,
                shopper=shopper,
                email=shopper.email,
                full_name=shopper.full_name,
                created_at=now,
                updated_at=now,
            )
        customer.shopper = shopper
        customer.updated_at = now
        customer.save(update_fields=["shopper", "updated_at"])
        return customer


def marketing_consent_set(*, company: Company, customer: Customer, given: bool) -> Customer:
    """Give or withdraw marketing consent, recording when and under which notice."""
    with tenant_context(company):
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.marketing_consent != given:
            now = timezone.now()
            _consent(locked, given, now)
            locked.updated_at = now
            locked.save()
    return locked


def address_fields(data: Mapping[str, Any], problems: dict[str, str]) -> dict[str, str]:
    """The Singapore address in a form's `data`, written the usual way (block, street, unit,
    building, postal_code); what is wrong goes into `problems` by field."""
    try:
        cleaned = clean_address(
            block=str(data.get("block", "")),
            street=str(data.get("street", "")),
            unit=str(data.get("unit", "")),
            building=str(data.get("building", "")),
            postal_code=str(data.get("postal_code", "")),
        )
    except AddressError as error:
        problems.update(error.problems)
        return {}
    return {
        "block": cleaned.block,
        "street": cleaned.street,
        "unit": cleaned.unit,
        "building": cleaned.building,
        "postal_code": cleaned.postal_code,
    }


def address_add(
    *, company: Company, customer: Customer, data: Mapping[str, Any], default: bool = False
) -> Address:
    """Save a Singapore address for the customer; every problem at once (InvalidAddress)."""
    recipient = " ".join(str(data.get("recipient") or "").split())[:150]
    phone = " ".join(str(data.get("phone") or "").split())[:20]
    problems: dict[str, str] = {}
    if not recipient:
        problems["recipient"] = "Enter who receives the parcel."
    if not phone:
        problems["phone"] = "Enter a phone number for the courier."
    fields = address_fields(data, problems)
    if problems:
        raise InvalidAddress(
            "Please check the address.",
            details=[{"field": f, "code": "invalid", "message": m} for f, m in problems.items()],
        )
    with tenant_context(company):
        saved = Address.objects.filter(customer=customer)
        if saved.count() >= MAX_ADDRESSES:
            raise InvalidAddress(f"At most {MAX_ADDRESSES} saved addresses; remove one first.")
        make_default = default or not saved.exists()
        if make_default:
            saved.filter(is_default=True).update(is_default=False)
        return Address.objects.create(
            company=company,
            customer=customer,
            recipient=recipient,
            phone=phone,
            is_default=make_default,
            **fields,
            created_at=timezone.now(),
        )


def address_delete(*, company: Company, customer: Customer, public_id: Any) -> None:
    with tenant_context(company):
        deleted = 0
        if is_public_id(public_id):
            deleted, _ = Address.objects.filter(customer=customer, public_id=public_id).delete()
        if not deleted:
            raise NotFound("That address was not found.", code="address_not_found")
