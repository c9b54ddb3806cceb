"""Transfers between locations: created, dispatched (stock leaves), received (it arrives).

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pasar.core import audit
from pasar.core.errors import Conflict
from pasar.core.events import publish
from pasar.core.numbering import next_number
from pasar.core.tenant import (
    tenant_context,
)
from pasar.inventory import events
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory.errors import InsufficientStock, InvalidStockRequest
from pasar.inventory.models import (
    TRANSFER_PREFIX,
    Location,
    MovementKind,
    Transfer,
    TransferLine,
    TransferStatus,
)
from pasar.inventory.services.documents import (
    TransferClosed,
    _clean_sku,
    _document_lines,
    _invalid,
    _lock_levels_at,
    _set_status,
)
from pasar.inventory.services.levels import (
    Clock,
    _actor_id,
    _add_units,
    _average_costs,
    _ensure_owned,
    _record_movement,
    _save_levels,
    _within_limit,
)
from pasar.tenancy.models import Company, User


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
        variants = inventory_selectors.variants_by_sku(company=company, skus=quantities)
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
        levels = _lock_levels_at(
            locked.company, locked.source, [line.variant for line in lines], taking_at=now
        )
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
