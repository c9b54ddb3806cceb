"""What the stock documents (transfers, counts, receipts) share: errors, lines, locks, status.

Every write is one transaction in the company's tenant context.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pasar.catalog.models import Variant
from pasar.core import audit
from pasar.core.errors import DomainError
from pasar.inventory.errors import InvalidStockRequest
from pasar.inventory.models import (
    Location,
    StockCount,
    StockLevel,
    Transfer,
)
from pasar.inventory.services.levels import (
    _levels_for,
    _lock_levels,
    _positive_quantity,
    _reclaim_expired,
)
from pasar.tenancy.models import Company, User


class TransferClosed(DomainError):
    """The transfer is in a state that does not allow the step asked for."""

    code = "transfer_closed"
    status = 409


class StockCountClosed(DomainError):
    code = "stock_count_closed"
    status = 409


def _invalid(field: str, message: str, *, code: str = "invalid", status: int = 400) -> DomainError:
    return InvalidStockRequest(
        message,
        code=code,
        status=status,
        details=[{"field": field, "code": code, "message": message}],
    )


def _clean_sku(sku: Any, field: str) -> str:
    sku = sku.strip() if isinstance(sku, str) else ""
    if not sku:
        raise _invalid(field, "Each line names a SKU.", code="required")
    return sku


def _document_lines(lines: Sequence[tuple[str, int]], *, what: str) -> dict[str, int]:
    """(sku, quantity) lines as {sku: quantity}; one SKU on several lines counts once, summed."""
    if not lines:
        raise _invalid("lines", f"A {what} needs at least one line.", code="required")
    quantities: dict[str, int] = {}
    for index, (sku, quantity) in enumerate(lines):
        sku = _clean_sku(sku, f"lines.{index}.sku")
        quantities[sku] = quantities.get(sku, 0) + _positive_quantity(
            quantity, f"lines.{index}.quantity"
        )
    return quantities


def _lock_levels_at(
    company: Company,
    location: Location,
    variants: Iterable[Variant],
    *,
    taking_at: datetime | None = None,
) -> dict[int, StockLevel]:
    """Lock the levels of these variants at one location (made if missing), by variant id.

    A step that takes units away passes `taking_at`: the holds that expired by then are
    reclaimed first, as every such step must (docs/inventory.md, "Expiry takes effect at once").
    """
    levels = _lock_levels(_levels_for(company, [(variant, location) for variant in variants]))
    if taking_at is not None:
        _reclaim_expired(levels, now=taking_at)
    return {level.variant_id: level for level in levels.values()}


def _set_status(
    document: Transfer | StockCount, status: str, actor: User | None, **stamps: datetime
) -> None:
    """Move a stock document to `status`, stamping when, and record it in the audit log."""
    before = document.status
    document.status = status
    for field, value in stamps.items():
        setattr(document, field, value)
    document.save(update_fields=["status", *stamps])
    what = "transfer" if isinstance(document, Transfer) else "stock_count"
    audit.audit_record(
        action=f"{what}.{status}", obj=document, changes={"status": [before, status]}, actor=actor
    )
