"""Reads about stock: locations, levels and what each channel may sell, movements, drift."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connection
from django.db.models import (
    F,
    Func,
    IntegerField,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone

from pasar.catalog.models import Variant
from pasar.core.db import rows
from pasar.core.errors import NotFound
from pasar.core.tenant import is_public_id, tenant_context
from pasar.inventory.errors import UnknownSku
from pasar.inventory.models import (
    LOW_STOCK,
    AllocationState,
    Channel,
    Location,
    PurchaseReceipt,
    Reservation,
    ReservationAllocation,
    ReservationStatus,
    StockCount,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from pasar.tenancy.models import Company


def location_list(*, company: Company, active_only: bool = True) -> QuerySet[Location]:
    """A company's locations, in the order stock is drawn from them (needs its tenant context)."""
    locations = Location.objects.filter(company=company)
    return locations.filter(is_active=True) if active_only else locations


def _expired_holds(at: datetime) -> Func:
    """Units a level's expired pending reservations still hold: they no longer count."""
    held = (
        ReservationAllocation.objects.filter(
            level=OuterRef("pk"),
            state=AllocationState.OPEN,
            reservation__status=ReservationStatus.PENDING,
            reservation__expires_at__lte=at,
        )
        .order_by()
        .values("level")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def _available_now(at: datetime | None) -> CombinedExpression:
    return F("on_hand") - F("reserved") + _expired_holds(at or timezone.now())


def stock_levels(
    *,
    company: Company,
    variant: Variant | None = None,
    location: Location | None = None,
    at: datetime | None = None,
) -> QuerySet[StockLevel]:
    """Levels with `available_now`: on hand less the units promised to live reservations.

    Needs the company's tenant context. Expired holds not yet swept are not subtracted.
    """
    levels = StockLevel.objects.filter(company=company).select_related("location", "variant")
    if variant is not None:
        levels = levels.filter(variant=variant)
    if location is not None:
        levels = levels.filter(location=location)
    return levels.annotate(available_now=_available_now(at)).order_by(
        "variant_id", "location__allocation_priority", "location__name"
    )


# Read for every cart and product page: as written, it costs a fraction of building it with the
# ORM. The units a level holds for expired pending reservations count as available, as in
# `_expired_holds`; a variant's buffer on the channel replaces the channel's default.
# A level's units plus those of its holds that expired unswept: an open allocation past its
# `holds_until` (its pending reservation's expiry; NULL once paid). Such holds are looked for
# only on a level whose `next_expiry` has passed (never later than its first hold's end).
CHANNEL_SELLABLE_SQL = """
SELECT wanted.id,
       coalesce((
           SELECT sum(level.on_hand - level.reserved + CASE
               WHEN level.next_expiry <= %(at)s THEN coalesce((
                   SELECT sum(held.quantity)::bigint
                   FROM inventory_reservationallocation AS held
                   WHERE held.level_id = level.id AND held.state = %(open)s
                     AND held.holds_until <= %(at)s), 0)
               ELSE 0 END)
           FROM inventory_stocklevel AS level
           JOIN inventory_location AS location ON location.id = level.location_id
           WHERE level.company_id = %(company)s AND level.variant_id = wanted.id
             AND location.is_active)::bigint, 0),
       buffer.units
FROM unnest(%(variants)s::bigint[]) AS wanted(id)
LEFT JOIN inventory_channelbuffer AS buffer
  ON buffer.company_id = %(company)s AND buffer.channel_id = %(channel)s
 AND buffer.variant_id = wanted.id
"""


def channel_sellable(
    *,
    company: Company,
    channel: Channel,
    variants: Iterable[Variant],
    at: datetime | None = None,
) -> dict[int, int]:
    """What a channel may still sell of each variant, by variant id: the units available at
    active locations less the channel's buffer, never below zero. One statement."""
    variant_ids = list(dict.fromkeys(variant.pk for variant in variants))
    if not variant_ids:
        return {}
    params: dict[str, Any] = {
        "company": company.pk,
        "channel": channel.pk,
        "variants": variant_ids,
        "open": AllocationState.OPEN,
        "at": at or timezone.now(),
    }
    with tenant_context(company), connection.cursor() as cursor:
        cursor.execute(CHANNEL_SELLABLE_SQL, params)
        found = cursor.fetchall()
    return {
        variant_id: max(0, units - (channel.buffer_units if buffer is None else buffer))
        for variant_id, units, buffer in found
    }


def movement_history(
    *, company: Company, variant: Variant, location: Location | None = None
) -> QuerySet[StockMovement]:
    """A variant's movements, newest first (needs the company's tenant context)."""
    movements = StockMovement.objects.filter(company=company, variant=variant)
    if location is not None:
        movements = movements.filter(location=location)
    return movements.select_related("location", "actor").order_by("-created_at", "-id")


def reservation_get(*, company: Company, public_id: uuid.UUID | str) -> Reservation:
    """One reservation with its allocations (needs the company's tenant context)."""
    try:
        return (
            Reservation.objects.select_related("channel")
            .prefetch_related("allocations__level__location", "allocations__level__variant")
            .get(company=company, public_id=public_id)
        )
    except (Reservation.DoesNotExist, ValidationError) as error:
        raise NotFound("That reservation was not found.", code="reservation_not_found") from error


@dataclass(frozen=True)
class LevelDrift:
    """A stock level that disagrees with its movements or its open reservation allocations."""

    sku: str
    location: str
    on_hand: int
    movements_total: int
    reserved: int
    allocations_total: int


def stock_drift(*, company: Company) -> list[LevelDrift]:
    """Every level whose on hand is not the sum of its movements, or whose reserved is not the
    sum of its open allocations. Movements without a level count as drift too."""
    with tenant_context(company):
        moved = {
            (row["variant_id"], row["location_id"]): row["total"]
            for row in StockMovement.objects.filter(company=company)
            .order_by()
            .values("variant_id", "location_id")
            .annotate(total=Sum("quantity"))
        }
        allocated = dict(
            ReservationAllocation.objects.filter(company=company, state=AllocationState.OPEN)
            .order_by()
            .values("level_id")
            .annotate(total=Sum("quantity"))
            .values_list("level_id", "total")
        )
        levels = {
            (level.variant_id, level.location_id): level
            for level in StockLevel.objects.filter(company=company).select_related(
                "variant", "location"
            )
        }
        drift = []
        for key in sorted(set(moved) | set(levels)):
            level = levels.get(key)
            movements_total = moved.get(key, 0)
            if level is None:
                variant = Variant.objects.get(pk=key[0])
                location = Location.objects.get(pk=key[1])
                drift.append(LevelDrift(variant.sku, location.name, 0, movements_total, 0, 0))
                continue
            allocations_total = allocated.get(level.pk, 0)
            if level.on_hand != movements_total or level.reserved != allocations_total:
                drift.append(
                    LevelDrift(
                        level.variant.sku,
                        level.location.name,
                        level.on_hand,
                        movements_total,
                        level.reserved,
                        allocations_total,
                    )
                )
    return drift


# --- Operations: low stock, transfers, counts, purchase receipts ---


def low_stock_list(*, company: Company, at: datetime | None = None) -> QuerySet[StockLevel]:
    """Levels at or below their reorder point at open locations, for the reorder list.

    A reorder point of 0 means none is set. Needs the company's tenant context.
    """
    return (
        StockLevel.objects.filter(LOW_STOCK, company=company, location__is_active=True)
        .select_related("location", "variant__product")
        .annotate(available_now=_available_now(at))
        .order_by("location__allocation_priority", "location__name", "variant__sku")
    )


def stock_level_list(
    *,
    company: Company,
    location: Location | None = None,
    sku: str = "",
    low_only: bool = False,
    at: datetime | None = None,
) -> QuerySet[StockLevel]:
    """Levels for the stock list, filtered by location, SKU (exact) or low stock only."""
    levels = (
        low_stock_list(company=company, at=at)
        if low_only
        else stock_levels(company=company, location=location, at=at).select_related(
            "variant__product"
        )
    )
    if location is not None:
        levels = levels.filter(location=location)
    if sku:
        levels = levels.filter(variant__sku=sku)
    return levels.order_by("variant__sku", "location__allocation_priority", "location__name")


def _by_public_id[M: Model](queryset: QuerySet[M], public_id: uuid.UUID | str, what: str) -> M:
    try:
        return queryset.get(public_id=public_id)
    except (ObjectDoesNotExist, ValidationError) as error:
        raise NotFound(
            f"That {what} was not found.", code=f"{what.replace(' ', '_')}_not_found"
        ) from error


def transfer_list(*, company: Company, status: str | None = None) -> QuerySet[Transfer]:
    """A company's transfers, newest first (needs its tenant context)."""
    transfers = Transfer.objects.filter(company=company).select_related(
        "source", "destination", "created_by"
    )
    if status:
        transfers = transfers.filter(status=status)
    return transfers.prefetch_related("lines__variant")


def transfer_get(*, company: Company, public_id: uuid.UUID | str) -> Transfer:
    return _by_public_id(transfer_list(company=company), public_id, "transfer")


IN_TRANSIT = (TransferStatus.IN_TRANSIT, TransferStatus.PARTIALLY_RECEIVED)


def transfers_in_transit(*, company: Company) -> QuerySet[Transfer]:
    """Transfers dispatched and not yet received in full: their outstanding units are on the
    road, counted at no location (see docs/inventory.md). Needs the company's tenant context."""
    return transfer_list(company=company).filter(status__in=IN_TRANSIT)


def units_in_transit(
    *, company: Company, variants: Iterable[Variant] | None = None
) -> dict[int, int]:
    """Units sent and not yet received, by variant id (needs the company's tenant context)."""
    lines = TransferLine.objects.filter(company=company, transfer__status__in=IN_TRANSIT)
    if variants is not None:
        lines = lines.filter(variant__in=list(variants))
    return dict(
        lines.order_by()
        .values("variant_id")
        .annotate(units=Sum(F("quantity") - F("received")))
        .values_list("variant_id", "units")
    )


def stock_count_list(*, company: Company, status: str | None = None) -> QuerySet[StockCount]:
    """A company's count sheets, newest first (needs its tenant context)."""
    counts = StockCount.objects.filter(company=company).select_related("location", "started_by")
    if status:
        counts = counts.filter(status=status)
    return counts.prefetch_related("lines__variant")


def stock_count_get(*, company: Company, public_id: uuid.UUID | str) -> StockCount:
    return _by_public_id(stock_count_list(company=company), public_id, "stock count")


def purchase_receipt_list(*, company: Company) -> QuerySet[PurchaseReceipt]:
    """A company's goods receipts, newest first (needs its tenant context)."""
    return (
        PurchaseReceipt.objects.filter(company=company)
        .select_related("location", "received_by", "voided_by")
        .prefetch_related("lines__variant")
    )


def purchase_receipt_get(*, company: Company, public_id: uuid.UUID | str) -> PurchaseReceipt:
    return _by_public_id(purchase_receipt_list(company=company), public_id, "purchase receipt")


def location_get(*, company: Company, public_id: uuid.UUID | str) -> Location:
    return _by_public_id(location_list(company=company, active_only=False), public_id, "location")


_CHANNEL_FIELDS, _CHANNEL_COLUMNS = rows.columns(Channel, "channel")
# Read on every reservation: as written, it costs a fraction of the ORM's query building.
CHANNEL_BY_KIND_SQL = (
    f"SELECT {_CHANNEL_COLUMNS} FROM inventory_channel AS channel"  # noqa: S608
    " WHERE channel.company_id = %s AND channel.kind = %s"
)


def channel_by_kind(*, company: Company, kind: str) -> Channel | None:
    with connection.cursor() as cursor:
        cursor.execute(CHANNEL_BY_KIND_SQL, [company.pk, kind])
        row = cursor.fetchone()
    return None if row is None else rows.loaded(Channel, _CHANNEL_FIELDS, row)


def movement_get(*, company: Company, pk: int) -> StockMovement:
    """One movement with what the API shows of it (variant, location, actor)."""
    return StockMovement.objects.select_related("variant", "location", "actor").get(
        company=company, pk=pk
    )


def channel_list(*, company: Company) -> QuerySet[Channel]:
    """A company's sales channels (needs its tenant context)."""
    return Channel.objects.filter(company=company)


def variant_by_sku(*, company: Company, sku: str) -> Variant:
    """The company's variant with this SKU; UnknownSku (400) when there is none."""
    variant = Variant.objects.filter(company=company, sku=sku.strip()).first()
    if variant is None:
        raise UnknownSku(
            f"No product has the SKU {sku}.", details=[{"sku": sku, "code": "unknown_sku"}]
        )
    return variant


def variants_by_sku(*, company: Company, skus: Iterable[str]) -> dict[str, Variant]:
    """The company's variants with these SKUs (needs its tenant context); UnknownSku (400)
    names every one that is missing."""
    wanted = set(skus)
    variants = {v.sku: v for v in Variant.objects.filter(company=company, sku__in=wanted)}
    unknown = sorted(wanted - set(variants))
    if unknown:
        raise UnknownSku(
            "No product has the SKU " + ", ".join(unknown) + ".",
            details=[{"sku": sku, "code": "unknown_sku"} for sku in unknown],
        )
    return variants


# The stock documents a movement can come from, by the movement's source_type.
SOURCE_DOCUMENTS: dict[str, type[PurchaseReceipt] | type[Transfer] | type[StockCount]] = {
    "purchase_receipt": PurchaseReceipt,
    "transfer": Transfer,
    "stock_count": StockCount,
}


def movement_source_numbers(
    *, company: Company, movements: Iterable[StockMovement]
) -> dict[tuple[str, str], str]:
    """The document number (GRN-000001, TR-000002, SC-000003) behind each movement that came
    from a stock document, keyed by (source_type, source_id): one query per kind of document."""
    wanted: dict[str, set[str]] = {}
    for movement in movements:
        if movement.source_type in SOURCE_DOCUMENTS and movement.source_id:
            wanted.setdefault(movement.source_type, set()).add(movement.source_id)
    numbers: dict[tuple[str, str], str] = {}
    for source_type, ids in wanted.items():
        model = SOURCE_DOCUMENTS[source_type]
        valid = [value for value in ids if is_public_id(value)]
        for public_id, number in model.objects.filter(
            company=company, public_id__in=valid
        ).values_list("public_id", "number"):
            numbers[(source_type, str(public_id))] = number
    return numbers


def reservation_holdings(
    *, company: Company, reservation: Reservation
) -> dict[int, dict[int, int]]:
    """What a reservation still holds, by location id, then variant id: where its units wait
    to be picked (in the company's tenant context)."""
    held: dict[int, dict[int, int]] = {}
    with tenant_context(company):
        found = ReservationAllocation.objects.filter(
            reservation=reservation, state=AllocationState.OPEN
        ).values_list("level__location_id", "level__variant_id", "quantity")
        for location_id, variant_id, quantity in found:
            at = held.setdefault(location_id, {})
            at[variant_id] = at.get(variant_id, 0) + quantity
    return held
