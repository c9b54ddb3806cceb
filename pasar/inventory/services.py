"""Writes about stock: locations, channels, movements, cost and reservations.

Every write is one transaction in the company's tenant context; docs/inventory.md states the
rules (locking order, expiry, the last-unit policy).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from pasar.catalog.models import Product, ProductStatus, Variant, VariantStatus
from pasar.core import audit
from pasar.core.db import rows
from pasar.core.errors import Conflict, DomainError, NotFound
from pasar.core.events import publish, withdraw
from pasar.core.mail import send_templated_mail
from pasar.core.models import OutboxEvent
from pasar.core.money import COST_PLACES, MAX_UNIT_COST, AmountError, parse_money
from pasar.core.numbering import next_number
from pasar.core.tenant import (
    bypass_active,
    current_company_id,
    current_user_id,
    system_access,
    tenant_context,
)
from pasar.inventory import events
from pasar.inventory.models import (
    COUNT_PREFIX,
    MAX_UNITS,
    RECEIPT_PREFIX,
    TRANSFER_PREFIX,
    AllocationState,
    Channel,
    ChannelBuffer,
    ChannelKind,
    Location,
    LocationKind,
    LowStockNotice,
    MovementKind,
    PurchaseReceipt,
    PurchaseReceiptLine,
    Reservation,
    ReservationAllocation,
    ReservationStatus,
    StockCount,
    StockCountLine,
    StockCountStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
    VariantCost,
)
from pasar.tenancy.models import Company, Membership, Role, User


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
    if postal_code and not (len(postal_code) == 6 and postal_code.isdigit()):
        message = "A Singapore postal code has six digits."
        raise InvalidLocation(message, details=_field_error("postal_code", message, code="invalid"))
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


# --- Stock: levels, movements, cost, channels and reservations (see docs/inventory.md) ---

Clock = Callable[[], datetime]

MAX_RESERVATION_TTL = timedelta(days=30)


@dataclass(frozen=True)
class ReserveLine:
    sku: str
    quantity: int


class InvalidStockRequest(DomainError):
    code = "invalid"


class UnknownSku(DomainError):
    code = "unknown_sku"


class QuantityTooLarge(DomainError):
    code = "quantity_too_large"


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    status = 409


class ReservationExpired(DomainError):
    code = "reservation_expired"
    status = 409


class ReservationClosed(DomainError):
    """The reservation is in a state that does not allow the step asked for."""

    code = "reservation_closed"
    status = 409


def weighted_average_cost(
    *, on_hand: int, average_cost: Decimal, received: int, unit_cost: Decimal
) -> Decimal:
    """The moving average unit cost after receiving `received` units at `unit_cost`.

    (on_hand x average + received x unit cost) / (on_hand + received), computed exactly and
    rounded half-up to 4 places. With nothing on hand the receipt's cost is the average.
    """
    if received <= 0:
        raise ValueError("A receipt adds at least one unit.")
    if on_hand <= 0:
        return _round_cost(Fraction(unit_cost))
    value = on_hand * Fraction(average_cost) + received * Fraction(unit_cost)
    return _round_cost(value / (on_hand + received))


def _round_cost(value: Fraction) -> Decimal:
    # Fractions keep the division exact, so there is one rounding only (half-up, costs >= 0).
    units = math.floor(value * 10**COST_PLACES + Fraction(1, 2))
    return Decimal(units).scaleb(-COST_PLACES)


def _actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None else current_user_id()


def _ensure_owned(obj: Any, company: Company, what: str) -> None:
    if obj.company_id != company.pk:
        raise NotFound(f"That {what} was not found.", code=f"{what.replace(' ', '_')}_not_found")


def _within_limit(quantity: int, field: str) -> int:
    """Quantities are refused past MAX_UNITS, a limit stated in the message, before the
    database's integer columns would overflow."""
    if abs(quantity) > MAX_UNITS:
        message = f"A quantity is at most {MAX_UNITS:,} units; {quantity:,} is too large."
        raise QuantityTooLarge(
            message, details=[{"field": field, "code": QuantityTooLarge.code, "message": message}]
        )
    return quantity


def _add_units(level: StockLevel, quantity: int, *, sku: str) -> None:
    """Add to (or take from) a level's units on hand; a level holds at most MAX_UNITS."""
    if level.on_hand + quantity > MAX_UNITS:
        message = (
            f"A location holds at most {MAX_UNITS:,} units of one variant; this would bring "
            f"{sku} to {level.on_hand + quantity:,} there."
        )
        raise QuantityTooLarge(
            message,
            details=[{"field": "quantity", "code": QuantityTooLarge.code, "message": message}],
        )
    level.on_hand += quantity


