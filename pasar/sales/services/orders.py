"""What happens to an order after it is placed: paid, cancelled, shipped, delivered, refunded.

The order learns about its payment only from the payments context's events (handlers.py):
each handler is idempotent per event, by the timeline entry it writes with the event's id.
Staff actions are audited and written to the same timeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from pasar.core import numbering
from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError, NotFound
from pasar.core.events import publish
from pasar.core.mail import mail_after_commit
from pasar.core.models import OutboxEvent
from pasar.core.money import parse_money
from pasar.core.singapore import SingaporeAddress
from pasar.core.tenant import tenant_context
from pasar.inventory import selectors as inventory_selectors
from pasar.inventory import services as inventory_services
from pasar.inventory.models import Location
from pasar.payments import selectors as payment_selectors
from pasar.payments import services as payment_services
from pasar.sales import events
from pasar.sales.models import (
    SHIPMENT_PREFIX,
    SHIPPABLE_STATUSES,
    IllegalTransition,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
)
from pasar.sales.services.carts import web_channel
from pasar.tenancy.models import Company, User

ZERO = Decimal(0)
Clock = Callable[[], datetime]


class OrderActionRefused(Conflict):
    code = "order_action_refused"


def history(
    order: Order,
    action: str,
    *,
    status_from: str = "",
    status_to: str = "",
    note: str = "",
    actor: User | None = None,
    event: OutboxEvent | None = None,
    now: datetime | None = None,
) -> OrderHistory:
    return OrderHistory.objects.create(
        company_id=order.company_id,
        order=order,
        action=action,
        status_from=status_from,
        status_to=status_to,
        note=note[:300],
        actor=actor,
        event_id=event.public_id if event else None,
        created_at=now or timezone.now(),
    )


def _state(order: Order) -> dict[str, Any]:
    return {
        "order": order.public_id,
        "number": order.number,
        "status": order.status,
        "total": order.total,
    }


def placed_payload(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    return {
        **_state(order),
        "customer": order.customer.public_id,
        "channel": order.channel,
        "prices_include_gst": order.prices_include_gst,
        "gst_rate": order.gst_rate,
        "subtotal": order.subtotal,
        "discount": order.discount,
        "shipping": order.shipping,
        "shipping_gst": order.shipping_gst,
        "gst": order.gst,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "tax_code": line.tax_code,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "gross": line.gross,
                "discount": line.line_discount + line.order_discount,
                "net": line.net,
                "gst": line.gst,
            }
            for line in lines
        ],
    }


ADDRESS_FIELDS = ("block", "street", "unit", "building", "postal_code")


def bill_to(order: Order) -> dict[str, Any]:
    """Who the order's invoice or receipt is made out to: the name and address it was
    delivered to (a pickup order: the name only)."""
    address = order.shipping_address or {}
    lines = (
        SingaporeAddress(**{field: str(address.get(field, "")) for field in ADDRESS_FIELDS}).lines()
        if address.get("postal_code")
        else []
    )
    return {"name": order.delivery_name, "email": order.email, "address": lines}


def _move(
    order: Order,
    status: str,
    action: str,
    *,
    now: datetime,
    note: str = "",
    actor: User | None = None,
    event: OutboxEvent | None = None,
) -> None:
    try:
        before = order.move_to(status)
    except IllegalTransition as error:
        raise OrderActionRefused(str(error)) from error
    order.updated_at = now
    history(
        order,
        action,
        status_from=before,
        status_to=status,
        note=note,
        actor=actor,
        event=event,
        now=now,
    )


def _mail(order: Order, template: str, **extra: Any) -> None:
    mail_after_commit(
        to=order.email,
        template=f"sales/mail/{template}",
        context={
            "number": order.number,
            "total": f"{order.total:,.2f}",
            "status": order.get_status_display(),
            "shop": order.company.legal_name,
            **extra,
        },
    )


def order_paid_in_full(
    order: Order, *, now: datetime, note: str = "", event: OutboxEvent | None = None
) -> None:
    """The order's money is in: it is paid and its stock hold becomes a commitment. A hold
    lost before the money came (it expired and the units went elsewhere) leaves the order
    paid with a stock problem for staff to solve: never shipped from stock it does not hold.
    In the caller's transaction, the order locked."""
    _move(order, OrderStatus.PAID, "paid", now=now, note=note, event=event)
    order.paid_at = now
    try:
        inventory_services.stock_commit(
            company=order.company, reservation=order.reservation, clock=lambda: now
        )
    except (inventory_services.ReservationExpired, inventory_services.ReservationClosed) as lost:
        order.stock_problem = (
            "Paid after its stock hold ran out and the units went to another order: "
            "reserve again or refund."
        )
        history(order, "stock_problem", note=lost.message, now=now, event=event)
    order.save(update_fields=["status", "paid_at", "stock_problem", "updated_at"])
    # Every figure again, with the time the money came: the books post the sale from it.
    paid = {
        **placed_payload(order, list(order.lines.all())),
        "paid_at": now,
        "bill_to": bill_to(order),
    }
    publish(events.ORDER_PAID, paid)
    _mail(order, "order_paid")


