"""From a cart to a paid order, and what happens when a step is refused or a payment lapses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pasar.core.models import DocumentSequence
from pasar.core.tenant import tenant_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import ReservationStatus, StockLevel
from pasar.payments import services as payment_services
from pasar.payments.models import Payment
from pasar.sales import services
from pasar.sales.models import Cart, CartStatus, Order, OrderHistory, OrderLine, OrderStatus
from pasar.tenancy.models import Company
from tests.sales.conftest import ADDRESS, Store, payment_of, reload

pytestmark = pytest.mark.django_db(transaction=True)


def _held(store: Store, variant) -> tuple[int, int]:
    with tenant_context(store.company):
        levels = StockLevel.objects.filter(variant=variant)
        return sum(level.on_hand for level in levels), sum(level.reserved for level in levels)


def test_placing_an_order_holds_the_stock_numbers_it_and_opens_its_payment(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.kopi, 2), (store.teh, 1))

    order = services.order_place(company=store.company, cart=cart)

    assert order.number == "SO-000001"
    assert order.status == OrderStatus.PENDING_PAYMENT
    # 2 x 18.90 + 12.50 = 50.30, below the free-delivery threshold: 4.00 delivery.
    assert (order.subtotal, order.shipping, order.total) == (
        Decimal("50.30"),
        Decimal("4.00"),
        Decimal("54.30"),
    )
    assert order.gst == Decimal("4.48")  # 54.30 x 9/109, half-up
    assert order.reservation.status == ReservationStatus.PENDING
    assert _held(store, store.kopi) == (10, 2)
    payment = payment_of(store.company, order)
    assert (payment.reference, payment.amount) == ("SO-000001", order.total)
    assert payment.expires_at == order.reservation.expires_at
    with tenant_context(store.company):
        cart.refresh_from_db()
        lines = list(OrderLine.objects.filter(order=order))
    assert cart.status == CartStatus.ORDERED
    assert sum(line.net for line in lines) + order.shipping == order.total
    assert sum(line.gst for line in lines) + order.shipping_gst == order.gst


def test_paying_marks_it_paid_and_commits_the_stock(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))

    paid = pay_order(order)

    assert paid.status == OrderStatus.PAID
    assert paid.paid_at is not None
    assert paid.reservation.status == ReservationStatus.COMMITTED
    with tenant_context(store.company):
        actions = list(OrderHistory.objects.filter(order=order).values_list("action", flat=True))
    assert actions == ["placed", "paid"]


def test_a_redelivered_capture_changes_nothing(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    from pasar.core.models import OutboxEvent

    order = pay_order(
        services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))
    )
    with tenant_context(store.company):
        event = OutboxEvent.objects.get(topic="payment.captured")
    services.order_payment_captured(event=event)
    services.order_payment_captured(event=event)

    with tenant_context(store.company):
        assert OrderHistory.objects.filter(order=order, action="paid").count() == 1
    assert reload(store.company, order).status == OrderStatus.PAID


def test_the_same_key_or_the_same_cart_places_one_order(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.kopi, 1))
    first = services.order_place(company=store.company, cart=cart, idempotency_key="tap-1")
    again = services.order_place(company=store.company, cart=cart, idempotency_key="tap-1")
    other_key = services.order_place(company=store.company, cart=cart, idempotency_key="tap-2")

    assert first.pk == again.pk == other_key.pk
    with tenant_context(store.company):
        assert Order.objects.count() == 1
        assert Payment.objects.count() == 1
    assert _held(store, store.kopi) == (10, 1)


def test_an_unpaid_order_is_cancelled_when_its_payment_expires_and_its_stock_freed(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    order = services.order_place(company=store.company, cart=filled_cart((store.teh, 5)))
    assert _held(store, store.teh) == (5, 5)

    later = timezone.now() + timedelta(minutes=31)
    assert payment_services.payments_expire_overdue(clock=lambda: later) == 1

    cancelled = reload(store.company, order)
    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.reservation.status == ReservationStatus.RELEASED
    assert _held(store, store.teh) == (5, 0)


def test_short_stock_refuses_the_order_and_leaves_nothing_behind(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.teh, 5))
    # Another channel sells two meanwhile.
    inventory_services.stock_adjust(
        company=store.company,
        variant=store.teh,
        location=store.warehouse,
        quantity=-2,
        reason="sold in store",
    )

    with pytest.raises(inventory_services.InsufficientStock):
        services.order_place(company=store.company, cart=cart)

    with tenant_context(store.company):
        assert not Order.objects.exists()
        assert not Payment.objects.exists()
        assert not DocumentSequence.objects.filter(prefix="SO").exists()
        cart.refresh_from_db()
    assert cart.status == CartStatus.OPEN
    assert _held(store, store.teh) == (3, 0)


def test_the_last_unit_taken_during_checkout_refuses_with_nothing_half_made(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.teh, 5))
    inventory_services.stock_reserve(
        company=store.company,
        channel=store.web,
        lines=[inventory_services.ReserveLine("TEH-100", 1)],
        ttl=timedelta(minutes=10),
    )
    with pytest.raises(inventory_services.InsufficientStock):
        services.order_place(company=store.company, cart=cart)
    with tenant_context(store.company):
        assert not Order.objects.exists()
    assert _held(store, store.teh) == (5, 1)


def test_a_price_changed_since_it_went_in_the_cart_is_told_before_paying(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.kopi, 1))
    with tenant_context(store.company):
        store.kopi.price = Decimal("19.90")
        store.kopi.save()

    with pytest.raises(services.PriceChanged) as refused:
        services.order_place(company=store.company, cart=cart)
    assert refused.value.details == [{"sku": "KOPI-250", "was": "18.90", "now": "19.90"}]

    services.cart_accept_prices(company=store.company, cart=cart)
    order = services.order_place(company=store.company, cart=cart, expected_total="23.90")
    assert order.total == Decimal("23.90")


def test_a_total_other_than_the_one_shown_is_refused(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.kopi, 1))
    with pytest.raises(services.PriceChanged):
        services.order_place(company=store.company, cart=cart, expected_total="18.90")
    with tenant_context(store.company):
        assert not Order.objects.exists()


def test_pickup_needs_no_address_and_costs_no_delivery(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    cart = filled_cart((store.kopi, 1), delivery=store.pickup, block="", street="", postal_code="")
    order = services.order_place(company=store.company, cart=cart)
    assert (order.shipping, order.total, order.delivery_kind) == (
        Decimal("0"),
        Decimal("18.90"),
        "pickup",
    )
    assert order.pickup_location_id == store.store.pk


def test_delivery_is_free_above_the_threshold(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    order = services.order_place(company=store.company, cart=filled_cart((store.kopi, 4)))
    assert (order.subtotal, order.shipping, order.total) == (
        Decimal("75.60"),
        Decimal("0"),
        Decimal("75.60"),
    )


def test_an_invalid_postal_code_is_refused_by_field(store: Store) -> None:
    from tests.sales.conftest import ADDRESS

    cart = services.cart_open(company=store.company)
    with pytest.raises(services.CartError) as refused:
        services.cart_set_details(
            company=store.company,
            cart=cart,
            data={
                **ADDRESS,
                "postal_code": "12345",
                "delivery_method": str(store.delivery.public_id),
            },
        )
    assert {d["field"] for d in refused.value.details} == {"postal_code"}
    with tenant_context(store.company):
        cart.refresh_from_db()
    assert cart.email == ""


def test_adding_more_than_the_web_shop_can_sell_is_refused(store: Store) -> None:
    cart = services.cart_open(company=store.company)
    services.cart_add(company=store.company, cart=cart, sku="TEH-100", quantity=4)
    with pytest.raises(services.NotEnoughStock) as refused:
        services.cart_add(company=store.company, cart=cart, sku="TEH-100", quantity=2)
    assert refused.value.message == "Only 5 of Teh tarik 100g left."


def test_a_guest_cart_joins_the_account_cart_at_login(store: Store) -> None:
    from pasar.tenancy import services as tenancy_services

    shopper = tenancy_services.shopper_register(
        company=store.company, email="ali@example.com", password="a long kopi password 42"
    )
    customer = services.customer_for_shopper(company=store.company, shopper=shopper)
    mine = services.cart_open(company=store.company, customer=customer)
    services.cart_add(company=store.company, cart=mine, sku="TEH-100", quantity=2)
    guest = services.cart_open(company=store.company)
    services.cart_add(company=store.company, cart=guest, sku="TEH-100", quantity=4)
    services.cart_add(company=store.company, cart=guest, sku="KOPI-250", quantity=1)

    merged = services.cart_merge(company=store.company, guest_cart=guest, customer=customer)

    figures = services.cart_figures(company=store.company, cart=merged)
    assert {line.variant.sku: line.line.quantity for line in figures.lines} == {
        "TEH-100": 5,  # 2 + 4, no more than the 5 there are
        "KOPI-250": 1,
    }
    with tenant_context(store.company):
        guest.refresh_from_db()
    assert guest.status == CartStatus.MERGED


def test_a_zero_total_order_is_paid_at_once(store: Store, filled_cart: Callable[..., Cart]) -> None:
    services.promotion_save(
        company=store.company,
        actor=None,
        data={"name": "Free kopi", "code": "FREEKOPI", "kind": "percentage", "value": "100"},
    )
    cart = filled_cart((store.kopi, 1), delivery=store.pickup)
    services.cart_apply_code(company=store.company, cart=cart, code="freekopi")
    order = services.order_place(company=store.company, cart=cart)
    order = reload(store.company, order)
    assert (order.total, order.status, order.payment_id) == (Decimal("0.00"), "paid", None)
    assert order.reservation.status == ReservationStatus.COMMITTED


def test_the_priced_cart_reads_each_variant_whole(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    """The lines are read with a statement written out by hand: a variant's options (JSON)
    arrive as the ORM would give them, and the order line is named with them."""
    with tenant_context(store.company):
        store.kopi.options = {"size": "250 g", "grind": "whole bean"}
        store.kopi.save(update_fields=["options"])
    cart = filled_cart((store.kopi, 1))
    figures = services.cart_figures(company=store.company, cart=cart)
    assert figures.lines[0].variant.options == {"size": "250 g", "grind": "whole bean"}
    order = services.order_place(company=store.company, cart=cart)
    with tenant_context(store.company):
        line = OrderLine.objects.get(order=order)
    assert line.name == f"{store.kopi.product.name} (250 g / whole bean)"


def test_checkout_starts_from_the_cart_else_the_account_and_its_default_address(
    store: Store, filled_cart: Callable[..., Cart]
) -> None:
    from pasar.sales.selectors import addresses
    from pasar.tenancy import services as tenancy_services

    shopper = tenancy_services.shopper_register(
        company=store.company, email="grace@example.com", password="teh-tarik-kaya-toast"
    )
    customer = services.customer_for_shopper(company=store.company, shopper=shopper)
    services.address_add(
        company=store.company,
        customer=customer,
        data={**ADDRESS, "recipient": "Grace Tan", "postal_code": "238801"},
        default=True,
    )
    saved = addresses(company=store.company, customer=customer)
    with tenant_context(store.company):
        fresh = Cart.objects.create(
            company=store.company, created_at=timezone.now(), updated_at=timezone.now()
        )
    start = services.checkout_details(cart=fresh, customer=customer, addresses=saved)
    assert (start["email"], start["name"], start["postal_code"]) == (
        "grace@example.com",
        "Grace Tan",
        "238801",
    )
    given = filled_cart((store.kopi, 1))  # the cart's own details come first
    kept = services.checkout_details(cart=given, customer=customer, addresses=saved)
    assert (kept["email"], kept["postal_code"]) == ("siti@example.com", "560123")


def test_the_web_channel_is_read_once_for_a_company_instance(store: Store) -> None:
    company = Company.objects.get(pk=store.company.pk)  # a request's own instance
    channel = services.web_channel(company)
    with CaptureQueriesContext(connection) as sent:
        assert services.web_channel(company) == channel
    assert sent.captured_queries == []
    with CaptureQueriesContext(connection) as sent:
        assert services.web_channel(Company.objects.get(pk=company.pk)) == channel
    assert sent.captured_queries
