"""Writes about stock, one module per capability; this package names them all, so callers write
`from pasar.inventory import services` and `services.stock_reserve(...)`.

- `locations`: where stock is kept
- `levels`: levels, movements, cost, channels and buffers
- `reservations`: holds for buyers, and the flash sale's path
- `documents`, `transfers`, `counts`, `receipts`: stock documents
- `low_stock`: notices to the warehouse team

Every write is one transaction in the company's tenant context; docs/inventory.md states the
rules (locking order, expiry, the last-unit policy).
"""

from __future__ import annotations

from pasar.inventory.errors import (
    InsufficientStock,
    InvalidStockRequest,
    QuantityTooLarge,
    ReservationClosed,
    ReservationExpired,
    UnknownSku,
)
from pasar.inventory.services.counts import count_cancel, count_post, count_record, count_start
from pasar.inventory.services.documents import StockCountClosed, TransferClosed
from pasar.inventory.services.levels import (
    MAX_RESERVATION_TTL,
    Clock,
    ReserveLine,
    channel_buffer_set,
    channel_create,
    stock_adjust,
    stock_count_correct,
    stock_level_set_reorder,
    stock_receive,
    stock_return,
    stock_transfer,
    weighted_average_cost,
)
from pasar.inventory.services.locations import (
    LOCATION_FIELDS,
    InvalidLocation,
    location_create,
    location_update,
)
from pasar.inventory.services.low_stock import low_stock_notices_create, low_stock_notices_send
from pasar.inventory.services.receipts import (
    DuplicateReceipt,
    ReceiptVoided,
    average_cost_without,
    purchase_receipt_create,
    purchase_receipt_void,
)
from pasar.inventory.services.reservations import (
    reservations_release_expired,
    stock_commit,
    stock_fulfil,
    stock_release,
    stock_reserve,
)
from pasar.inventory.services.transfers import (
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)

__all__ = [
    "LOCATION_FIELDS",
    "MAX_RESERVATION_TTL",
    "Clock",
    "DuplicateReceipt",
    "InsufficientStock",
    "InvalidLocation",
    "InvalidStockRequest",
    "QuantityTooLarge",
    "ReceiptVoided",
    "ReservationClosed",
    "ReservationExpired",
    "ReserveLine",
    "StockCountClosed",
    "TransferClosed",
    "UnknownSku",
    "average_cost_without",
    "channel_buffer_set",
    "channel_create",
    "count_cancel",
    "count_post",
    "count_record",
    "count_start",
    "location_create",
    "location_update",
    "low_stock_notices_create",
    "low_stock_notices_send",
    "purchase_receipt_create",
    "purchase_receipt_void",
    "reservations_release_expired",
    "stock_adjust",
    "stock_commit",
    "stock_count_correct",
    "stock_fulfil",
    "stock_level_set_reorder",
    "stock_receive",
    "stock_release",
    "stock_reserve",
    "stock_return",
    "stock_transfer",
    "transfer_cancel",
    "transfer_create",
    "transfer_dispatch",
    "transfer_receive",
    "weighted_average_cost",
]