def _event_time(event: OutboxEvent, field: str) -> datetime:
    """When the payment event happened, as its payload says (its publisher's clock)."""
    stamp = event.payload.get(field)
    return datetime.fromisoformat(stamp) if stamp else timezone.now()


def _company_of(event: OutboxEvent) -> int:
    if event.company_id is None:
        raise ValueError(f"{event.topic} is a company's event")
    return event.company_id


def _order_for_event(event: OutboxEvent, action: str) -> Order | None:
    """The order an event about its payment names, locked; None when the payment is for
    something else or this event was handled already."""
    reference = str(event.payload.get("reference", ""))
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("company", "reservation", "customer")
        .filter(number=reference)
        .first()
    )
    if order is None or str(order.payment_id) != str(event.payload.get("payment")):
        return None
    if OrderHistory.objects.filter(order=order, event_id=event.public_id, action=action).exists():
        return None
    return order


def order_payment_captured(*, event: OutboxEvent) -> None:
    """payment.captured: the order is paid (handlers.py)."""
    with tenant_context(_company_of(event)):
        order = _order_for_event(event, "paid")
        if order is None:
            return
        now = _event_time(event, "captured_at")
        if order.status == OrderStatus.PENDING_PAYMENT:
            order_paid_in_full(order, now=now, event=event)
            return
        # Money for an order no longer waiting for it (cancelled by staff meanwhile): kept,
        # and flagged for a refund or a new reservation.
        order.stock_problem = "Paid after the order was cancelled: refund it or reserve again."
        order.updated_at = now
        order.save(update_fields=["stock_problem", "updated_at"])
        history(order, "paid", note="Payment arrived after cancellation.", event=event, now=now)


def order_payment_lapsed(*, event: OutboxEvent) -> None:
    """payment.expired or payment.cancelled: an unpaid order is cancelled, its stock freed."""
    with tenant_context(_company_of(event)):
        order = _order_for_event(event, "cancelled")
        if order is None or order.status != OrderStatus.PENDING_PAYMENT:
            return
        now = _event_time(event, "expired_at")
        reason = "Not paid in time." if event.topic == "payment.expired" else "Payment cancelled."
        _cancel(order, now=now, note=reason, event=event)
        _mail(order, "order_cancelled", reason=reason)


def _cancel(
    order: Order,
    *,
    now: datetime,
    note: str,
    actor: User | None = None,
    event: OutboxEvent | None = None,
) -> None:
    _move(order, OrderStatus.CANCELLED, "cancelled", now=now, note=note, actor=actor, event=event)
    order.cancelled_at = now
    inventory_services.stock_release(
        company=order.company, reservation=order.reservation, clock=lambda: now
    )
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    publish(events.ORDER_CANCELLED, _state(order))


