"""Returns: requested -> approved (or rejected) -> received (each unit back to stock or
written off) -> refunded through the order's payment."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from pasar.core import numbering
from pasar.core.audit import audit_record
from pasar.core.errors import DomainError, NotFound
from pasar.core.money import CENT, parse_money
from pasar.core.tenant import tenant_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import Location
from pasar.sales.models import (
    RETURN_PREFIX,
    RETURNABLE_STATUSES,
    Disposition,
    Order,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from pasar.sales.services.orders import Clock, OrderActionRefused, history, order_refund
from pasar.tenancy.models import Company, User


class InvalidReturn(DomainError):
    code = "invalid_return"


def _locked(return_request: ReturnRequest) -> ReturnRequest:
    found = (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("order", "order__company")
        .filter(pk=return_request.pk)
        .first()
    )
    if found is None:
        raise NotFound("That return was not found.", code="return_not_found")
    return found


def _expect(found: ReturnRequest, *statuses: str) -> None:
    if found.status not in statuses:
        raise OrderActionRefused(
            f"A return that is {found.get_status_display().lower()} cannot do that."
        )


def return_request(
    *,
    company: Company,
    order: Order,
    quantities: Mapping[int, int],
    reason: str,
    actor: User | None = None,
    clock: Clock = timezone.now,
) -> ReturnRequest:
    """Ask to return shipped units (by order line id), with the reason."""
    reason = " ".join((reason or "").split())[:300]
    if not reason:
        raise InvalidReturn("Say why the items are coming back.", code="reason_required")
    now = clock()
    with tenant_context(company, user=actor):
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if locked.status not in RETURNABLE_STATUSES:
            raise OrderActionRefused("Only shipped orders can be returned.")
        lines = {line.pk: line for line in locked.lines.all()}
        pending = {
            (line.order_line_id): line.quantity
            for line in ReturnLine.objects.filter(
                return_request__order=locked,
                return_request__status__in=[ReturnStatus.REQUESTED, ReturnStatus.APPROVED],
            )
        }
        wanted = {pk: units for pk, units in quantities.items() if units}
        if not wanted:
            raise InvalidReturn("Choose what is coming back.", code="invalid_quantity")
        for pk, units in wanted.items():
            line = lines.get(pk)
            open_units = line.quantity_shipped - line.quantity_returned if line else 0
            if line is None or not 0 < units <= open_units - pending.get(pk, 0):
                raise InvalidReturn(
                    "Return at most what was shipped and not yet returned.",
                    code="invalid_quantity",
                )
        found = ReturnRequest.objects.create(
            company=company,
            order=locked,
            number=numbering.next_number(company=company, prefix=RETURN_PREFIX),
            reason=reason,
            refund_amount=_refund_due(lines, wanted),
            requested_at=now,
        )
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(company=company, return_request=found, order_line_id=pk, quantity=units)
                for pk, units in wanted.items()
            ]
        )
        history(locked, "return_requested", note=f"{found.number}: {reason}", actor=actor, now=now)
        if actor is not None:
            audit_record(action="return.requested", obj=found, actor=actor)
    return found


def _refund_due(lines: Mapping[int, Any], wanted: Mapping[int, int]) -> Decimal:
    """What the returned units were paid: each line's net price per unit, to the cent,
    the last unit of a line taking what is left so a full return refunds the line exactly."""
    due = Decimal(0)
    for pk, units in wanted.items():
        line = lines[pk]
        if units + line.quantity_returned == line.quantity:
            due += line.net - _share(line.net, line.quantity_returned, line.quantity)
        else:
            due += _share(line.net, units, line.quantity)
    return due


def _share(net: Decimal, units: int, of: int) -> Decimal:
    """`units` of `of`'s share of a line's net price, to the cent."""
    return (net * units / of).quantize(CENT, rounding=ROUND_HALF_UP)


def return_approve(
    *,
    company: Company,
    return_request: ReturnRequest,
    location: Location,
    actor: User | None,
    clock: Clock = timezone.now,
) -> ReturnRequest:
    """Accept the return; the units are to come back to `location`."""
    with tenant_context(company, user=actor):
        found = _locked(return_request)
        _expect(found, ReturnStatus.REQUESTED)
        found.status = ReturnStatus.APPROVED
        found.location = location
        found.decided_at = clock()
        found.save(update_fields=["status", "location", "decided_at"])
        history(found.order, "return_approved", note=found.number, actor=actor)
        audit_record(action="return.approved", obj=found, actor=actor)
    return found


def return_reject(
    *,
    company: Company,
    return_request: ReturnRequest,
    reason: str,
    actor: User | None,
    clock: Clock = timezone.now,
) -> ReturnRequest:
    with tenant_context(company, user=actor):
        found = _locked(return_request)
        _expect(found, ReturnStatus.REQUESTED)
        found.status = ReturnStatus.REJECTED
        found.decided_at = clock()
        found.save(update_fields=["status", "decided_at"])
        note = f"{found.number}: {' '.join((reason or '').split())[:200]}"
        history(found.order, "return_rejected", note=note, actor=actor)
        audit_record(action="return.rejected", obj=found, actor=actor)
    return found


def return_receive(
    *,
    company: Company,
    return_request: ReturnRequest,
    dispositions: Mapping[int, str],
    actor: User | None,
    clock: Clock = timezone.now,
) -> ReturnRequest:
    """The parcel came back: each line's units go back to stock or are written off (by
    return line id; restock when not said)."""
    now = clock()
    with tenant_context(company, user=actor):
        found = _locked(return_request)
        _expect(found, ReturnStatus.APPROVED)
        assert found.location is not None
        for line in found.lines.select_related("order_line__variant"):
            disposition = dispositions.get(line.pk, Disposition.RESTOCK)
            if disposition not in Disposition.values:
                raise InvalidReturn("Choose restock or write_off for each line.")
            line.disposition = disposition
            line.save(update_fields=["disposition"])
            if disposition == Disposition.RESTOCK:
                inventory_services.stock_return(
                    company=company,
                    variant=line.order_line.variant,
                    location=found.location,
                    quantity=line.quantity,
                    source_type="return",
                    source_id=found.number,
                    actor=actor,
                    clock=lambda: now,
                )
            order_line = line.order_line
            order_line.quantity_returned += line.quantity
            order_line.save(update_fields=["quantity_returned"])
        found.status = ReturnStatus.RECEIVED
        found.received_at = now
        found.save(update_fields=["status", "received_at"])
        history(found.order, "return_received", note=found.number, actor=actor, now=now)
        audit_record(action="return.received", obj=found, actor=actor)
    return found


def return_refund(
    *,
    company: Company,
    return_request: ReturnRequest,
    actor: User | None,
    amount: Any = None,
    clock: Clock = timezone.now,
) -> ReturnRequest:
    """Pay the return back (its due amount unless staff say otherwise). The gateway is called
    after the return is read, outside any transaction; its key is derived from the return, so
    a retry never pays twice. The order's refunded total follows from payment.refunded."""
    with tenant_context(company):
        found = ReturnRequest.objects.select_related("order", "order__company").get(
            pk=return_request.pk
        )
    _expect(found, ReturnStatus.RECEIVED)
    money = found.refund_amount if amount in (None, "") else parse_money(amount)
    if money <= 0 or money > found.order.total - found.order.refunded:
        raise InvalidReturn("Refund more than zero and no more than is left of the order.")
    refund = order_refund(
        company=company,
        order=found.order,
        amount=money,
        reason=f"Return {found.number}",
        actor=actor,
        purpose=found.number,
        clock=clock,
    )
    with tenant_context(company, user=actor):
        found = _locked(found)
        found.status = ReturnStatus.REFUNDED
        found.refund_amount = money
        found.refund_id = refund.public_id
        found.refunded_at = clock()
        found.save(update_fields=["status", "refund_amount", "refund_id", "refunded_at"])
        history(found.order, "return_refunded", note=f"{found.number}: S${money:,.2f}", actor=actor)
        audit_record(action="return.refunded", obj=found, actor=actor)
    return found
