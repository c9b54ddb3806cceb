"""Purchase receipts: goods from a supplier at their unit cost, and voiding one.

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from django.db.models import Sum
from django.utils import timezone

from pasar.core import audit
from pasar.core.errors import DomainError
from pasar.core.events import publish
from pasar.core.numbering import next_number
from pasar.core.tenant import (
    tenant_context,
)
from pasar.inventory import events
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory.errors import InsufficientStock, InvalidStockRequest
from pasar.inventory.models import (
    RECEIPT_PREFIX,
    Location,
    MovementKind,
    PurchaseReceipt,
    PurchaseReceiptLine,
    StockLevel,
    VariantCost,
)
from pasar.inventory.services.documents import (
    _clean_sku,
    _invalid,
    _lock_levels_at,
)
from pasar.inventory.services.levels import (
    Clock,
    _actor_id,
    _add_units,
    _checked_unit_cost,
    _ensure_owned,
    _positive_quantity,
    _record_movement,
    _round_cost,
    _save_levels,
    weighted_average_cost,
)
from pasar.tenancy.models import Company, User


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
        variants = inventory_selectors.variants_by_sku(
            company=company, skus=(sku for sku, _, _ in cleaned)
        )
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
        levels = _lock_levels_at(company, receipt.location, variants.values(), taking_at=now)
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
