"""The topics the sales context publishes (see pasar/core/event_contracts.py and docs/events.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from uuid import UUID

from pasar.core.event_contracts import declare


class OrderState(TypedDict):
    order: UUID
    number: str
    status: str
    total: Decimal


class OrderPlaced(OrderState):
    customer: UUID
    channel: str
    prices_include_gst: bool
    gst_rate: Decimal
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    shipping_gst: Decimal
    gst: Decimal
    # sku, name, tax_code, quantity, unit_price, gross, discount, net, gst
    lines: list[dict[str, Any]]


class BillTo(TypedDict):
    name: str
    email: str
    address: list[str]  # lines of text, as a document prints them


class OrderPaid(OrderPlaced):
    paid_at: datetime  # when the payment was captured: the sale's time of supply
    bill_to: BillTo  # who the sale's invoice or receipt is made out to


class OrderShipped(OrderState):
    shipment: UUID
    shipment_number: str
    location: UUID
    lines: dict[str, int]  # units shipped by SKU


class OrderRefunded(OrderState):
    refunded: Decimal


ORDER_PLACED = declare(
    "order.placed", OrderPlaced, description="An order was placed, with every figure it stores."
)
ORDER_PAID = declare(
    "order.paid",
    OrderPaid,
    description="Its payment was captured: every figure of the order, when it was paid and "
    "who its invoice is made out to (`bill_to`).",
    version=3,
)
ORDER_CANCELLED = declare("order.cancelled", OrderState, description="The order was cancelled.")
ORDER_SHIPPED = declare(
    "order.shipped", OrderShipped, description="Units left a location (one shipment)."
)
ORDER_DELIVERED = declare("order.delivered", OrderState, description="The shopper has it.")
ORDER_REFUNDED = declare(
    "order.refunded", OrderRefunded, description="Money went back (`refunded`: the running total)."
)
