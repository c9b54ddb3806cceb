"""Reservations: units held for a buyer until paid, shipped, given back or expired; the
flash sale's path (docs/inventory.md, "A reservation's locked section is short").

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from pasar.catalog.models import Product, ProductStatus, Variant, VariantStatus
from pasar.core.db import rows
from pasar.core.errors import Conflict, NotFound
from pasar.core.events import publish, withdraw
from pasar.core.tenant import (
    bypass_active,
    current_company_id,
    current_user_id,
    system_access,
    tenant_context,
)
from pasar.inventory import events
from pasar.inventory.errors import (
    InsufficientStock,
    InvalidStockRequest,
    ReservationClosed,
    ReservationExpired,
    UnknownSku,
)
from pasar.inventory.models import (
    AllocationState,
    Channel,
    Location,
    MovementKind,
    Reservation,
    ReservationAllocation,
    ReservationStatus,
    StockLevel,
)
from pasar.inventory.services.levels import (
    MAX_RESERVATION_TTL,
    Clock,
    ReserveLine,
    _actor_id,
    _average_costs,
    _ensure_owned,
    _lock_levels,
    _positive_quantity,
    _reclaim_expired,
    _record_movement,
    _save_levels,
)
from pasar.tenancy.models import Company, User


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
    with _acting_for(company):
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


def _acting_for(company: Company) -> AbstractContextManager[None]:
    """The company's tenant context: its own transaction, or, inside a transaction that
    already acts for this company (an API request: the tenant middleware set it), nothing
    more. Entering the same context again would cost two round trips, and a savepoint two more,
    one of them while the level locks are held; a reservation writes only once it cannot fail,
    so it needs neither."""
    if connection.in_atomic_block and current_company_id() == company.pk and not bypass_active():
        return nullcontext()
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
    # Refusals are raised once the block is closed: a caller that takes them and goes on (an
    # order paid too late) may do so inside an all-or-nothing block (see tenant_context).
    refusal: ReservationClosed | ReservationExpired | None = None
    with tenant_context(company, user=current_user_id()):
        locked = _locked_reservation(reservation)
        if locked.status in (ReservationStatus.COMMITTED, ReservationStatus.FULFILLED):
            return locked
        if locked.status == ReservationStatus.RELEASED:
            refusal = ReservationClosed("This reservation was cancelled and cannot be paid for.")
        elif locked.status == ReservationStatus.EXPIRED:
            refusal = _expired()
        else:
            refusal = _commit(locked, clock())
    if refusal is not None:
        raise refusal
    return locked


def _commit(locked: Reservation, now: datetime) -> ReservationExpired | None:
    """Commit a locked open reservation; ReservationExpired when its units went elsewhere
    after it expired (it is then marked expired and its other holds freed)."""
    levels, allocations = _lock_allocations(locked)
    if any(allocation.state != AllocationState.OPEN for allocation in allocations):
        # Some of its units went to another reservation after it expired.
        _end(locked, levels, allocations, ReservationStatus.EXPIRED, now)
        return _expired()
    # Paid: its holds no longer expire, so no reclaim may take them.
    ReservationAllocation.objects.filter(pk__in=[a.pk for a in allocations]).update(
        holds_until=None
    )
    locked.status = ReservationStatus.COMMITTED
    locked.committed_at = now
    locked.save(update_fields=["status", "committed_at"])
    publish(events.RESERVATION_COMMITTED, _reservation_payload(locked))
    return None


def _end(
    locked: Reservation,
    levels: dict[int, StockLevel],
    allocations: list[ReservationAllocation],
    status: str,
    now: datetime,
) -> None:
    """Free what a locked reservation still holds and mark it ended (released or expired)."""
    _release_allocations(levels, allocations)
    _save_levels(levels.values(), now)
    locked.status = status
    locked.released_at = now
    locked.save(update_fields=["status", "released_at"])
    topic = (
        events.RESERVATION_RELEASED
        if status == ReservationStatus.RELEASED
        else events.RESERVATION_EXPIRED
    )
    publish(topic, _reservation_payload(locked))


def _expired() -> ReservationExpired:
    return ReservationExpired(
        "This reservation expired and its stock has gone to another order. Reserve again."
    )


def stock_fulfil(
    *,
    company: Company,
    reservation: Reservation,
    actor: User | None = None,
    location: Location | None = None,
    quantities: Mapping[int, int] | None = None,
    source: tuple[str, str] | None = None,
    clock: Clock = timezone.now,
) -> Reservation:
    """Shipped: allocations become sale movements, taking the units off hand.

    With no `quantities`, everything still held ships. With them (units by variant id), only
    those units ship, from `location`'s holds, a hold larger than the part being split: a
    partial shipment. The reservation is fulfilled once nothing of it is held any more.
    `source` names the document the movements come from (default: the reservation).
    """
    _ensure_owned(reservation, company, "reservation")
    with tenant_context(company, user=current_user_id()):
        locked = _locked_reservation(reservation)
        if locked.status == ReservationStatus.FULFILLED and quantities is None:
            return locked
        if locked.status != ReservationStatus.COMMITTED:
            raise ReservationClosed(
                "Only a paid (committed) reservation can be shipped; this one is "
                f"{locked.get_status_display().lower()}."
            )
        now = clock()
        levels, allocations = _lock_allocations(locked)
        open_allocations = [a for a in allocations if a.state == AllocationState.OPEN]
        shipping = (
            open_allocations
            if quantities is None
            else _split_for_shipment(levels, open_allocations, location, quantities)
        )
        costs = _average_costs(level.variant_id for level in levels.values())
        for allocation in shipping:
            level = levels[allocation.level_id]
            level.on_hand -= allocation.quantity
            level.reserved -= allocation.quantity
        _save_levels(levels.values(), now)
        source_type, source_id = source or ("reservation", str(locked.public_id))
        for allocation in shipping:
            level = levels[allocation.level_id]
            _record_movement(
                level=level,
                kind=MovementKind.SALE,
                quantity=-allocation.quantity,
                unit_cost=costs.get(level.variant_id, Decimal(0)),
                now=now,
                actor_id=_actor_id(actor),
                source_type=source_type,
                source_id=source_id,
            )
        ReservationAllocation.objects.filter(pk__in=[a.pk for a in shipping]).update(
            state=AllocationState.FULFILLED
        )
        shipped = {allocation.pk for allocation in shipping}
        if all(allocation.pk in shipped for allocation in open_allocations):
            locked.status = ReservationStatus.FULFILLED
            locked.fulfilled_at = now
            locked.save(update_fields=["status", "fulfilled_at"])
            publish(events.RESERVATION_FULFILLED, _reservation_payload(locked))
    return locked


def _split_for_shipment(
    levels: Mapping[int, StockLevel],
    open_allocations: list[ReservationAllocation],
    location: Location | None,
    quantities: Mapping[int, int],
) -> list[ReservationAllocation]:
    """The open holds that ship `quantities` (by variant) from `location`: whole holds, and
    the shipped part of a larger one split off it (the rest stays held)."""
    if location is None:
        raise InvalidStockRequest("Name the location a partial shipment leaves from.")
    shipping: list[ReservationAllocation] = []
    for variant_id, wanted in quantities.items():
        if wanted < 1:
            raise InvalidStockRequest("Each shipped quantity is a whole number above zero.")
        left = wanted
        for allocation in open_allocations:
            level = levels[allocation.level_id]
            if left == 0 or level.variant_id != variant_id or level.location_id != location.pk:
                continue
            if allocation.quantity <= left:
                shipping.append(allocation)
                left -= allocation.quantity
                continue
            allocation.quantity -= left
            allocation.save(update_fields=["quantity"])
            shipping.append(
                ReservationAllocation.objects.create(
                    company_id=allocation.company_id,
                    reservation_id=allocation.reservation_id,
                    level_id=allocation.level_id,
                    quantity=left,
                    state=AllocationState.OPEN,
                    holds_until=allocation.holds_until,
                )
            )
            left = 0
        if left:
            raise InsufficientStock(
                f"{location} holds {wanted - left} of these units for this order, not {wanted}.",
                code="not_held_here",
            )
    return shipping


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
        _end(locked, levels, allocations, ReservationStatus.RELEASED, now)
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
            _end(reservation, levels, allocations, ReservationStatus.EXPIRED, now)
        released += 1
    return released
