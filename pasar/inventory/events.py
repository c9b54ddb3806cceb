"""The topics the inventory publishes (see pasar/core/event_contracts.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from uuid import UUID

from pasar.core.event_contracts import declare


class StockChanged(TypedDict):
    movement: UUID
    kind: str
    quantity: int
    variant: UUID
    sku: str
    location: UUID
    on_hand: int
    reserved: int
    reorder_point: int
    unit_cost: Decimal
    source_type: str
    source_id: str
    moved_at: datetime  # when it happened: the day its value is posted


class StockRanLow(TypedDict):
    variant: UUID
    sku: str
    location: UUID
    location_name: str
    on_hand: int
    reorder_point: int
    reorder_quantity: int


class ReservationChanged(TypedDict):
    reservation: UUID
    channel: str
    status: str
    expires_at: datetime


class ReservationCreated(ReservationChanged):
    lines: dict[str, int]


class TransferChanged(TypedDict):
    transfer: UUID
    number: str
    source: UUID
    destination: UUID
    status: str


class TransferReceived(TransferChanged):
    received: dict[str, int]


class StockCountPosted(TypedDict):
    stock_count: UUID
    number: str
    location: UUID
    variances: dict[str, int]


class PurchaseReceiptCreated(TypedDict):
    purchase_receipt: UUID
    number: str
    location: UUID
    supplier_name: str
    lines: list[dict[str, Any]]


class PurchaseReceiptVoided(TypedDict):
    purchase_receipt: UUID
    number: str
    reason: str


STOCK_CHANGED = declare(
    "stock.changed",
    StockChanged,
    description="A stock movement: `quantity` units in (+) or out (-) at a location, at "
    "`unit_cost` (the receipt's cost, else the moving average), from the document "
    "`source_type`/`source_id` names, at `moved_at`.",
    version=2,
)
STOCK_RAN_LOW = declare(
    "stock.ran_low",
    StockRanLow,
    description="A level fell to or below its reorder point (once per crossing).",
)
RESERVATION_CREATED = declare(
    "reservation.created",
    ReservationCreated,
    description="Units are held for a buyer until `expires_at` (`lines`: SKU to units).",
)
RESERVATION_COMMITTED = declare(
    "reservation.committed", ReservationChanged, description="Paid: held until shipped."
)
RESERVATION_FULFILLED = declare(
    "reservation.fulfilled", ReservationChanged, description="Shipped: the units left stock."
)
RESERVATION_RELEASED = declare(
    "reservation.released", ReservationChanged, description="Given back before payment."
)
RESERVATION_EXPIRED = declare(
    "reservation.expired", ReservationChanged, description="Not paid in time; units freed."
)
TRANSFER_DISPATCHED = declare(
    "transfer.dispatched", TransferChanged, description="Goods left the source location."
)
TRANSFER_RECEIVED = declare(
    "transfer.received",
    TransferReceived,
    description="Goods arrived at the destination (`received`: SKU to units).",
)
STOCK_COUNT_POSTED = declare(
    "stock_count.posted",
    StockCountPosted,
    description="A count's variances were booked (`variances`: SKU to units).",
)
PURCHASE_RECEIPT_CREATED = declare(
    "purchase_receipt.created",
    PurchaseReceiptCreated,
    description="Goods from a supplier were received, each line at its unit cost.",
)
PURCHASE_RECEIPT_VOIDED = declare(
    "purchase_receipt.voided",
    PurchaseReceiptVoided,
    description="A goods receipt was voided; its stock came back out.",
)
