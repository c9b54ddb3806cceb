"""Stock levels and movements: receiving, returns, adjustments, moves between locations,
count corrections, reorder points, channels and their buffers, and the moving average
cost. Every change of stock is a movement row (docs/inventory.md).

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import Sum
from django.utils import timezone

from pasar.catalog.models import Variant
from pasar.core.errors import Conflict, NotFound
from pasar.core.events import publish
from pasar.core.money import COST_PLACES, MAX_UNIT_COST, AmountError, parse_money
from pasar.core.tenant import (
    current_user_id,
    tenant_context,
)
from pasar.inventory import events
from pasar.inventory.errors import (
    InsufficientStock,
    InvalidStockRequest,
    QuantityTooLarge,
)
from pasar.inventory.models import (
    MAX_UNITS,
    AllocationState,
    Channel,
    ChannelBuffer,
    ChannelKind,
    Location,
    MovementKind,
    StockLevel,
    StockMovement,
    VariantCost,
)
from pasar.tenancy.models import Company, User

Clock = Callable[[], datetime]

MAX_RESERVATION_TTL = timedelta(days=30)


@dataclass(frozen=True)
class ReserveLine:
    sku: str
    quantity: int


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


def _lock_level(
    company: Company, variant: Variant, location: Location
) -> tuple[dict[int, StockLevel], StockLevel]:
    """The level of a variant at a location, locked (made if missing): as a one-entry map for
    `_reclaim_expired` and `_save_levels`, and the level itself."""
    levels = _lock_levels(_levels_for(company, [(variant, location)]))
    return levels, next(iter(levels.values()))


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
            "moved_at": now,
        },
    )
    before = level.on_hand - quantity
    if level.is_low and before > level.reorder_point:
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
        _, level = _lock_level(company, variant, location)
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
        _, level = _lock_level(company, variant, location)
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
        levels, level = _lock_level(company, variant, location)
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
        levels, level = _lock_level(company, variant, location)
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