def order_refund_recorded(*, event: OutboxEvent) -> None:
    """payment.refunded: the order's refunded total is the payment's running total."""
    with tenant_context(_company_of(event)):
        order = _order_for_event(event, "refunded")
        if order is None:
            return
        now = timezone.now()
        refunded = min(parse_money(event.payload["refunded_amount"]), order.total)
        if refunded <= order.refunded:
            history(order, "refunded", note="An earlier refund, already counted.", event=event)
            return
        order.refunded = refunded
        after_sale = {
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.COMPLETED,
            OrderStatus.CANCELLED,
            OrderStatus.PARTIALLY_REFUNDED,
        }
        note = f"S${parse_money(event.payload['refund_amount']):,.2f} refunded."
        if refunded >= order.total and order.can_move_to(OrderStatus.REFUNDED):
            _move(order, OrderStatus.REFUNDED, "refunded", now=now, note=note, event=event)
        elif order.status in after_sale and order.can_move_to(OrderStatus.PARTIALLY_REFUNDED):
            _move(
                order, OrderStatus.PARTIALLY_REFUNDED, "refunded", now=now, note=note, event=event
            )
        else:
            history(order, "refunded", note=note, event=event, now=now)
        order.updated_at = now
        order.save(update_fields=["refunded", "status", "updated_at"])
        publish(events.ORDER_REFUNDED, {**_state(order), "refunded": order.refunded})
        _mail(order, "order_refunded", refunded=f"{order.refunded:,.2f}")


# -- staff actions ---------------------------------------------------------------------------


def _locked(company: Company, order: Order) -> Order:
    found = (
        Order.objects.select_for_update(of=("self",))
        .select_related("company", "reservation")
        .filter(pk=order.pk)
        .first()
    )
    if found is None:
        raise NotFound("That order was not found.", code="order_not_found")
    return found


def order_cancel(
    *, company: Company, order: Order, actor: User | None, reason: str, clock: Clock = timezone.now
) -> Order:
    """Cancel an order not yet shipped: its stock is freed; a paid one is then refunded in
    full through the payments context (after this commits: the refund calls the gateway)."""
    reason = " ".join((reason or "").split())[:200] or "Cancelled by the shop."
    now = clock()
    with tenant_context(company, user=actor):
        locked = _locked(company, order)
        if any(line.quantity_shipped for line in locked.lines.all()):
            raise OrderActionRefused("Part of this order has shipped: record a return instead.")
        if locked.status == OrderStatus.PENDING_PAYMENT and locked.payment_id is not None:
            payment = payment_selectors.payment(company=company, public_id=locked.payment_id)
            if payment is not None:
                # Expired or paid meanwhile: the payment's events tell the order.
                with contextlib.suppress(payment_services.PaymentClosed):
                    payment_services.payment_cancel(payment=payment, actor=actor)
        _cancel(locked, now=now, note=reason, actor=actor)
        audit_record(action="order.cancelled", obj=locked, actor=actor)
        _mail(locked, "order_cancelled", reason=reason)
    if locked.paid_at is not None and locked.refunded < locked.total:
        order_refund(
            company=company,
            order=locked,
            amount=locked.total - locked.refunded,
            reason=f"Order cancelled: {reason}",
            actor=actor,
            purpose="cancel",
            clock=clock,
        )
    return locked


def order_refund(
    *,
    company: Company,
    order: Order,
    amount: Any,
    reason: str,
    actor: User | None,
    purpose: str,
    clock: Clock = timezone.now,
) -> Any:
    """Give money back for an order through its payment. The refund's key is derived from
    what it is for (the order and `purpose`, e.g. "cancel" or a return's number), so
    pressing twice or retrying after a timeout never pays out twice."""
    if order.payment_id is None:
        raise OrderActionRefused("This order was not paid through a gateway.")
    with tenant_context(company):
        payment = payment_selectors.payment(company=company, public_id=order.payment_id)
    if payment is None:
        raise NotFound("This order's payment was not found.")
    return payment_services.refund_create(
        payment=payment,
        amount=amount,
        reason=reason,
        actor=actor,
        idempotency_key=payment_services.derived_key("order-refund", order.public_id, purpose),
        clock=clock,
    )


