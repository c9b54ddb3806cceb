"""The refusals of stock requests, shared by the services that raise them and the selectors
that check a request before any write."""

from __future__ import annotations

from pasar.core.errors import DomainError


class InvalidStockRequest(DomainError):
    code = "invalid"


class UnknownSku(DomainError):
    code = "unknown_sku"


class QuantityTooLarge(DomainError):
    code = "quantity_too_large"


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    status = 409


class ReservationExpired(DomainError):
    code = "reservation_expired"
    status = 409


class ReservationClosed(DomainError):
    """The reservation is in a state that does not allow the step asked for."""

    code = "reservation_closed"
    status = 409
