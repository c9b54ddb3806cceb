"""After payment: shipping (in parts, per location), cancelling, returns and refunds."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from pasar.core.tenant import tenant_context
from pasar.inventory.errors import InsufficientStock
from pasar.inventory.models import ReservationStatus, StockLevel, StockMovement
from pasar.sales import services
from pasar.sales.models import Cart, Order, OrderLine, OrderStatus, ReturnStatus
from tests.concurrency import at_once
from tests.sales.conftest import Store, payment_of, reload

pytestmark = pytest.mark.django_db(transaction=True)


def _on_hand(store: Store, variant, location) -> tuple[int, int]:
    with tenant_context(store.company):
        level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.reserved


def _lines(store: Store, order: Order) -> dict[str, OrderLine]:
    with tenant_context(store.company):
        return {line.sku: line for line in OrderLine.objects.filter(order=order)}


def _ship_everything(store: Store, order: Order) -> None:
    services.order_ship(
        company=store.company,
        order=order,
        location=store.warehouse,
        quantities=None,
        carrier="",
        tracking_number="",
        actor=None,
    )


def test_an_order_ships_in_two_parts_from_two_locations(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    # 5 teh: 3 held in the warehouse, 2 in the store.
    order = pay_order(services.order_place(company=store.company, cart=filled_cart((store.teh, 5))))
    line = _lines(store, order)["TEH-100"]

    first = services.order_ship(
        company=store.company,
        order=order,
        location=store.warehouse,
        quantities={line.pk: 3},
        carrier="Ninja Van",
        tracking_number="NV123",
        actor=None,
    )
    assert reload(store.company, order).status == OrderStatus.PROCESSING
    assert _on_hand(store, store.teh, store.warehouse) == (0, 0)
    assert _on_hand(store, store.teh, store.store) == (2, 2)

    services.order_ship(
        company=store.company,
        order=order,
        location=store.store,
        quantities=None,
        carrier="",
        tracking_number="",
        actor=None,
    )
    shipped = reload(store.company, order)
    assert shipped.status == OrderStatus.SHIPPED
    assert shipped.reservation.status == ReservationStatus.FULFILLED
    assert _on_hand(store, store.teh, store.store) == (0, 0)
    with tenant_context(store.company):
        sources = set(StockMovement.objects.filter(kind="sale").values_list("source_id", flat=True))
    assert sources == {first.number, "SHP-000002"}


def test_shipping_more_than_a_location_holds_is_refused(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = pay_order(services.order_place(company=store.company, cart=filled_cart((store.teh, 5))))
    line = _lines(store, order)["TEH-100"]
    with pytest.raises(InsufficientStock, match="holds 2 of these units"):
        services.order_ship(
            company=store.company,
            order=order,
            location=store.store,
            quantities={line.pk: 3},
            carrier="",
            tracking_number="",
            actor=None,
        )
    assert _on_hand(store, store.teh, store.store) == (2, 2)


def test_an_unpaid_order_cannot_ship(store: Store, filled_cart: Callable[..., Cart]) -> None:
    order = services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))
    with pytest.raises(services.OrderActionRefused):
        _ship_everything(store, order)


def test_cancelling_a_paid_order_frees_its_stock_and_refunds_it_in_full(
    store: Store,
    filled_cart: Callable[..., Cart],
    pay_order: Callable[[Order], Order],
    settings,
) -> None:
    order = pay_order(
        services.order_place(company=store.company, cart=filled_cart((store.kopi, 2)))
    )

    services.order_cancel(company=store.company, order=order, actor=None, reason="Out of beans")

    cancelled = reload(store.company, order)
    assert cancelled.status == OrderStatus.REFUNDED
    assert cancelled.refunded == cancelled.total
    assert payment_of(store.company, order).refunded_amount == order.total
    assert _on_hand(store, store.kopi, store.warehouse) == (10, 0)


def test_cancelling_twice_at_once_refunds_once(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = pay_order(
        services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))
    )
    at_once(
        4,
        lambda _: services.order_cancel(company=store.company, order=order, actor=None, reason="x"),
    )
    assert payment_of(store.company, order).refunded_amount == order.total
    assert reload(store.company, order).refunded == order.total


def test_a_return_is_received_into_stock_and_refunded(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = pay_order(
        services.order_place(
            company=store.company, cart=filled_cart((store.kopi, 3), (store.teh, 1))
        )
    )
    _ship_everything(store, order)
    services.order_mark_delivered(company=store.company, order=order, actor=None)
    kopi = _lines(store, order)["KOPI-250"]

    asked = services.return_request(
        company=store.company, order=order, quantities={kopi.pk: 1}, reason="Bag torn"
    )
    assert asked.refund_amount == (kopi.net / 3).quantize(Decimal("0.01"))
    services.return_approve(
        company=store.company, return_request=asked, location=store.warehouse, actor=None
    )
    services.return_receive(
        company=store.company, return_request=asked, dispositions={}, actor=None
    )
    assert _on_hand(store, store.kopi, store.warehouse) == (8, 0)
    done = services.return_refund(company=store.company, return_request=asked, actor=None)

    assert done.status == ReturnStatus.REFUNDED
    after = reload(store.company, order)
    assert after.status == OrderStatus.PARTIALLY_REFUNDED
    assert after.refunded == asked.refund_amount
    # A retry pays nothing more: the refund's key is the return's.
    with pytest.raises(services.OrderActionRefused):
        services.return_refund(company=store.company, return_request=asked, actor=None)
    assert payment_of(store.company, order).refunded_amount == asked.refund_amount


def test_returning_more_than_shipped_is_refused(
    store: Store, filled_cart: Callable[..., Cart], pay_order: Callable[[Order], Order]
) -> None:
    order = pay_order(
        services.order_place(company=store.company, cart=filled_cart((store.kopi, 1)))
    )
    _ship_everything(store, order)
    kopi = _lines(store, order)["KOPI-250"]
    with pytest.raises(services.InvalidReturn):
        services.return_request(
            company=store.company, order=order, quantities={kopi.pk: 2}, reason="x"
        )