def order_start_processing(
    *, company: Company, order: Order, actor: User | None, clock: Clock = timezone.now
) -> Order:
    """Staff started picking and packing a paid order."""
    with tenant_context(company, user=actor):
        locked = _locked(company, order)
        _move(locked, OrderStatus.PROCESSING, "processing", now=clock(), actor=actor)
        locked.save(update_fields=["status", "updated_at"])
        audit_record(action="order.processing", obj=locked, actor=actor)
    return locked


def line_quantities(
    *, company: Company, order: Order, units_by_sku: Mapping[str, int]
) -> dict[int, int]:
    """Units to ship named by SKU, as order_ship takes them (by order line); an SKU the order
    does not have is refused, naming it."""
    with tenant_context(company):
        by_sku = dict(OrderLine.objects.filter(order=order).values_list("sku", "pk"))
    unknown = sorted(set(units_by_sku) - set(by_sku))
    if unknown:
        raise DomainError(f"Not in this order: {', '.join(unknown)}.", code="unknown_sku")
    return {by_sku[sku]: units for sku, units in units_by_sku.items()}


def order_ship(
    *,
    company: Company,
    order: Order,
    location: Location,
    quantities: Mapping[int, int] | None,
    carrier: str,
    tracking_number: str,
    actor: User | None,
    clock: Clock = timezone.now,
) -> Shipment:
    """Units leave `location` (all that is left, or `quantities` by order line id): a
    shipment with its tracking number. The order is shipped once every unit has left."""
    carrier = " ".join((carrier or "").split())[:60]
    tracking_number = "".join((tracking_number or "").split())[:60]
    now = clock()
    with tenant_context(company, user=actor):
        locked = _locked(company, order)
        if locked.status not in SHIPPABLE_STATUSES:
            raise OrderActionRefused(
                f"An order {locked.get_status_display().lower()} cannot be shipped."
            )
        if locked.stock_problem:
            raise OrderActionRefused(f"Solve the stock problem first: {locked.stock_problem}")
        lines = {line.pk: line for line in locked.lines.all()}
        wanted = (
            _held_at(company, locked, location, lines)
            if quantities is None
            else {pk: units for pk, units in quantities.items() if units}
        )
        for pk, units in wanted.items():
            line = lines.get(pk)
            if line is None or units < 0 or units > line.quantity - line.quantity_shipped:
                raise DomainError(
                    "Ship at most what is left to ship of each line.", code="invalid_quantity"
                )
        if not wanted:
            raise DomainError(
                f"Nothing of this order waits at {location}: ship from where it is held.",
                code="nothing_here",
            )
        by_variant: dict[int, int] = {}
        for pk, units in wanted.items():
            by_variant[lines[pk].variant_id] = by_variant.get(lines[pk].variant_id, 0) + units
        number = numbering.next_number(company=company, prefix=SHIPMENT_PREFIX)
        inventory_services.stock_fulfil(
            company=company,
            reservation=locked.reservation,
            actor=actor,
            location=location,
            quantities=by_variant,
            source=("shipment", number),
            clock=lambda: now,
        )
        shipment = Shipment.objects.create(
            company=company,
            order=locked,
            number=number,
            location=location,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=now,
            shipped_by=actor,
        )
        ShipmentLine.objects.bulk_create(
            [
                ShipmentLine(company=company, shipment=shipment, order_line_id=pk, quantity=units)
                for pk, units in wanted.items()
            ]
        )
        for pk, units in wanted.items():
            lines[pk].quantity_shipped += units
            lines[pk].save(update_fields=["quantity_shipped"])
        everything = all(line.quantity_shipped == line.quantity for line in lines.values())
        note = f"{number} from {location}" + (f", {carrier} {tracking_number}" if carrier else "")
        if everything:
            _move(locked, OrderStatus.SHIPPED, "shipped", now=now, note=note, actor=actor)
        else:
            if locked.status == OrderStatus.PAID:
                _move(locked, OrderStatus.PROCESSING, "processing", now=now, actor=actor)
            history(locked, "shipped_part", note=note, actor=actor, now=now)
        locked.save(update_fields=["status", "updated_at"])
        audit_record(action="order.shipped", obj=locked, actor=actor)
        publish(
            events.ORDER_SHIPPED,
            {
                **_state(locked),
                "shipment": shipment.public_id,
                "shipment_number": number,
                "location": location.public_id,
                "lines": {lines[pk].sku: units for pk, units in wanted.items()},
            },
        )
        _mail(
            locked,
            "order_shipped",
            shipment=number,
            carrier=carrier,
            tracking_number=tracking_number,
            complete=everything,
        )
    return shipment


