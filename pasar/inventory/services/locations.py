"""Locations: where stock is kept, and in which order orders draw on them.

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from pasar.core import audit
from pasar.core.errors import Conflict, DomainError
from pasar.core.singapore import POSTAL_CODE_MESSAGE, is_postal_code
from pasar.core.tenant import (
    current_user_id,
    tenant_context,
)
from pasar.inventory.models import (
    Location,
    LocationKind,
)
from pasar.inventory.services.levels import _actor_id, _ensure_owned
from pasar.tenancy.models import Company, User


class InvalidLocation(DomainError):
    code = "invalid_location"


def _field_error(field: str, message: str, *, code: str) -> list[dict[str, str]]:
    return [{"field": field, "code": code, "message": message}]


def location_create(
    *,
    company: Company,
    name: str,
    kind: str = LocationKind.STORE,
    address_line1: str = "",
    address_line2: str = "",
    postal_code: str = "",
    allocation_priority: int = 100,
) -> Location:
    """Add a shop or warehouse to a company.

    Raises InvalidLocation (naming the field at fault in `details`) for bad input and
    Conflict when the company already has a location of that name.
    """
    name = name.strip()
    postal_code = postal_code.strip()
    _check_location_fields(
        name=name, kind=kind, postal_code=postal_code, allocation_priority=allocation_priority
    )
    taken = _location_name_taken(name)
    try:
        # Keep the acting user, so the audit entry names who added the location.
        with tenant_context(company, user=current_user_id()):
            if Location.objects.filter(name__iexact=name).exists():
                raise taken
            location = Location.objects.create(
                company=company,
                name=name,
                kind=kind,
                address_line1=address_line1.strip(),
                address_line2=address_line2.strip(),
                postal_code=postal_code,
                allocation_priority=allocation_priority,
            )
            audit.audit_record(
                action="location.created",
                obj=location,
                changes={"name": [None, location.name], "kind": [None, location.kind]},
            )
    except IntegrityError as error:  # two requests adding the same name at the same moment
        raise taken from error
    return location


def _check_location_fields(
    *, name: str, kind: str, postal_code: str, allocation_priority: int
) -> None:
    if not name:
        message = "Give the location a name, for example “Tiong Bahru outlet”."
        raise InvalidLocation(message, details=_field_error("name", message, code="required"))
    if kind not in LocationKind.values:
        message = "A location is either a store or a warehouse."
        raise InvalidLocation(message, details=_field_error("kind", message, code="invalid"))
    if postal_code and not is_postal_code(postal_code):
        raise InvalidLocation(
            POSTAL_CODE_MESSAGE,
            details=_field_error("postal_code", POSTAL_CODE_MESSAGE, code="invalid"),
        )
    if not 0 <= allocation_priority <= 32767:
        message = "The allocation priority is a whole number from 0 to 32767."
        raise InvalidLocation(
            message, details=_field_error("allocation_priority", message, code="invalid")
        )


def _location_name_taken(name: str) -> Conflict:
    return Conflict(
        f"There is already a location called “{name}”. Choose another name.",
        code="location_name_taken",
        details=_field_error(
            "name", "That name is already used by another location.", code="taken"
        ),
    )


LOCATION_FIELDS = (
    "name",
    "kind",
    "address_line1",
    "address_line2",
    "postal_code",
    "allocation_priority",
    "is_active",
)


def location_update(
    *, company: Company, location: Location, actor: User | None = None, **fields: Any
) -> Location:
    """Change a location's name, kind, address, allocation priority or whether it is open.

    A closed location (`is_active=False`) keeps its stock and history but is no longer drawn
    from by reservations. Same refusals as location_create.
    """
    unknown = sorted(set(fields) - set(LOCATION_FIELDS))
    if unknown:
        raise ValueError(f"location_update does not change {', '.join(unknown)}")
    _ensure_owned(location, company, "location")
    taken = None
    try:
        with tenant_context(company, user=_actor_id(actor)):
            locked = Location.objects.select_for_update().get(pk=location.pk)
            before = {field: getattr(locked, field) for field in LOCATION_FIELDS}
            for field in ("name", "address_line1", "address_line2", "postal_code"):
                if field in fields:
                    fields[field] = str(fields[field]).strip()
            for field, value in fields.items():
                setattr(locked, field, value)
            _check_location_fields(
                name=locked.name,
                kind=locked.kind,
                postal_code=locked.postal_code,
                allocation_priority=locked.allocation_priority,
            )
            taken = _location_name_taken(locked.name)
            if Location.objects.filter(name__iexact=locked.name).exclude(pk=locked.pk).exists():
                raise taken
            locked.save()
            changes = audit.audit_changes(before, locked, LOCATION_FIELDS)
            if changes:
                audit.audit_record(action="location.updated", obj=locked, changes=changes)
    except IntegrityError as error:  # two requests taking the same name at the same moment
        if taken is None:
            raise
        raise taken from error
    return locked
