"""Placing an order from a cart, and starting its payment.

Placing is one transaction: the stock is reserved for the payment's lifetime, the order gets
the company's next number, the payment is opened, the promotions' uses are counted and the
cart is closed; any refusal (stock, a code used up meanwhile) leaves none of it. The same
idempotency key, or the same cart, always gives back the one order.

Starting the payment calls a gateway, so it runs after that transaction, never inside it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from pasar.core import numbering
from pasar.core.errors import Conflict, DomainError, NotFound
from pasar.core.events import publish
from pasar.core.money import parse_money
from pasar.core.tenant import is_public_id, tenant_context
from pasar.inventory import services as inventory_services
from pasar.payments import selectors as payment_selectors
from pasar.payments import services as payment_services
from pasar.payments.models import Payment, PaymentPurpose
from pasar.sales import events
from pasar.sales.models import (
    ORDER_PREFIX,
    Cart,
    CartStatus,
    DeliveryKind,
    Order,
    OrderLine,
    OrderStatus,
)
from pasar.sales.services import promotions
from pasar.sales.services.carts import CartError, CartFigures, cart_figures, web_channel
from pasar.sales.services.customers import customer_for_order
from pasar.sales.services.orders import history, order_paid_in_full, placed_payload
from pasar.tenancy.models import Company, Shopper

MAX_KEY = 100


class PriceChanged(Conflict):
    code = "price_changed"


class CheckoutIncomplete(DomainError):
    code = "checkout_incomplete"


def _refuse_unready(figures: CartFigures, expected_total: Decimal | None) -> None:
    cart = figures.cart
    if figures.is_empty:
        raise CheckoutIncomplete("Your cart is empty.", code="cart_empty")
    if not cart.email or cart.delivery_method_id is None:
        raise CheckoutIncomplete("Give your contact details and choose a delivery method first.")
    if figures.delivery is not None and not figures.delivery.is_active:
        raise CheckoutIncomplete("That delivery method is no longer offered; choose another.")
    needs_address = figures.delivery is not None and figures.delivery.kind != DeliveryKind.PICKUP
    if needs_address and not cart.shipping_address.get("postal_code"):
        raise CheckoutIncomplete("Enter the delivery address first.")
    if figures.short_lines:
        raise inventory_services.InsufficientStock(
            " ".join(figures.stock_problems),
            details=[
                {
                    "sku": line.variant.sku,
                    "available": line.sellable,
                    "requested": line.line.quantity,
                }
                for line in figures.short_lines
            ],
        )
    if figures.price_changes:
        raise PriceChanged(
            "Prices changed since you added them: please check the new total.",
            details=[
                {
                    "sku": line.variant.sku,
                    "was": str(line.line.unit_price_seen),
                    "now": str(line.unit_price),
                }
                for line in figures.price_changes
            ],
        )
    if expected_total is not None and expected_total != figures.quote.total:
        raise PriceChanged(
            f"The total is now S${figures.quote.total:,.2f}, not S${expected_total:,.2f}: "
            "please check it before paying.",
            details=[{"expected": str(expected_total), "total": str(figures.quote.total)}],
        )


def _key(cart_public_id: Any, idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise CartError(
            f"An idempotency key has at most {MAX_KEY} plain characters.", code="invalid_key"
        )
    return key or f"cart:{cart_public_id}"


def order_place(
    *,
    company: Company,
    cart: Cart,
    idempotency_key: str = "",
    expected_total: Any = None,
    shopper: Shopper | None = None,
    clock: Any = timezone.now,
) -> Order:
    """Place the cart's order: reserve, number, open the payment, count promotions.

    Refused, with nothing changed, when the cart is empty or incomplete, short of stock,
    when prices changed since the shopper saw them or the total is not `expected_total`.
    """
    return _order_place(
        company, Q(pk=cart.pk), cart.public_id, idempotency_key, expected_total, shopper, clock
    )


def order_place_for_cart_id(
    *,
    company: Company,
    cart_id: Any,
    idempotency_key: str = "",
    expected_total: Any = None,
    clock: Any = timezone.now,
) -> Order:
    """`order_place` for a guest's cart named by its id (the shop API), found in the same
    transaction; a cart already ordered gives its order back (the same request sent again)."""
    if not is_public_id(cart_id):
        raise NotFound("That cart was not found.", code="cart_not_found")
    guest_cart = Q(status=CartStatus.OPEN, customer__isnull=True) | Q(status=CartStatus.ORDERED)
    return _order_place(
        company,
        guest_cart & Q(public_id=cart_id),
        cart_id,
        idempotency_key,
        expected_total,
        None,
        clock,
    )


def _order_place(
    company: Company,
    which: Q,
    cart_public_id: Any,
    idempotency_key: str,
    expected_total: Any,
    shopper: Shopper | None,
    clock: Any,
) -> Order:
    key = _key(cart_public_id, idempotency_key)
    expected = None if expected_total in (None, "") else parse_money(expected_total)
    now = clock()
    try:
        with tenant_context(company, all_or_nothing=True):
            earlier = Order.objects.filter(idempotency_key=key).first()
            if earlier is not None:
                return earlier
            locked = (
                Cart.objects.select_for_update(of=("self",))
                .select_related("delivery_method")
                .filter(which)
                .first()
            )
            if locked is None:
                raise NotFound("That cart was not found.", code="cart_not_found")
            if locked.order_id is not None:
                return Order.objects.get(pk=locked.order_id)
            if locked.status != CartStatus.OPEN:
                raise Conflict("This cart is closed.", code="cart_closed")
            figures = cart_figures(company=company, cart=locked, at=now)
            _refuse_unready(figures, expected)
            settings = payment_selectors.payment_settings(company=company)
            # The stock is held exactly as long as the payment stays open.
            ttl = timedelta(minutes=settings.ttl_minutes(PaymentPurpose.CHECKOUT))
            return _place(company, locked, figures, key, ttl, shopper, now)
    except IntegrityError:
        # The same key placed an order from another request meanwhile: that is the order.
        with tenant_context(company):
            earlier = Order.objects.filter(idempotency_key=key).first()
        if earlier is None:
            raise
        return earlier


def _place(
    company: Company,
    cart: Cart,
    figures: CartFigures,
    key: str,
    ttl: timedelta,
    shopper: Shopper | None,
    now: Any,
) -> Order:
    quote = figures.quote
    address = cart.shipping_address
    customer = customer_for_order(
        company=company,
        email=cart.email,
        full_name=address.get("recipient", ""),
        phone=cart.phone,
        marketing_consent=cart.marketing_consent,
        shopper=shopper,
        now=now,
    )
    reservation = inventory_services.stock_reserve(
        company=company,
        channel=web_channel(company),
        lines=[
            inventory_services.ReserveLine(line.variant.sku, line.line.quantity)
            for line in figures.lines
        ],
        ttl=ttl,
        idempotency_key=payment_services.derived_key("order", key),
        clock=lambda: now,
    )
    # Taken last, so the number's row is locked for as short a time as the order allows.
    number = numbering.next_number(company=company, prefix=ORDER_PREFIX)
    payment: Payment | None = None
    if quote.total > 0:
        payment = payment_services.payment_create(
            company=company,
            reference=number,
            amount=quote.total,
            description=f"Order {number}",
            ttl=ttl,
            clock=lambda: now,
        )
    delivery = figures.delivery
    assert delivery is not None
    order = Order.objects.create(
        company=company,
        number=number,
        customer=customer,
        email=cart.email,
        phone=cart.phone,
        shipping_address=address,
        delivery_name=delivery.name,
        delivery_kind=delivery.kind,
        pickup_location_id=delivery.pickup_location_id,
        prices_include_gst=quote.prices_include_gst,
        gst_rate=quote.gst_rate,
        subtotal=quote.subtotal,
        discount=quote.discount,
        shipping=quote.shipping,
        shipping_gst=quote.shipping_gst,
        gst=quote.gst,
        total=quote.total,
        codes=[a.promotion.code for a in figures.outcome.applied if a.promotion.code],
        payment_id=payment.public_id if payment else None,
        reservation=reservation,
        idempotency_key=key,
        placed_at=now,
        updated_at=now,
    )
    lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                company=company,
                order=order,
                variant=view.variant,
                sku=view.variant.sku,
                name=_line_name(view.variant),
                tax_code=view.variant.product.tax_code,
                unit_price=view.unit_price,
                quantity=view.line.quantity,
                gross=figured.gross,
                line_discount=figured.line_discount,
                order_discount=figured.order_discount,
                net=figured.net,
                gst=figured.gst,
            )
            for view, figured in zip(figures.lines, quote.lines, strict=True)
        ]
    )
    promotions.redeem(order=order, applied=figures.outcome.applied, email=cart.email, now=now)
    history(order, "placed", status_to=OrderStatus.PENDING_PAYMENT, now=now)
    cart.status = CartStatus.ORDERED
    cart.order = order
    cart.customer = customer
    cart.save(update_fields=["status", "order", "customer"])
    publish(events.ORDER_PLACED, placed_payload(order, lines))
    order.opened_payment = payment
    if payment is None:
        order_paid_in_full(order, now=now, note="Nothing to pay: the offers covered it all.")
    return order


def _line_name(variant: Any) -> str:
    options = " / ".join(str(value) for value in (variant.options or {}).values())
    return f"{variant.product.name} ({options})" if options else variant.product.name


def order_payment_start(
    *,
    company: Company,
    order: Order,
    method: str,
    base_url: str,
    return_url: str,
    clock: Any = timezone.now,
) -> payment_services.StartResult:
    """Open the order's payment at a gateway (outside any transaction: it calls one)."""
    if order.payment_id is None:
        raise Conflict("This order has nothing to pay.", code="nothing_to_pay")
    payment = order.opened_payment
    if payment is None:
        with tenant_context(company):
            payment = payment_selectors.payment(company=company, public_id=order.payment_id)
    if payment is None:
        raise Conflict("This order's payment was not found.", code="payment_not_found")
    payment.company = company  # its own: saves reading the company again
    return payment_services.payment_start(
        payment=payment, method=method, base_url=base_url, return_url=return_url, clock=clock
    )
