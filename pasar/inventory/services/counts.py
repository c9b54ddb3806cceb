"""Stock counts: a sheet per location, counted lines, posted as corrections.

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.utils import timezone

from pasar.catalog.models import Variant
from pasar.core import audit
from pasar.core.events import publish
from pasar.core.numbering import next_number
from pasar.core.tenant import (
    tenant_context,
)
from pasar.inventory import events
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory.errors import InsufficientStock, InvalidStockRequest
from pasar.inventory.models import (
    COUNT_PREFIX,
    Location,
    MovementKind,
    StockCount,
    StockCountLine,
    StockCountStatus,
    StockLevel,
)
from pasar.inventory.services.documents import (
    StockCountClosed,
    _clean_sku,
    _invalid,
    _lock_levels_at,
    _set_status,
)
from pasar.inventory.services.levels import (
    Clock,
    _actor_id,
    _average_costs,
    _ensure_owned,
    _record_movement,
    _save_levels,
    _within_limit,
)
from pasar.tenancy.models import Company, User


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
            variants = sorted(
                inventory_selectors.variants_by_sku(company=company, skus=wanted).values(),
                key=lambda v: v.sku,
            )
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
        levels = _lock_levels_at(
            locked.company, locked.location, [line.variant for line in lines], taking_at=now
        )
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