def _positive_quantity(quantity: Any, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        message = "The quantity is a whole number of units, at least 1."
        raise InvalidStockRequest(
            message, details=[{"field": field, "code": "invalid", "message": message}]
        )
    return _within_limit(quantity, field)


def _checked_unit_cost(value: Any) -> Decimal:
    """A unit cost from 0 to MAX_UNIT_COST with at most four places, never rounded."""
    try:
        return parse_money(value, places=COST_PLACES, maximum=MAX_UNIT_COST, what="The unit cost")
    except AmountError as error:
        raise InvalidStockRequest(
            error.message,
            details=[{"field": "unit_cost", "code": "invalid", "message": error.message}],
        ) from None


def _lock_levels(level_ids: Iterable[int] | None = None, **lookups: Any) -> dict[int, StockLevel]:
    """Lock stock level rows (by ids, or matching `lookups`) in id order, so two writers never
    wait on each other in a circle."""
    if level_ids is not None:
        lookups["pk__in"] = set(level_ids)
    levels = (
        StockLevel.objects.select_for_update(of=("self",))
        .select_related("location", "variant")
        .filter(**lookups)
        .order_by("id")
    )
    return {level.pk: level for level in levels}


def _levels_for(company: Company, pairs: Iterable[tuple[Variant, Location]]) -> list[int]:
    """The ids of the levels for these (variant, location) pairs, creating any that are missing.

    ON CONFLICT DO NOTHING lets two first receipts at the same place meet without an error.
    """
    pairs = list(pairs)
    StockLevel.objects.bulk_create(
        [
            StockLevel(company=company, variant=variant, location=location)
            for variant, location in pairs
        ],
        ignore_conflicts=True,
    )
    # One query for all of them (a count sheet or receipt has many lines), in the pairs' order.
    found = {
        (variant_id, location_id): pk
        for pk, variant_id, location_id in StockLevel.objects.filter(
            variant_id__in={variant.pk for variant, _ in pairs},
            location_id__in={location.pk for _, location in pairs},
        ).values_list("pk", "variant_id", "location_id")
    }
    return [found[(variant.pk, location.pk)] for variant, location in pairs]


# Releases the expired holds of the given locked levels and moves each level's next expiry to
# its first open hold still running, in one round trip. Both halves walk the index on
# (level, holds_until) of open allocations: the expired ones, then one entry, so the cost
# follows the number of expired holds, not of open ones, whatever the table's statistics.
# The level update's subquery reads the statement's snapshot, which still shows the released
# holds as open; `holds_until > now` leaves exactly those out. RLS applies as to any query.
RECLAIM_EXPIRED_SQL = """
WITH released AS (
    UPDATE inventory_reservationallocation
    SET state = %(released)s
    WHERE level_id = ANY(%(levels)s)
      AND state = %(open)s
      AND holds_until <= %(now)s
    RETURNING level_id, quantity
), next AS (
    UPDATE inventory_stocklevel AS level
    SET next_expiry = (
        SELECT min(allocation.holds_until)
        FROM inventory_reservationallocation AS allocation
        WHERE allocation.level_id = level.id
          AND allocation.state = %(open)s
          AND allocation.holds_until > %(now)s
    )
    WHERE level.id = ANY(%(levels)s)
    RETURNING level.id, level.next_expiry
)
SELECT next.id, next.next_expiry, coalesce(freed.quantity, 0)
FROM next
LEFT JOIN (
    SELECT level_id, sum(quantity)::integer AS quantity FROM released GROUP BY level_id
) AS freed ON freed.level_id = next.id
"""


def _reclaim_expired(levels: Mapping[int, StockLevel], *, now: datetime) -> None:
    """Free the units that expired pending reservations still hold on these locked levels.

    This is how an expiry takes effect before any sweep: every step that takes units away
    first gives back what expired holds occupy on the rows it has locked. A level whose next
    expiry lies ahead has nothing to give back, and costs no query.
    """
    due = [
        pk
        for pk, level in levels.items()
        if level.next_expiry is not None and level.next_expiry <= now
    ]
    if not due:
        return
    with connection.cursor() as cursor:
        # Statistics taken while the table was small (the start of a sale) make a sequential
        # scan look cheapest, and it reads every open hold: the index is the only way for this
        # statement, so the planner is told so for it alone. One round trip all the same.
        cursor.execute(
            f"SET LOCAL enable_seqscan = off; {RECLAIM_EXPIRED_SQL};"
            " SET LOCAL enable_seqscan TO DEFAULT",
            {
                "released": AllocationState.RELEASED.value,
                "open": AllocationState.OPEN.value,
                "levels": due,
                "now": now,
            },
        )
        cursor.nextset()
        for level_id, next_expiry, freed in cursor.fetchall():
            levels[level_id].reserved -= freed
            levels[level_id].next_expiry = next_expiry


def _save_levels(levels: Iterable[StockLevel], now: datetime) -> None:
    levels = list(levels)
    for level in levels:
        level.updated_at = now
    if len(levels) == 1:
        # The usual case, and a simpler statement than bulk_update's CASE per column.
        (level,) = levels
        StockLevel.objects.filter(pk=level.pk).update(
            on_hand=level.on_hand, reserved=level.reserved, updated_at=now
        )
    elif levels:
        StockLevel.objects.bulk_update(levels, ["on_hand", "reserved", "updated_at"])


def _average_costs(variant_ids: Iterable[int]) -> dict[int, Decimal]:
    return dict(
        VariantCost.objects.filter(variant_id__in=set(variant_ids)).values_list(
            "variant_id", "average_cost"
        )
    )


def _average_cost(variant: Variant) -> Decimal:
    """One variant's moving average cost; zero before its first receipt."""
    return _average_costs([variant.pk]).get(variant.pk, Decimal(0))


def _record_movement(
    *,
    level: StockLevel,
    kind: MovementKind,
    quantity: int,
    unit_cost: Decimal,
    now: datetime,
    actor_id: int | None,
    reason: str = "",
    source_type: str = "",
    source_id: str = "",
) -> StockMovement:
    movement = StockMovement.objects.create(
        company_id=level.company_id,
        variant_id=level.variant_id,
        location_id=level.location_id,
        kind=kind,
        quantity=quantity,
        unit_cost=unit_cost,
        reason=reason,
        source_type=source_type,
        source_id=source_id,
        actor_id=actor_id,
        created_at=now,
    )
    publish(
        events.STOCK_CHANGED,
        {
            "movement": movement.public_id,
            "kind": kind,
            "quantity": quantity,
            "variant": level.variant.public_id,
            "sku": level.variant.sku,
            "location": level.location.public_id,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "reorder_point": level.reorder_point,
            "unit_cost": movement.unit_cost,
            "source_type": movement.source_type,
            "source_id": movement.source_id,
        },
    )
    before = level.on_hand - quantity
    if level.reorder_point > 0 and level.on_hand <= level.reorder_point < before:
        # The level has just crossed its reorder point: announce it once, not on every sale
        # while it stays low (see docs/inventory.md, "Low stock").
        publish(
            events.STOCK_RAN_LOW,
            {
                "variant": level.variant.public_id,
                "sku": level.variant.sku,
                "location": level.location.public_id,
                "location_name": level.location.name,
                "on_hand": level.on_hand,
                "reorder_point": level.reorder_point,
                "reorder_quantity": level.reorder_quantity,
            },
        )
    return movement


def _insufficient(level: StockLevel, sku: str, requested: int, message: str) -> InsufficientStock:
    return InsufficientStock(
        message,
        details=[
            {
                "sku": sku,
                "location": str(level.location.public_id),
                "requested": requested,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "available": level.available,
            }
        ],
    )


def stock_receive(
    *,
    company: Company,
    variant: Variant,
    location: Location,
    quantity: int,
    unit_cost: Decimal,
    source_type: str = "",
    source_id: str = "",
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> StockMovement:
    """Goods in at a purchase cost: a receipt movement, and the variant's average cost moves."""
    quantity = _positive_quantity(quantity)
    cost = _checked_unit_cost(unit_cost)
    _ensure_owned(variant, company, "variant")
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=current_user_id()):
        now = clock()
        # The cost row is locked first: receipts of one variant queue here, so each one
        # averages against the quantity the previous one left.
        VariantCost.objects.bulk_create(
            [VariantCost(company=company, variant=variant)], ignore_conflicts=True
        )
        average = VariantCost.objects.select_for_update().get(variant=variant)
        levels = _lock_levels(_levels_for(company, [(variant, location)]))
        level = next(iter(levels.values()))
        on_hand = StockLevel.objects.filter(variant=variant).aggregate(total=Sum("on_hand"))[
            "total"
        ]
        average.average_cost = weighted_average_cost(
            on_hand=on_hand or 0,
            average_cost=average.average_cost,
            received=quantity,
            unit_cost=cost,
        )
        average.save(update_fields=["average_cost", "updated_at"])
        _add_units(level, quantity, sku=variant.sku)
        _save_levels([level], now)
        return _record_movement(
            level=level,
            kind=MovementKind.RECEIPT,
            quantity=quantity,
            unit_cost=cost,
            now=now,
            actor_id=_actor_id(actor),
            source_type=source_type,
            source_id=source_id,
        )


def stock_return(
    *,
    company: Company,
    variant: Variant,
    location: Location,
    quantity: int,
    source_type: str = "",
    source_id: str = "",
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> StockMovement:
    """Sold units back on the shelf, at the current average cost (which does not change)."""
    quantity = _positive_quantity(quantity)
    _ensure_owned(variant, company, "variant")
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=current_user_id()):
        now = clock()
        levels = _lock_levels(_levels_for(company, [(variant, location)]))
        level = next(iter(levels.values()))
        _add_units(level, quantity, sku=variant.sku)
        _save_levels([level], now)
        return _record_movement(
            level=level,
            kind=MovementKind.RETURN,
            quantity=quantity,
            unit_cost=_average_cost(variant),
            now=now,
            actor_id=_actor_id(actor),
            source_type=source_type,
            source_id=source_id,
        )


def stock_adjust(
    *,
    company: Company,
    variant: Variant,
    location: Location,
    quantity: int,
    reason: str,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> StockMovement:
    """Add (quantity > 0) or write off (quantity < 0) units for a stated reason.

    Refused with InsufficientStock when it would leave fewer units than are on hand or promised.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        message = "An adjustment adds or removes a whole number of units (not zero)."
        raise InvalidStockRequest(
            message, details=[{"field": "quantity", "code": "invalid", "message": message}]
        )
    _within_limit(quantity, "quantity")
    reason = reason.strip()
    if not reason:
        message = "Say why the stock is adjusted, for example “damaged in storage”."
        raise InvalidStockRequest(
            message, details=[{"field": "reason", "code": "required", "message": message}]
        )
    _ensure_owned(variant, company, "variant")
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=current_user_id()):
        now = clock()
        levels = _lock_levels(_levels_for(company, [(variant, location)]))
        level = next(iter(levels.values()))
        _reclaim_expired(levels, now=now)
        if level.on_hand + quantity < level.reserved:
            raise _insufficient(
                level,
                variant.sku,
                -quantity,
                f"{location.name} has {level.available} unpromised unit(s) of {variant.sku}; "
                f"{-quantity} cannot be written off.",
            )
        _add_units(level, quantity, sku=variant.sku)
        _save_levels([level], now)
        return _record_movement(
            level=level,
            kind=MovementKind.ADJUSTMENT,
            quantity=quantity,
            unit_cost=_average_cost(variant),
            now=now,
            actor_id=_actor_id(actor),
            reason=reason,
        )


def stock_transfer(
    *,
    company: Company,
    variant: Variant,
    from_location: Location,
    to_location: Location,
    quantity: int,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> tuple[StockMovement, StockMovement]:
    """Move unpromised units between two locations at once: a transfer out and a transfer in."""
    quantity = _positive_quantity(quantity)
    if from_location.pk == to_location.pk:
        message = "A transfer goes from one location to another; choose a different destination."
        raise InvalidStockRequest(
            message,
            code="same_location",
            details=[{"field": "to_location", "code": "same_location", "message": message}],
        )
    _ensure_owned(variant, company, "variant")
    _ensure_owned(from_location, company, "location")
    _ensure_owned(to_location, company, "location")
    with tenant_context(company, user=current_user_id()):
        now = clock()
        source_id, target_id = _levels_for(
            company, [(variant, from_location), (variant, to_location)]
        )
        levels = _lock_levels([source_id, target_id])
        source, target = levels[source_id], levels[target_id]
        _reclaim_expired({source_id: source}, now=now)
        if source.available < quantity:
            raise _insufficient(
                source,
                variant.sku,
                quantity,
                f"{from_location.name} has {source.available} unpromised unit(s) of "
                f"{variant.sku}; {quantity} cannot be transferred.",
            )
        source.on_hand -= quantity
        _add_units(target, quantity, sku=variant.sku)
        _save_levels([source, target], now)
        cost = _average_cost(variant)
        transfer = str(uuid.uuid4())  # names the pair, so each half finds the other
        return (
            _record_movement(
                level=source,
                kind=MovementKind.TRANSFER_OUT,
                quantity=-quantity,
                unit_cost=cost,
                now=now,
                actor_id=_actor_id(actor),
                source_type="transfer",
                source_id=transfer,
            ),
            _record_movement(
                level=target,
                kind=MovementKind.TRANSFER_IN,
                quantity=quantity,
                unit_cost=cost,
                now=now,
                actor_id=_actor_id(actor),
                source_type="transfer",
                source_id=transfer,
            ),
        )


def stock_count_correct(
    *,
    company: Company,
    variant: Variant,
    location: Location,
    counted: int,
    source_type: str = "",
    source_id: str = "",
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> StockMovement | None:
    """Set on hand to what was counted: a count correction for the difference (None if none).

    A count below the units promised to open reservations is refused: release them first.
    """
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        message = "The counted quantity is a whole number of units, 0 or more."
        raise InvalidStockRequest(
            message, details=[{"field": "counted", "code": "invalid", "message": message}]
        )
    _within_limit(counted, "counted")
    _ensure_owned(variant, company, "variant")
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=current_user_id()):
        now = clock()
        levels = _lock_levels(_levels_for(company, [(variant, location)]))
        level = next(iter(levels.values()))
        _reclaim_expired(levels, now=now)
        if counted < level.reserved:
            raise InsufficientStock(
                f"{level.reserved} unit(s) of {variant.sku} at {location.name} are promised to "
                "open reservations; release them before recording a count below that.",
                code="count_below_reserved",
                details=[{"sku": variant.sku, "counted": counted, "reserved": level.reserved}],
            )
        difference = counted - level.on_hand
        if difference == 0:
            _save_levels([level], now)
            return None
        level.on_hand = counted
        _save_levels([level], now)
        return _record_movement(
            level=level,
            kind=MovementKind.COUNT_CORRECTION,
            quantity=difference,
            unit_cost=_average_cost(variant),
            now=now,
            actor_id=_actor_id(actor),
            source_type=source_type,
            source_id=source_id,
        )


def stock_level_set_reorder(
    *,
    company: Company,
    variant: Variant,
    location: Location,
    reorder_point: int,
    reorder_quantity: int,
) -> StockLevel:
    """When to reorder a variant at a location (on hand at or below the point) and how many."""
    for field, value in (("reorder_point", reorder_point), ("reorder_quantity", reorder_quantity)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            message = "Reorder figures are whole numbers of units, 0 or more."
            raise InvalidStockRequest(
                message, details=[{"field": field, "code": "invalid", "message": message}]
            )
        _within_limit(value, field)
    _ensure_owned(variant, company, "variant")
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=current_user_id()):
        (level_id,) = _levels_for(company, [(variant, location)])
        StockLevel.objects.filter(pk=level_id).update(
            reorder_point=reorder_point,
            reorder_quantity=reorder_quantity,
            updated_at=timezone.now(),
        )
        return StockLevel.objects.select_related("location").get(pk=level_id)


def channel_create(*, company: Company, kind: str, buffer_units: int = 0) -> Channel:
    """Open a sales channel for a company; each kind once."""
    if kind not in ChannelKind.values:
        message = "A channel is one of: " + ", ".join(ChannelKind.values) + "."
        raise InvalidStockRequest(
            message, details=[{"field": "kind", "code": "invalid", "message": message}]
        )
    _buffer_units(buffer_units)
    try:
        with tenant_context(company, user=current_user_id()):
            return Channel.objects.create(company=company, kind=kind, buffer_units=buffer_units)
    except IntegrityError as error:
        raise Conflict(
            f"The {ChannelKind(kind).label} channel is already open.", code="channel_exists"
        ) from error


def channel_buffer_set(
    *, company: Company, channel: Channel, units: int, variant: Variant | None = None
) -> Channel:
    """Hold `units` back from a channel: for one variant, or by default for every variant."""
    _buffer_units(units)
    _ensure_owned(channel, company, "channel")
    with tenant_context(company, user=current_user_id()):
        if variant is None:
            Channel.objects.filter(pk=channel.pk).update(buffer_units=units)
        else:
            _ensure_owned(variant, company, "variant")
            ChannelBuffer.objects.update_or_create(
                channel=channel, variant=variant, defaults={"units": units, "company": company}
            )
        return Channel.objects.get(pk=channel.pk)


def _buffer_units(units: Any) -> None:
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        message = "A channel buffer is a whole number of units, 0 or more."
        raise InvalidStockRequest(
            message, details=[{"field": "buffer_units", "code": "invalid", "message": message}]
        )
    _within_limit(units, "buffer_units")


def _requested_quantities(lines: Sequence[ReserveLine]) -> dict[str, int]:
    """The lines as {sku: quantity}; one SKU on several lines is one request for their sum."""
    if not lines:
        message = "A reservation needs at least one line."
        raise InvalidStockRequest(
            message, details=[{"field": "lines", "code": "required", "message": message}]
        )
    requested: dict[str, int] = {}
    for index, line in enumerate(lines):
        sku = line.sku.strip() if isinstance(line.sku, str) else ""
        if not sku:
            message = "Each line names a SKU."
            raise InvalidStockRequest(
                message,
                details=[{"field": f"lines.{index}.sku", "code": "required", "message": message}],
            )
        requested[sku] = requested.get(sku, 0) + _positive_quantity(
            line.quantity, f"lines.{index}.quantity"
        )
    return requested


def _reservation_quantities(reservation: Reservation) -> dict[str, int]:
    quantities: dict[str, int] = {}
    for allocation in reservation.allocations.all():
        sku = allocation.level.variant.sku
        quantities[sku] = quantities.get(sku, 0) + allocation.quantity
    return quantities


def _replay(key: str, *, channel: Channel, requested: dict[str, int]) -> Reservation | None:
    """The reservation made earlier under this idempotency key, if the request is the same;
    with its allocations at hand, as stock_reserve returns a new one."""
    earlier = (
        Reservation.objects.filter(idempotency_key=key)
        .select_related("channel")
        .prefetch_related("allocations__level__location", "allocations__level__variant")
        .first()
    )
    if earlier is None:
        return None
    if earlier.channel_id != channel.pk or _reservation_quantities(earlier) != requested:
        raise Conflict(
            "This idempotency key was already used for a different reservation.",
            code="idempotency_key_reused",
        )
    return earlier


def _reservation_payload(reservation: Reservation) -> dict[str, Any]:
    return {
        "reservation": reservation.public_id,
        "channel": reservation.channel.kind,
        "status": reservation.status,
        "expires_at": reservation.expires_at,
    }


def stock_reserve(
    *,
    company: Company,
    channel: Channel,
    lines: Sequence[ReserveLine],
    ttl: timedelta,
    idempotency_key: str | None = None,
    clock: Clock = timezone.now,
) -> Reservation:
    """Reserve all lines or none. Raises InsufficientStock naming the short lines.

    Each line is drawn from the locations in allocation-priority order, split when the first
    lacks enough. The channel's buffer is held back from what it may reserve. The same
    idempotency key returns the same reservation.
    """
    requested = _requested_quantities(lines)
    if not timedelta(seconds=1) <= ttl <= MAX_RESERVATION_TTL:
        message = "A reservation is held for between 1 second and 30 days."
        raise InvalidStockRequest(
            message, details=[{"field": "ttl_seconds", "code": "invalid", "message": message}]
        )
    key = (idempotency_key or "").strip()
    if len(key) > 100:
        message = "An idempotency key has at most 100 characters."
        raise InvalidStockRequest(
            message, details=[{"field": "idempotency_key", "code": "invalid", "message": message}]
        )
    _ensure_owned(channel, company, "channel")
    if not channel.is_active:
        raise InvalidStockRequest(
            f"The {channel} channel is closed.", code="channel_closed", status=409
        )
    # No savepoint: nothing is written before the reservation can be made (what was
    # published early is withdrawn on a refusal), so a caller may catch the refusal and go on.
    with _acting_for(company, savepoint=False):
        if key and (earlier := _replay(key, channel=channel, requested=requested)):
            return earlier
        made = _reserve(company, channel, requested, ttl, key, clock())
        if made is not None:
            return made
        # Another request with the same key committed while this one waited for the rows.
        earlier = _replay(key, channel=channel, requested=requested)
        if earlier is None:
            raise RuntimeError("A reservation key was taken, yet no reservation holds it.")
        return earlier


def _acting_for(company: Company, *, savepoint: bool = True) -> AbstractContextManager[None]:
    """A transaction in the company's tenant context.

    Inside a transaction that already acts for this company (an API request: the tenant
    middleware has set it), a savepoint is enough (or nothing, for a caller that writes only
    once it cannot fail); entering the same context again would cost two more round trips, one
    of them while the level locks are held.
    """
    if connection.in_atomic_block and current_company_id() == company.pk and not bypass_active():
        return transaction.atomic() if savepoint else nullcontext()
    return tenant_context(company, user=current_user_id())


def _reserve(
    company: Company,
    channel: Channel,
    requested: dict[str, int],
    ttl: timedelta,
    key: str,
    now: datetime,
) -> Reservation | None:
    """The reservation made, or None when another request made one under the same key while
    this one waited for the levels (nothing is then written)."""
    # Everything that does not depend on the levels' numbers is done before their locks are
    # taken: from the locks to the commit, buyers of the same SKU go one at a time. That
    # includes announcing the reservation, whose every field is known already: when it cannot
    # be made, the announcement is withdrawn.
    variants, buffers = _variants_for_sale(channel, requested)
    variant_ids = [variant.pk for variant in variants.values()]
    public_id = uuid.uuid4()
    expires_at = now + ttl
    announcement = publish(
        events.RESERVATION_CREATED,
        {
            "reservation": public_id,
            "channel": channel.kind,
            "status": ReservationStatus.PENDING.value,
            "expires_at": expires_at,
            "lines": requested,
        },
    )
    levels = _lock_reservable_levels(company.pk, variant_ids)
    reserved_when_locked = {level.pk: level.reserved for level in levels.values()}
    _reclaim_expired(levels, now=now)

    plan: list[tuple[StockLevel, int]] = []
    shortages = []
    for sku, quantity in sorted(requested.items()):
        variant = variants[sku]
        candidates = sorted(
            (level for level in levels.values() if level.variant_id == variant.pk),
            key=lambda level: (level.location.allocation_priority, level.location.name, level.pk),
        )
        held_back = buffers.get(variant.pk, channel.buffer_units)
        sellable = max(0, sum(level.available for level in candidates) - held_back)
        if quantity > sellable:
            shortages.append({"sku": sku, "requested": quantity, "available": sellable})
            continue
        remaining = quantity
        for level in candidates:
            take = min(level.available, remaining)
            if take > 0:
                level.variant = variant
                plan.append((level, take))
                remaining -= take
            if remaining == 0:
                break
    if shortages:
        withdraw(announcement)
        raise InsufficientStock(
            "Not enough stock for "
            + "; ".join(
                f"{short['sku']} ({short['requested']} asked, {short['available']} available)"
                for short in shortages
            )
            + ". Nothing was reserved.",
            details=shortages,
        )

    for level, quantity in plan:
        level.reserved += quantity
    made = _write_reservation(
        public_id=public_id,
        company=company,
        channel=channel,
        key=key,
        expires_at=expires_at,
        now=now,
        plan=plan,
        # Every level it draws from (its next expiry may move), and any a reclaim changed.
        changed=[
            level
            for level in levels.values()
            if level.reserved != reserved_when_locked[level.pk]
            or any(level is drawn for drawn, _ in plan)
        ],
    )
    if made is None:
        withdraw(announcement)
    return made


# The reservation, its allocations and the levels' new `reserved` in one round trip: this runs
# while the level locks are held, the part of a flash sale that serves one buyer at a time,
# where the ORM would send three statements. Row-level security applies as to any query. A key
# another request has just used writes nothing and returns no row: no error to recover from,
# and so no savepoint around the statement; the levels then keep only what a reclaim gave back
# (`drawn` undone).
WRITE_RESERVATION_SQL = """
WITH reservation AS (
    INSERT INTO inventory_reservation
        (public_id, company_id, channel_id, status, idempotency_key, expires_at, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (company_id, idempotency_key) WHERE NOT (idempotency_key = '') DO NOTHING
    RETURNING id
), allocation AS (
    INSERT INTO inventory_reservationallocation
        (company_id, reservation_id, level_id, quantity, state, holds_until)
    SELECT %s, reservation.id, taken.level_id, taken.quantity, %s, %s
    FROM reservation, unnest(%s::bigint[], %s::integer[]) AS taken (level_id, quantity)
    RETURNING id, level_id
), made AS (
    SELECT EXISTS (SELECT FROM reservation) AS made
), saved AS (
    UPDATE inventory_stocklevel AS level
    SET reserved = CASE WHEN made.made THEN changed.reserved
                        ELSE changed.reserved - changed.drawn END,
        updated_at = %s,
        next_expiry = CASE WHEN made.made AND changed.drawn > 0
                           THEN least(level.next_expiry, %s)
                           ELSE level.next_expiry END
    FROM made, unnest(%s::bigint[], %s::integer[], %s::integer[])
        AS changed (level_id, reserved, drawn)
    WHERE level.id = changed.level_id
)
SELECT reservation.id, allocation.id, allocation.level_id FROM reservation, allocation
"""
RESERVATION_COLUMNS = (
    "id",
    "company_id",
    "public_id",
    "channel_id",
    "status",
    "idempotency_key",
    "expires_at",
    "created_at",
    "committed_at",
    "fulfilled_at",
    "released_at",
)
ALLOCATION_COLUMNS = (
    "id",
    "company_id",
    "reservation_id",
    "level_id",
    "quantity",
    "state",
    "holds_until",
)


def _write_reservation(
    *,
    public_id: uuid.UUID,
    company: Company,
    channel: Channel,
    key: str,
    expires_at: datetime,
    now: datetime,
    plan: Sequence[tuple[StockLevel, int]],
    changed: Sequence[StockLevel],
) -> Reservation | None:
    """Write a pending reservation drawing `plan` (level, units) and save the `changed` levels'
    reserved units; returns it holding its allocations, as prefetch_related would leave them,
    so the API answers without reading them back while the locks are held. None when the
    idempotency key was taken meanwhile: then only what a reclaim gave back is saved."""
    drawn = {level.pk: quantity for level, quantity in plan}
    with connection.cursor() as cursor:
        cursor.execute(
            WRITE_RESERVATION_SQL,
            [
                public_id,
                company.pk,
                channel.pk,
                ReservationStatus.PENDING.value,
                key,
                expires_at,
                now,
                company.pk,
                AllocationState.OPEN.value,
                expires_at,
                [level.pk for level, _ in plan],
                [quantity for _, quantity in plan],
                now,
                expires_at,
                [level.pk for level in changed],
                [level.reserved for level in changed],
                [drawn.get(level.pk, 0) for level in changed],
            ],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    reservation_id = rows[0][0]
    allocation_ids = {level_id: pk for _, pk, level_id in rows}
    reservation = Reservation.from_db(
        connection.alias,
        RESERVATION_COLUMNS,
        (
            reservation_id,
            company.pk,
            public_id,
            channel.pk,
            ReservationStatus.PENDING.value,
            key,
            expires_at,
            now,
            None,
            None,
            None,
        ),
    )
    reservation.channel = channel
    allocations = []
    for level, quantity in plan:
        allocation = ReservationAllocation.from_db(
            connection.alias,
            ALLOCATION_COLUMNS,
            (
                allocation_ids[level.pk],
                company.pk,
                reservation_id,
                level.pk,
                quantity,
                AllocationState.OPEN.value,
                expires_at,
            ),
        )
        allocation.level = level
        allocations.append(allocation)
    prefetched = ReservationAllocation.objects.filter(reservation=reservation)
    prefetched._result_cache = allocations
    reservation._prefetched_objects_cache = {"allocations": prefetched}  # type: ignore[attr-defined]
    return reservation


# The reservation path reads the variants and locks the levels on every buyer's request; it
# sends these two statements as written, because building them through the ORM cost about
# 2 ms of the app's CPU per reservation. Column lists come from the models, never from input,
# and row-level security applies as to any query.
VARIANTS_FOR_SALE_SQL = """
SELECT variant.id, variant.company_id, variant.sku, variant.status, product.id, product.status,
       (SELECT buffer.units FROM inventory_channelbuffer AS buffer
        WHERE buffer.channel_id = %s AND buffer.variant_id = variant.id LIMIT 1)
FROM catalog_variant AS variant
JOIN catalog_product AS product ON product.id = variant.product_id
WHERE variant.company_id = %s AND variant.sku = ANY(%s)
"""


_LEVEL_FIELDS, _LEVEL_COLUMNS = rows.columns(StockLevel, "level")
_LOCATION_FIELDS, _LOCATION_COLUMNS = rows.columns(Location, "location")
LOCK_RESERVABLE_LEVELS_SQL = f"""
SELECT {_LEVEL_COLUMNS}, {_LOCATION_COLUMNS}
FROM inventory_stocklevel AS level
JOIN inventory_location AS location ON location.id = level.location_id
WHERE level.company_id = %s AND level.variant_id = ANY(%s) AND location.is_active
ORDER BY level.id
FOR UPDATE OF level
"""  # noqa: S608


def _variants_for_sale(
    channel: Channel, requested: Mapping[str, int]
) -> tuple[dict[str, Variant], dict[int, int]]:
    """The requested variants by SKU (with their products' status) and the units the channel
    holds back from each, by variant id, where it has a buffer of its own: one query. Refuses
    unknown SKUs and what is not for sale."""
    with connection.cursor() as cursor:
        cursor.execute(VARIANTS_FOR_SALE_SQL, [channel.pk, channel.company_id, list(requested)])
        found = cursor.fetchall()
    variants: dict[str, Variant] = {}
    buffers: dict[int, int] = {}
    for variant_id, company_id, sku, status, product_id, product_status, held_back in found:
        variant = rows.partial(
            Variant,
            id=variant_id,
            company_id=company_id,
            sku=sku,
            status=status,
            product_id=product_id,
        )
        variant.product = rows.partial(Product, id=product_id, status=product_status)
        variants[sku] = variant
        if held_back is not None:
            buffers[variant_id] = held_back
    unknown = sorted(set(requested) - set(variants))
    if unknown:
        raise UnknownSku(
            "No product has the SKU " + ", ".join(unknown) + ".",
            details=[{"sku": sku, "code": "unknown_sku"} for sku in unknown],
        )
    _refuse_unsellable(variants)
    return variants, buffers


def _lock_reservable_levels(company_id: int, variant_ids: Iterable[int]) -> dict[int, StockLevel]:
    """Lock the variants' levels at active locations in id order (as _lock_levels does), with
    the location that orders the allocation."""
    with connection.cursor() as cursor:
        cursor.execute(LOCK_RESERVABLE_LEVELS_SQL, [company_id, sorted(set(variant_ids))])
        locked = cursor.fetchall()
    split = len(_LEVEL_FIELDS)
    levels: dict[int, StockLevel] = {}
    for row in locked:
        level = rows.loaded(StockLevel, _LEVEL_FIELDS, row[:split])
        level.location = rows.loaded(Location, _LOCATION_FIELDS, row[split:])
        levels[level.pk] = level
    return levels


def _refuse_unsellable(variants: Mapping[str, Variant]) -> None:
    """Only active variants of active products may be promised to a buyer."""
    unsellable = sorted(
        sku
        for sku, variant in variants.items()
        if variant.status != VariantStatus.ACTIVE or variant.product.status != ProductStatus.ACTIVE
    )
    if unsellable:
        raise InvalidStockRequest(
            "Not for sale: "
            + ", ".join(unsellable)
            + " (archived, or its product is a draft or archived). Nothing was reserved.",
            code="not_for_sale",
            status=409,
            details=[
                {
                    "sku": sku,
                    "code": "not_for_sale",
                    "variant_status": variants[sku].status,
                    "product_status": variants[sku].product.status,
                }
                for sku in unsellable
            ],
        )


def _locked_reservation(reservation: Reservation) -> Reservation:
    try:
        return (
            Reservation.objects.select_for_update(of=("self",))
            .select_related("channel")
            .get(pk=reservation.pk)
        )
    except Reservation.DoesNotExist as error:
        raise NotFound("That reservation was not found.", code="reservation_not_found") from error


def _lock_allocations(
    reservation: Reservation,
) -> tuple[dict[int, StockLevel], list[ReservationAllocation]]:
    """Lock the reservation's levels, then read its allocations as they are under the locks."""
    level_ids = reservation.allocations.values_list("level_id", flat=True)
    levels = _lock_levels(level_ids)
    return levels, list(reservation.allocations.all())


def _release_allocations(
    levels: dict[int, StockLevel], allocations: list[ReservationAllocation]
) -> None:
    open_allocations = [a for a in allocations if a.state == AllocationState.OPEN]
    for allocation in open_allocations:
        levels[allocation.level_id].reserved -= allocation.quantity
    ReservationAllocation.objects.filter(pk__in=[a.pk for a in open_allocations]).update(
        state=AllocationState.RELEASED
    )


def stock_commit(
    *, company: Company, reservation: Reservation, clock: Clock = timezone.now
) -> Reservation:
    """Payment received: the reservation keeps its units until it is fulfilled or released.

    A reservation committed after its expiry still succeeds if no one has taken its units in
    the meantime; otherwise it is refused with ReservationExpired (see docs/inventory.md).
    """
    _ensure_owned(reservation, company, "reservation")
    lost = False
    with tenant_context(company, user=current_user_id()):
        locked = _locked_reservation(reservation)
        if locked.status in (ReservationStatus.COMMITTED, ReservationStatus.FULFILLED):
            return locked
        if locked.status == ReservationStatus.RELEASED:
            raise ReservationClosed("This reservation was cancelled and cannot be paid for.")
        if locked.status == ReservationStatus.EXPIRED:
            raise _expired()
        now = clock()
        levels, allocations = _lock_allocations(locked)
        if any(allocation.state != AllocationState.OPEN for allocation in allocations):
            # Some of its units went to another reservation after it expired.
            _release_allocations(levels, allocations)
            _save_levels(levels.values(), now)
            locked.status = ReservationStatus.EXPIRED
            locked.released_at = now
            locked.save(update_fields=["status", "released_at"])
            publish(events.RESERVATION_EXPIRED, _reservation_payload(locked))
            lost = True
        else:
            # Paid: its holds no longer expire, so no reclaim may take them.
            ReservationAllocation.objects.filter(pk__in=[a.pk for a in allocations]).update(
                holds_until=None
            )
            locked.status = ReservationStatus.COMMITTED
            locked.committed_at = now
            locked.save(update_fields=["status", "committed_at"])
            publish(events.RESERVATION_COMMITTED, _reservation_payload(locked))
    if lost:
        raise _expired()
    return locked


def _expired() -> ReservationExpired:
    return ReservationExpired(
        "This reservation expired and its stock has gone to another order. Reserve again."
    )


def stock_fulfil(
    *,
    company: Company,
    reservation: Reservation,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> Reservation:
    """Shipped: each allocation becomes a sale movement, taking the units off hand."""
    _ensure_owned(reservation, company, "reservation")
    with tenant_context(company, user=current_user_id()):
        locked = _locked_reservation(reservation)
        if locked.status == ReservationStatus.FULFILLED:
            return locked
        if locked.status != ReservationStatus.COMMITTED:
            raise ReservationClosed(
                "Only a paid (committed) reservation can be shipped; this one is "
                f"{locked.get_status_display().lower()}."
            )
        now = clock()
        levels, allocations = _lock_allocations(locked)
        costs = _average_costs(level.variant_id for level in levels.values())
        open_allocations = [a for a in allocations if a.state == AllocationState.OPEN]
        for allocation in open_allocations:
            level = levels[allocation.level_id]
            level.on_hand -= allocation.quantity
            level.reserved -= allocation.quantity
        _save_levels(levels.values(), now)
        for allocation in open_allocations:
            level = levels[allocation.level_id]
            _record_movement(
                level=level,
                kind=MovementKind.SALE,
                quantity=-allocation.quantity,
                unit_cost=costs.get(level.variant_id, Decimal(0)),
                now=now,
                actor_id=_actor_id(actor),
                source_type="reservation",
                source_id=str(locked.public_id),
            )
        ReservationAllocation.objects.filter(pk__in=[a.pk for a in open_allocations]).update(
            state=AllocationState.FULFILLED
        )
        locked.status = ReservationStatus.FULFILLED
        locked.fulfilled_at = now
        locked.save(update_fields=["status", "fulfilled_at"])
        publish(events.RESERVATION_FULFILLED, _reservation_payload(locked))
    return locked


def stock_release(
    *, company: Company, reservation: Reservation, clock: Clock = timezone.now
) -> Reservation:
    """Cancelled: the reservation's units are free again. Releasing twice changes nothing."""
    _ensure_owned(reservation, company, "reservation")
    with tenant_context(company, user=current_user_id()):
        locked = _locked_reservation(reservation)
        if locked.status in (ReservationStatus.RELEASED, ReservationStatus.EXPIRED):
            return locked
        if locked.status == ReservationStatus.FULFILLED:
            raise ReservationClosed(
                "This reservation has shipped; record a return to bring the units back."
            )
        now = clock()
        levels, allocations = _lock_allocations(locked)
        _release_allocations(levels, allocations)
        _save_levels(levels.values(), now)
        locked.status = ReservationStatus.RELEASED
        locked.released_at = now
        locked.save(update_fields=["status", "released_at"])
        publish(events.RESERVATION_RELEASED, _reservation_payload(locked))
    return locked


def reservations_release_expired(*, clock: Clock = timezone.now, limit: int = 500) -> int:
    """Mark pending reservations past their expiry as expired and free what they still hold.

    Their units already stopped counting at expiry; this sweep tidies up. Each reservation is
    released in its own company's transaction; one being worked on elsewhere is skipped.
    """
    now = clock()
    # Finding due reservations across companies is platform machinery, not a person.
    with system_access(reason="release expired stock reservations"):
        due = list(
            Reservation.objects.filter(status=ReservationStatus.PENDING, expires_at__lte=now)
            .order_by("expires_at")
            .values_list("company_id", "pk")[:limit]
        )
    released = 0
    for company_id, pk in due:
        with tenant_context(company_id):
            reservation = (
                Reservation.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("channel")
                .filter(pk=pk, status=ReservationStatus.PENDING, expires_at__lte=now)
                .first()
            )
            if reservation is None:
                continue
            levels, allocations = _lock_allocations(reservation)
            _release_allocations(levels, allocations)
            _save_levels(levels.values(), now)
            reservation.status = ReservationStatus.EXPIRED
            reservation.released_at = now
            reservation.save(update_fields=["status", "released_at"])
            publish(events.RESERVATION_EXPIRED, _reservation_payload(reservation))
        released += 1
    return released


# --- Operations: transfers, stock counts, purchase receipts, low stock (docs/inventory.md) ---


class TransferClosed(DomainError):
    """The transfer is in a state that does not allow the step asked for."""

    code = "transfer_closed"
    status = 409


class StockCountClosed(DomainError):
    code = "stock_count_closed"
    status = 409


def _invalid(field: str, message: str, *, code: str = "invalid", status: int = 400) -> DomainError:
    return InvalidStockRequest(
        message,
        code=code,
        status=status,
        details=[{"field": field, "code": code, "message": message}],
    )


def _clean_sku(sku: Any, field: str) -> str:
    sku = sku.strip() if isinstance(sku, str) else ""
    if not sku:
        raise _invalid(field, "Each line names a SKU.", code="required")
    return sku


def _document_lines(lines: Sequence[tuple[str, int]], *, what: str) -> dict[str, int]:
    """(sku, quantity) lines as {sku: quantity}; one SKU on several lines counts once, summed."""
    if not lines:
        raise _invalid("lines", f"A {what} needs at least one line.", code="required")
    quantities: dict[str, int] = {}
    for index, (sku, quantity) in enumerate(lines):
        sku = _clean_sku(sku, f"lines.{index}.sku")
        quantities[sku] = quantities.get(sku, 0) + _positive_quantity(
            quantity, f"lines.{index}.quantity"
        )
    return quantities


def _variants_by_sku(skus: Iterable[str]) -> dict[str, Variant]:
    """The current company's variants with these SKUs; UnknownSku names any that is missing."""
    skus = set(skus)
    variants = {variant.sku: variant for variant in Variant.objects.filter(sku__in=skus)}
    unknown = sorted(skus - set(variants))
    if unknown:
        raise UnknownSku(
            "No product has the SKU " + ", ".join(unknown) + ".",
            details=[{"sku": sku, "code": "unknown_sku"} for sku in unknown],
        )
    return variants


def _lock_levels_at(
    company: Company, location: Location, variants: Iterable[Variant]
) -> dict[int, StockLevel]:
    """Lock the levels of these variants at one location (made if missing), by variant id."""
    levels = _lock_levels(_levels_for(company, [(variant, location) for variant in variants]))
    return {level.variant_id: level for level in levels.values()}


# Transfers


def transfer_create(
    *,
    company: Company,
    source: Location,
    destination: Location,
    lines: Sequence[tuple[str, int]],
    actor: User | None,
    note: str = "",
    clock: Clock = timezone.now,
) -> Transfer:
    """A draft transfer of these (sku, quantity) lines; no stock moves until it is dispatched."""
    if source.pk == destination.pk:
        raise _invalid(
            "destination",
            "A transfer goes from one location to another; choose a different destination.",
            code="same_location",
        )
    quantities = _document_lines(lines, what="transfer")
    note = note.strip()
    if len(note) > 500:
        raise _invalid("note", "A note has at most 500 characters.")
    _ensure_owned(source, company, "location")
    _ensure_owned(destination, company, "location")
    with tenant_context(company, user=_actor_id(actor)):
        variants = _variants_by_sku(quantities)
        transfer = Transfer.objects.create(
            company=company,
            number=next_number(company=company, prefix=TRANSFER_PREFIX),
            source=source,
            destination=destination,
            note=note,
            created_by_id=_actor_id(actor),
            created_at=clock(),
        )
        TransferLine.objects.bulk_create(
            [
                TransferLine(
                    company=company, transfer=transfer, variant=variants[sku], quantity=quantity
                )
                for sku, quantity in sorted(quantities.items())
            ]
        )
        audit.audit_record(
            action="transfer.created",
            obj=transfer,
            changes={"status": [None, transfer.status], "lines": [None, quantities]},
            actor=actor,
        )
    return transfer


def _locked_transfer(transfer: Transfer) -> Transfer:
    return (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("company", "source", "destination")
        .get(pk=transfer.pk)
    )


def _transfer_payload(transfer: Transfer) -> dict[str, Any]:
    return {
        "transfer": transfer.public_id,
        "number": transfer.number,
        "source": transfer.source.public_id,
        "destination": transfer.destination.public_id,
        "status": transfer.status,
    }


def _set_status(
    document: Transfer | StockCount, status: str, actor: User | None, **stamps: datetime
) -> None:
    """Move a stock document to `status`, stamping when, and record it in the audit log."""
    before = document.status
    document.status = status
    for field, value in stamps.items():
        setattr(document, field, value)
    document.save(update_fields=["status", *stamps])
    what = "transfer" if isinstance(document, Transfer) else "stock_count"
    audit.audit_record(
        action=f"{what}.{status}", obj=document, changes={"status": [before, status]}, actor=actor
    )


DISPATCHED = (
    TransferStatus.IN_TRANSIT,
    TransferStatus.PARTIALLY_RECEIVED,
    TransferStatus.RECEIVED,
)


def transfer_dispatch(
    *, transfer: Transfer, actor: User | None, clock: Clock = timezone.now
) -> Transfer:
    """The goods leave the source: a transfer out movement per line, all lines or none.

    Refused with InsufficientStock (naming the short lines) when the source has fewer
    unpromised units than a line sends. Dispatching a dispatched transfer changes nothing.
    """
    with tenant_context(transfer.company_id, user=_actor_id(actor)):
        locked = _locked_transfer(transfer)
        if locked.status in DISPATCHED:
            return locked
        if locked.status == TransferStatus.CANCELLED:
            raise TransferClosed(f"{locked.number} was cancelled; it cannot be dispatched.")
        now = clock()
        lines = list(locked.lines.select_related("variant"))
        levels = _lock_levels_at(locked.company, locked.source, [line.variant for line in lines])
        _reclaim_expired({level.pk: level for level in levels.values()}, now=now)
        shortages = [
            {
                "sku": line.variant.sku,
                "requested": line.quantity,
                "available": levels[line.variant_id].available,
            }
            for line in lines
            if levels[line.variant_id].available < line.quantity
        ]
        if shortages:
            raise InsufficientStock(
                f"{locked.source.name} does not have enough unpromised stock for "
                + "; ".join(
                    f"{short['sku']} ({short['requested']} to send, {short['available']} available)"
                    for short in shortages
                )
                + ". Nothing was dispatched.",
                details=shortages,
            )
        costs = _average_costs(line.variant_id for line in lines)
        for line in lines:
            levels[line.variant_id].on_hand -= line.quantity
            line.unit_cost = costs.get(line.variant_id, Decimal(0))
        _save_levels(levels.values(), now)
        for line in lines:
            _record_movement(
                level=levels[line.variant_id],
                kind=MovementKind.TRANSFER_OUT,
                quantity=-line.quantity,
                unit_cost=line.unit_cost,
                now=now,
                actor_id=_actor_id(actor),
                source_type="transfer",
                source_id=str(locked.public_id),
            )
        TransferLine.objects.bulk_update(lines, ["unit_cost"])
        _set_status(locked, TransferStatus.IN_TRANSIT, actor, dispatched_at=now)
        publish(events.TRANSFER_DISPATCHED, _transfer_payload(locked))
    return locked


def _received_quantities(quantities: Mapping[str, int]) -> dict[str, int]:
    received: dict[str, int] = {}
    for sku, quantity in quantities.items():
        sku = _clean_sku(sku, "lines")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise _invalid(
                f"lines.{sku}", "A received quantity is a whole number of units, 0 or more."
            )
        _within_limit(quantity, f"lines.{sku}")
        if quantity:
            received[sku] = received.get(sku, 0) + quantity
    if not received:
        raise _invalid("lines", "Say how many units of at least one line arrived.", code="required")
    return received


def transfer_receive(
    *,
    transfer: Transfer,
    quantities: Mapping[str, int],
    actor: User | None,
    clock: Clock = timezone.now,
) -> Transfer:
    """Some or all of the goods arrive: a transfer in movement per line received.

    `quantities` maps SKU to the units that arrived in this delivery (0 for none). A line never
    receives more than was sent; the transfer is received once every line is complete.
    """
    received = _received_quantities(quantities)
    with tenant_context(transfer.company_id, user=_actor_id(actor)):
        locked = _locked_transfer(transfer)
        if locked.status == TransferStatus.DRAFT:
            raise TransferClosed(f"{locked.number} has not been dispatched yet.")
        if locked.status in (TransferStatus.RECEIVED, TransferStatus.CANCELLED):
            raise TransferClosed(
                f"{locked.number} is {locked.get_status_display().lower()}; "
                "nothing more can be received on it."
            )
        lines = {line.variant.sku: line for line in locked.lines.select_related("variant")}
        not_sent = sorted(set(received) - set(lines))
        if not_sent:
            raise InvalidStockRequest(
                f"{locked.number} did not send " + ", ".join(not_sent) + ".",
                code="not_on_transfer",
                details=[{"sku": sku, "code": "not_on_transfer"} for sku in not_sent],
            )
        too_many = [
            {
                "sku": sku,
                "sent": lines[sku].quantity,
                "received": lines[sku].received,
                "receiving": quantity,
            }
            for sku, quantity in sorted(received.items())
            if quantity > lines[sku].outstanding
        ]
        if too_many:
            raise Conflict(
                "More than was sent: "
                + "; ".join(
                    f"{over['sku']} ({over['sent']} sent, {over['received']} already received, "
                    f"{over['receiving']} now)"
                    for over in too_many
                )
                + ". Nothing was received.",
                code="more_than_sent",
                details=too_many,
            )
        now = clock()
        arriving = [lines[sku] for sku in sorted(received)]
        levels = _lock_levels_at(
            locked.company, locked.destination, [line.variant for line in arriving]
        )
        for line in arriving:
            line.received += received[line.variant.sku]
            _add_units(levels[line.variant_id], received[line.variant.sku], sku=line.variant.sku)
        _save_levels(levels.values(), now)
        for line in arriving:
            _record_movement(
                level=levels[line.variant_id],
                kind=MovementKind.TRANSFER_IN,
                quantity=received[line.variant.sku],
                unit_cost=line.unit_cost,
                now=now,
                actor_id=_actor_id(actor),
                source_type="transfer",
                source_id=str(locked.public_id),
            )
        TransferLine.objects.bulk_update(arriving, ["received"])
        if all(line.outstanding == 0 for line in lines.values()):
            _set_status(locked, TransferStatus.RECEIVED, actor, received_at=now)
        elif locked.status != TransferStatus.PARTIALLY_RECEIVED:
            _set_status(locked, TransferStatus.PARTIALLY_RECEIVED, actor)
        publish(events.TRANSFER_RECEIVED, {**_transfer_payload(locked), "received": received})
    return locked


def transfer_cancel(
    *, transfer: Transfer, actor: User | None, clock: Clock = timezone.now
) -> Transfer:
    """Drop a draft transfer. A dispatched one cannot be cancelled: its goods are on the road,
    so receive them (at the destination, or back at the source with a new transfer)."""
    with tenant_context(transfer.company_id, user=_actor_id(actor)):
        locked = _locked_transfer(transfer)
        if locked.status == TransferStatus.CANCELLED:
            return locked
        if locked.status != TransferStatus.DRAFT:
            raise TransferClosed(
                f"{locked.number} has been dispatched and can no longer be cancelled; "
                "receive its goods instead."
            )
        _set_status(locked, TransferStatus.CANCELLED, actor, cancelled_at=clock())
    return locked


# Stock counts


def count_start(
    *,
    company: Company,
    location: Location,
    skus: Sequence[str] | None = None,
    actor: User | None,
    clock: Clock = timezone.now,
) -> StockCount:
    """A count sheet for a location: one line per variant with the on hand the records expect.

    Without `skus`, every variant the location has a stock level for.
    """
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=_actor_id(actor)):
        if skus is None:
            expected = dict(
                StockLevel.objects.filter(location=location).values_list("variant_id", "on_hand")
            )
            variants = list(Variant.objects.filter(pk__in=expected).order_by("sku"))
        else:
            wanted = {_clean_sku(sku, f"skus.{index}") for index, sku in enumerate(skus)}
            variants = sorted(_variants_by_sku(wanted).values(), key=lambda v: v.sku)
            expected = dict(
                StockLevel.objects.filter(location=location, variant__in=variants).values_list(
                    "variant_id", "on_hand"
                )
            )
        if not variants:
            raise _invalid(
                "skus", f"{location.name} holds nothing to count yet; name the SKUs to count."
            )
        count = StockCount.objects.create(
            company=company,
            number=next_number(company=company, prefix=COUNT_PREFIX),
            location=location,
            started_by_id=_actor_id(actor),
            started_at=clock(),
        )
        StockCountLine.objects.bulk_create(
            [
                StockCountLine(
                    company=company,
                    count=count,
                    variant=variant,
                    expected=expected.get(variant.pk, 0),
                )
                for variant in variants
            ]
        )
        audit.audit_record(
            action="stock_count.started",
            obj=count,
            changes={"status": [None, count.status], "lines": [None, len(variants)]},
            actor=actor,
        )
    return count


def _locked_count(count: StockCount) -> StockCount:
    return (
        StockCount.objects.select_for_update(of=("self",))
        .select_related("company", "location")
        .get(pk=count.pk)
    )


def _open_count(count: StockCount) -> StockCount:
    locked = _locked_count(count)
    if locked.status != StockCountStatus.OPEN:
        raise StockCountClosed(
            f"{locked.number} is {locked.get_status_display().lower()}; it can no longer change."
        )
    return locked


def count_record(
    *, count: StockCount, quantities: Mapping[str, int], actor: User | None
) -> StockCount:
    """Write down what was counted ({sku: units}); recording a line again replaces it."""
    counted: dict[str, int] = {}
    for sku, quantity in quantities.items():
        sku = _clean_sku(sku, "lines")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise _invalid(
                f"lines.{sku}", "A counted quantity is a whole number of units, 0 or more."
            )
        _within_limit(quantity, f"lines.{sku}")
        counted[sku] = quantity
    if not counted:
        raise _invalid("lines", "Record at least one counted quantity.", code="required")
    with tenant_context(count.company_id, user=_actor_id(actor)):
        locked = _open_count(count)
        lines = {line.variant.sku: line for line in locked.lines.select_related("variant")}
        not_on_sheet = sorted(set(counted) - set(lines))
        if not_on_sheet:
            raise InvalidStockRequest(
                f"{', '.join(not_on_sheet)} is not on count sheet {locked.number}.",
                code="not_on_count",
                details=[{"sku": sku, "code": "not_on_count"} for sku in not_on_sheet],
            )
        for sku, quantity in counted.items():
            lines[sku].counted = quantity
        StockCountLine.objects.bulk_update([lines[sku] for sku in counted], ["counted"])
    return locked


def count_post(*, count: StockCount, actor: User | None, clock: Clock = timezone.now) -> StockCount:
    """Post the variances: a count correction per counted line, for counted minus on hand *now*.

    On hand is read at posting time, so sales and receipts since the sheet was made are not
    undone. Lines never counted are left alone. Refused (count_below_reserved) when a count is
    below the units promised to open reservations there; posting twice changes nothing.
    """
    with tenant_context(count.company_id, user=_actor_id(actor)):
        locked = _locked_count(count)
        if locked.status == StockCountStatus.POSTED:
            return locked
        if locked.status == StockCountStatus.CANCELLED:
            raise StockCountClosed(f"{locked.number} was cancelled; it cannot be posted.")
        lines = [
            line for line in locked.lines.select_related("variant") if line.counted is not None
        ]
        if not lines:
            raise _invalid("lines", "Record at least one counted quantity before posting.")
        now = clock()
        levels = _lock_levels_at(locked.company, locked.location, [line.variant for line in lines])
        _reclaim_expired({level.pk: level for level in levels.values()}, now=now)
        below = [
            {
                "sku": line.variant.sku,
                "counted": line.counted,
                "reserved": levels[line.variant_id].reserved,
            }
            for line in lines
            if line.counted is not None and line.counted < levels[line.variant_id].reserved
        ]
        if below:
            raise InsufficientStock(
                "Counted below the units promised to open orders at "
                f"{locked.location.name}: "
                + "; ".join(
                    f"{short['sku']} ({short['counted']} counted, {short['reserved']} promised)"
                    for short in below
                )
                + ". Release or ship those orders first, or recount. Nothing was posted.",
                code="count_below_reserved",
                details=below,
            )
        costs = _average_costs(line.variant_id for line in lines)
        corrections = []
        for line in lines:
            assert line.counted is not None
            level = levels[line.variant_id]
            line.on_hand_at_post = level.on_hand
            line.variance = line.counted - level.on_hand
            level.on_hand = line.counted
            if line.variance:
                corrections.append(line)
        _save_levels(levels.values(), now)
        for line in corrections:
            assert line.variance is not None
            _record_movement(
                level=levels[line.variant_id],
                kind=MovementKind.COUNT_CORRECTION,
                quantity=line.variance,
                unit_cost=costs.get(line.variant_id, Decimal(0)),
                now=now,
                actor_id=_actor_id(actor),
                source_type="stock_count",
                source_id=str(locked.public_id),
            )
        StockCountLine.objects.bulk_update(lines, ["on_hand_at_post", "variance"])
        _set_status(locked, StockCountStatus.POSTED, actor, posted_at=now)
        publish(
            events.STOCK_COUNT_POSTED,
            {
                "stock_count": locked.public_id,
                "number": locked.number,
                "location": locked.location.public_id,
                "variances": {line.variant.sku: line.variance for line in corrections},
            },
        )
    return locked


def count_cancel(
    *, count: StockCount, actor: User | None, clock: Clock = timezone.now
) -> StockCount:
    """Abandon an open count sheet; nothing is posted. Cancelling twice changes nothing."""
    with tenant_context(count.company_id, user=_actor_id(actor)):
        locked = _locked_count(count)
        if locked.status == StockCountStatus.CANCELLED:
            return locked
        if locked.status == StockCountStatus.POSTED:
            raise StockCountClosed(f"{locked.number} has been posted; count again to correct it.")
        _set_status(locked, StockCountStatus.CANCELLED, actor, cancelled_at=clock())
    return locked


# Purchase receipts


class DuplicateReceipt(DomainError):
    """The supplier's document was already received: confirm a second delivery to go on."""

    code = "duplicate_receipt"
    status = 409


class ReceiptVoided(DomainError):
    code = "receipt_voided"
    status = 409


def purchase_receipt_create(
    *,
    company: Company,
    location: Location,
    supplier_name: str,
    reference: str,
    lines: Sequence[tuple[str, int, Decimal]],
    actor: User | None,
    second_delivery: bool = False,
    clock: Clock = timezone.now,
) -> PurchaseReceipt:
    """Goods in from a supplier: one receipt movement per line at its unit cost, moving each
    variant's weighted average cost, all in one transaction under the next GRN number.

    A supplier document (supplier and reference) already received, and not voided, is refused
    with DuplicateReceipt unless `second_delivery` says it is one."""
    supplier_name = supplier_name.strip()
    reference = reference.strip()
    # Every problem is gathered before refusing, so the form shows them all at once.
    problems: list[DomainError] = []
    if not supplier_name:
        problems.append(
            _invalid("supplier_name", "Name the supplier the goods came from.", code="required")
        )
    if len(supplier_name) > 200:
        problems.append(_invalid("supplier_name", "A supplier name has at most 200 characters."))
    if len(reference) > 100:
        problems.append(_invalid("reference", "A reference has at most 100 characters."))
    if not lines:
        problems.append(
            _invalid("lines", "A goods receipt needs at least one line.", code="required")
        )
    cleaned: list[tuple[str, int, Decimal]] = []
    for index, (sku, quantity, unit_cost) in enumerate(lines):
        try:
            sku = _clean_sku(sku, f"lines.{index}.sku")
        except DomainError as error:
            problems.append(error)
        try:
            quantity = _positive_quantity(quantity, f"lines.{index}.quantity")
        except DomainError as error:
            problems.append(error)
        try:
            cost = _checked_unit_cost(unit_cost)
        except InvalidStockRequest as error:
            problems.append(_invalid(f"lines.{index}.unit_cost", error.message))
            cost = Decimal(0)
        cleaned.append((sku, quantity, cost))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidStockRequest(
            "Some of the details are not right; each is explained next to its field.",
            details=[detail for problem in problems for detail in problem.details],
        )
    _ensure_owned(location, company, "location")
    with tenant_context(company, user=_actor_id(actor)):
        now = clock()
        variants = _variants_by_sku(sku for sku, _, _ in cleaned)
        # The number's counter row is locked until commit, so two receipts of one document
        # entered at once queue here and the second sees the first.
        number = next_number(company=company, prefix=RECEIPT_PREFIX)
        if reference and not second_delivery:
            earlier = (
                PurchaseReceipt.objects.filter(
                    supplier_name__iexact=supplier_name,
                    reference__iexact=reference,
                    voided_at__isnull=True,
                )
                .order_by("received_at")
                .first()
            )
            if earlier is not None:
                raise DuplicateReceipt(
                    f"{supplier_name}'s {reference} was already received as {earlier.number} on "
                    f"{timezone.localtime(earlier.received_at):%d %b %Y}. If this is a second "
                    "delivery under the same document, confirm it.",
                    details=[
                        {
                            "field": "reference",
                            "code": "duplicate_receipt",
                            "receipt": earlier.number,
                        }
                    ],
                )
        receipt = PurchaseReceipt.objects.create(
            company=company,
            number=number,
            location=location,
            supplier_name=supplier_name,
            reference=reference,
            received_by_id=_actor_id(actor),
            received_at=now,
        )
        # Lock order as in stock_receive: cost rows first (by variant id), then levels (by id).
        VariantCost.objects.bulk_create(
            [VariantCost(company=company, variant=variant) for variant in variants.values()],
            ignore_conflicts=True,
        )
        averages = {
            cost.variant_id: cost
            for cost in VariantCost.objects.select_for_update()
            .filter(variant__in=variants.values())
            .order_by("variant_id")
        }
        levels = _lock_levels_at(company, location, variants.values())
        totals = dict(
            StockLevel.objects.filter(variant__in=variants.values())
            .order_by()
            .values("variant_id")
            .annotate(total=Sum("on_hand"))
            .values_list("variant_id", "total")
        )
        for sku, quantity, cost in cleaned:
            variant = variants[sku]
            average = averages[variant.pk]
            # One SKU on several lines averages line after line, as separate receipts would.
            average.average_cost = weighted_average_cost(
                on_hand=totals.get(variant.pk) or 0,
                average_cost=average.average_cost,
                received=quantity,
                unit_cost=cost,
            )
            totals[variant.pk] = (totals.get(variant.pk) or 0) + quantity
            _add_units(levels[variant.pk], quantity, sku=variant.sku)
        VariantCost.objects.bulk_update(averages.values(), ["average_cost", "updated_at"])
        _save_levels(levels.values(), now)
        for sku, quantity, cost in cleaned:
            _record_movement(
                level=levels[variants[sku].pk],
                kind=MovementKind.RECEIPT,
                quantity=quantity,
                unit_cost=cost,
                now=now,
                actor_id=_actor_id(actor),
                source_type="purchase_receipt",
                source_id=str(receipt.public_id),
            )
        PurchaseReceiptLine.objects.bulk_create(
            [
                PurchaseReceiptLine(
                    company=company,
                    receipt=receipt,
                    variant=variants[sku],
                    quantity=quantity,
                    unit_cost=cost,
                )
                for sku, quantity, cost in cleaned
            ]
        )
        audit.audit_record(
            action="purchase_receipt.created",
            obj=receipt,
            changes={
                "supplier_name": [None, supplier_name],
                "lines": [None, [[sku, quantity, str(cost)] for sku, quantity, cost in cleaned]],
            },
            actor=actor,
        )
        publish(
            events.PURCHASE_RECEIPT_CREATED,
            {
                "purchase_receipt": receipt.public_id,
                "number": receipt.number,
                "location": location.public_id,
                "supplier_name": supplier_name,
                "lines": [
                    {"sku": sku, "quantity": quantity, "unit_cost": cost}
                    for sku, quantity, cost in cleaned
                ],
            },
        )
    return receipt


def average_cost_without(
    *, on_hand: int, average_cost: Decimal, removed: int, unit_cost: Decimal
) -> Decimal:
    """The moving average once `removed` units that came in at `unit_cost` are taken back out:
    (on_hand x average - removed x unit cost) / (on_hand - removed), exact, rounded once. With
    nothing left the average stays; it never goes below zero."""
    remaining = on_hand - removed
    if remaining <= 0:
        return average_cost
    value = on_hand * Fraction(average_cost) - removed * Fraction(unit_cost)
    return _round_cost(max(value, Fraction(0)) / remaining)


def purchase_receipt_void(
    *,
    company: Company,
    receipt: PurchaseReceipt,
    reason: str,
    actor: User | None,
    clock: Clock = timezone.now,
) -> PurchaseReceipt:
    """Undo a receipt entered by mistake: each line's units leave again at its unit cost
    (a receipt_void movement) and the average cost moves back. Refused when the units are no
    longer all unpromised at the location (sold, reserved or moved): adjust instead."""
    reason = reason.strip()
    if not reason:
        raise _invalid(
            "reason", "Say why the receipt is voided, e.g. “entered twice”.", code="required"
        )
    if len(reason) > 200:
        raise _invalid("reason", "A reason has at most 200 characters.")
    _ensure_owned(receipt, company, "purchase receipt")
    with tenant_context(company, user=_actor_id(actor)):
        now = clock()
        receipt = (
            PurchaseReceipt.objects.select_for_update()
            .select_related("location")
            .get(pk=receipt.pk)
        )
        if receipt.voided_at is not None:
            raise ReceiptVoided(f"{receipt.number} is already voided.")
        lines = list(PurchaseReceiptLine.objects.filter(receipt=receipt).select_related("variant"))
        variants = {line.variant_id: line.variant for line in lines}
        averages = {
            cost.variant_id: cost
            for cost in VariantCost.objects.select_for_update()
            .filter(variant__in=variants.values())
            .order_by("variant_id")
        }
        levels = _lock_levels_at(company, receipt.location, variants.values())
        removing: dict[int, int] = {}
        for line in lines:
            removing[line.variant_id] = removing.get(line.variant_id, 0) + line.quantity
        for variant_id, quantity in removing.items():
            level = levels[variant_id]
            if level.available < quantity:
                raise InsufficientStock(
                    f"{receipt.number} brought {quantity} of {variants[variant_id].sku} to "
                    f"{receipt.location.name}, but only {level.available} are still unpromised "
                    "there; adjust the stock instead.",
                )
        totals = dict(
            StockLevel.objects.filter(variant__in=variants.values())
            .order_by()
            .values("variant_id")
            .annotate(total=Sum("on_hand"))
            .values_list("variant_id", "total")
        )
        # Lines come off in reverse order, undoing the averaging they did on the way in.
        for line in reversed(lines):
            average = averages.get(line.variant_id)
            if average is not None:
                average.average_cost = average_cost_without(
                    on_hand=totals.get(line.variant_id) or 0,
                    average_cost=average.average_cost,
                    removed=line.quantity,
                    unit_cost=line.unit_cost,
                )
            totals[line.variant_id] = (totals.get(line.variant_id) or 0) - line.quantity
            _add_units(levels[line.variant_id], -line.quantity, sku=line.variant.sku)
        VariantCost.objects.bulk_update(averages.values(), ["average_cost", "updated_at"])
        _save_levels(levels.values(), now)
        for line in lines:
            _record_movement(
                level=levels[line.variant_id],
                kind=MovementKind.RECEIPT_VOID,
                quantity=-line.quantity,
                unit_cost=line.unit_cost,
                now=now,
                actor_id=_actor_id(actor),
                reason=reason,
                source_type="purchase_receipt",
                source_id=str(receipt.public_id),
            )
        receipt.voided_at = now
        receipt.voided_by_id = _actor_id(actor)
        receipt.void_reason = reason
        receipt.save(update_fields=["voided_at", "voided_by", "void_reason"])
        audit.audit_record(
            action="purchase_receipt.voided",
            obj=receipt,
            changes={"voided": [False, True], "reason": [None, reason]},
            actor=actor,
        )
        publish(
            events.PURCHASE_RECEIPT_VOIDED,
            {
                "purchase_receipt": receipt.public_id,
                "number": receipt.number,
                "reason": reason,
            },
        )
    return receipt


# Low stock


def low_stock_notices_create(*, event: OutboxEvent) -> list[LowStockNotice]:
    """Queue an email about a `stock.ran_low` event for every warehouse member of its company.

    Idempotent: a redelivered event finds its notices already made and queues nothing new.
    The emails go after the commit (`pasar.inventory.tasks.send_low_stock_notices`).
    """
    if event.company_id is None:
        raise ValueError("stock.ran_low is a company's event")
    with tenant_context(event.company_id):
        recipients = list(
            Membership.objects.filter(role=Role.WAREHOUSE, user__is_active=True).values_list(
                "user_id", flat=True
            )
        )
        LowStockNotice.objects.bulk_create(
            [
                LowStockNotice(
                    company_id=event.company_id, event_id=event.public_id, recipient_id=user
                )
                for user in recipients
            ],
            ignore_conflicts=True,
        )
        fresh = list(
            LowStockNotice.objects.filter(
                event_id=event.public_id, recipient_id__in=recipients, sent_at__isnull=True
            )
        )
        if fresh:
            company_id, event_id = event.company_id, str(event.public_id)
            transaction.on_commit(
                lambda: _queue_low_stock_emails(company_id, event_id), robust=True
            )
    return fresh


def _queue_low_stock_emails(company_id: int, event_id: str) -> None:
    from pasar.inventory.tasks import send_low_stock_notices  # the task module imports this one

    send_low_stock_notices.delay(company_id, event_id)


def low_stock_notices_send(*, company_id: int, event_id: str, clock: Clock = timezone.now) -> int:
    """Email each unsent notice of one `stock.ran_low` event; returns how many went out.

    Each notice is taken (marked sent, its row locked only for that) in a transaction of its
    own, and mailed after that commits: never while a lock is held. A send that fails gives
    the notice back and raises, so the task's retry sends only what had not gone. (A process
    that dies between the two loses that one notice: a reminder, not a record.)
    """
    with tenant_context(company_id):
        event = OutboxEvent.objects.get(public_id=event_id)
        pending = list(
            LowStockNotice.objects.filter(event_id=event_id, sent_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
    payload = event.payload
    context = {
        name: payload.get(name)
        for name in ("sku", "location_name", "on_hand", "reorder_point", "reorder_quantity")
    }
    sent = 0
    for pk in pending:
        with tenant_context(company_id):
            notice = (
                LowStockNotice.objects.select_for_update(skip_locked=True)
                .select_related("recipient")
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if notice is None:
                continue
            notice.sent_at = clock()
            notice.save(update_fields=["sent_at"])
        try:
            send_templated_mail(
                to=notice.recipient.email, template="inventory/mail/low_stock", context=context
            )
        except Exception:
            with tenant_context(company_id):
                LowStockNotice.objects.filter(pk=pk).update(sent_at=None)
            raise
        sent += 1
    return sent