def _held_at(
    company: Company, order: Order, location: Location, lines: Mapping[int, OrderLine]
) -> dict[int, int]:
    """By order line: the units still to ship that `location` holds for the order."""
    held = dict(
        inventory_selectors.reservation_holdings(
            company=company, reservation=order.reservation
        ).get(location.pk, {})
    )
    wanted: dict[int, int] = {}
    for pk, line in lines.items():
        units = min(line.quantity - line.quantity_shipped, held.get(line.variant_id, 0))
        if units > 0:
            wanted[pk] = units
            held[line.variant_id] -= units
    return wanted


def order_mark_delivered(
    *, company: Company, order: Order, actor: User | None, clock: Clock = timezone.now
) -> Order:
    now = clock()
    with tenant_context(company, user=actor):
        locked = _locked(company, order)
        _move(locked, OrderStatus.DELIVERED, "delivered", now=now, actor=actor)
        locked.save(update_fields=["status", "updated_at"])
        locked.shipments.filter(delivered_at__isnull=True).update(delivered_at=now)
        audit_record(action="order.delivered", obj=locked, actor=actor)
        publish(events.ORDER_DELIVERED, _state(locked))
    return locked


def order_complete(
    *, company: Company, order: Order, actor: User | None, clock: Clock = timezone.now
) -> Order:
    with tenant_context(company, user=actor):
        locked = _locked(company, order)
        _move(locked, OrderStatus.COMPLETED, "completed", now=clock(), actor=actor)
        locked.save(update_fields=["status", "updated_at"])
        audit_record(action="order.completed", obj=locked, actor=actor)
    return locked


def order_reserve_again(
    *, company: Company, order: Order, actor: User | None, clock: Clock = timezone.now
) -> Order:
    """A paid order whose hold was lost: hold its units again (if there are any to sell) and
    commit them, clearing the stock problem."""
    now = clock()
    with tenant_context(company, user=actor):
        locked = _locked(company, order)
        if not locked.stock_problem or locked.status not in SHIPPABLE_STATUSES:
            raise OrderActionRefused("This order has no stock problem to solve.")
        reservation = inventory_services.stock_reserve(
            company=company,
            channel=web_channel(company),
            lines=[
                inventory_services.ReserveLine(line.sku, line.quantity)
                for line in locked.lines.all()
            ],
            ttl=inventory_services.MAX_RESERVATION_TTL,
            idempotency_key=payment_services.derived_key(
                "order-again", locked.public_id, locked.reservation.public_id
            ),
        )
        inventory_services.stock_commit(company=company, reservation=reservation)
        locked.reservation = reservation
        locked.stock_problem = ""
        locked.updated_at = now
        locked.save(update_fields=["reservation", "stock_problem", "updated_at"])
        history(locked, "reserved_again", actor=actor, now=now)
        audit_record(action="order.reserved_again", obj=locked, actor=actor)
    return locked
