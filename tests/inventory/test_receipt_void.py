"""Goods receipts: a supplier document is received once unless confirmed, and a receipt
entered by mistake is voided, taking its units and their cost back out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from pasar.core.tenant import tenant_context
from pasar.inventory.models import MovementKind, PurchaseReceipt, StockMovement, VariantCost
from pasar.inventory.services import (
    DuplicateReceipt,
    InsufficientStock,
    ReceiptVoided,
    ReserveLine,
    average_cost_without,
    purchase_receipt_create,
    purchase_receipt_void,
    stock_reserve,
    weighted_average_cost,
)
from tests.inventory.conftest import LevelReader, Shop
from tests.inventory.profiles import inventory_settings
from tests.inventory.test_operations import assert_no_drift, count_of, receive

pytestmark = pytest.mark.django_db


def grn(shop: Shop, quantity: int = 10, cost: str = "3.00", **kwargs) -> PurchaseReceipt:
    arguments = {"supplier_name": "Kopi Roasters", "reference": "DO-4471", **kwargs}
    return purchase_receipt_create(
        company=shop.company,
        location=shop.warehouse,
        lines=[(shop.variant.sku, quantity, Decimal(cost))],
        actor=None,
        **arguments,
    )


def average(shop: Shop) -> Decimal:
    with tenant_context(shop.company):
        return VariantCost.objects.get(variant=shop.variant).average_cost


def test_the_same_supplier_document_is_refused_a_second_time(
    shop: Shop, levels: LevelReader
) -> None:
    first = grn(shop)
    with pytest.raises(DuplicateReceipt) as refused:
        grn(shop, supplier_name="KOPI ROASTERS", reference="do-4471")
    assert first.number in refused.value.message
    assert levels(shop.variant, shop.warehouse) == (10, 0)
    assert count_of(shop, PurchaseReceipt) == 1
    # Confirmed as a second delivery under the same document, it goes in.
    second = grn(shop, second_delivery=True)
    assert second.number == "GRN-000002"  # the refused one left no gap
    assert levels(shop.variant, shop.warehouse) == (20, 0)
    # Receipts without a supplier reference are never taken for duplicates.
    grn(shop, reference="")
    grn(shop, reference="")
    assert_no_drift(shop)


def test_voiding_takes_the_units_and_their_cost_back_out(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 10, cost="2.00")
    mistake = grn(shop, quantity=30, cost="4.00")
    assert average(shop) == Decimal("3.5000")

    voided = purchase_receipt_void(
        company=shop.company, receipt=mistake, reason="entered twice", actor=None
    )

    assert voided.voided_at is not None
    assert voided.void_reason == "entered twice"
    assert levels(shop.variant, shop.warehouse) == (10, 0)
    assert average(shop) == Decimal("2.0000")
    with tenant_context(shop.company):
        [reversal] = StockMovement.objects.filter(kind=MovementKind.RECEIPT_VOID)
    assert (reversal.quantity, reversal.unit_cost, reversal.reason) == (
        -30,
        Decimal("4.0000"),
        "entered twice",
    )
    assert reversal.source_id == str(mistake.public_id)
    # A voided document may be received again, this time rightly.
    grn(shop, quantity=3, cost="4.00")
    assert_no_drift(shop)


def test_a_receipt_is_voided_once(shop: Shop) -> None:
    mistake = grn(shop)
    purchase_receipt_void(company=shop.company, receipt=mistake, reason="wrong", actor=None)
    with pytest.raises(ReceiptVoided):
        purchase_receipt_void(company=shop.company, receipt=mistake, reason="again", actor=None)
    assert count_of(shop, StockMovement) == 2


def test_units_already_promised_cannot_be_voided_away(shop: Shop, levels: LevelReader) -> None:
    mistake = grn(shop, quantity=10)
    stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 4)],
        ttl=timedelta(minutes=30),
    )
    before = count_of(shop, StockMovement)
    with pytest.raises(InsufficientStock, match="adjust the stock instead"):
        purchase_receipt_void(company=shop.company, receipt=mistake, reason="oops", actor=None)
    assert levels(shop.variant, shop.warehouse) == (10, 4)
    assert count_of(shop, StockMovement) == before
    with tenant_context(shop.company):
        assert PurchaseReceipt.objects.get(pk=mistake.pk).voided_at is None


def test_units_held_by_an_expired_reservation_can_be_voided_away(
    shop: Shop, levels: LevelReader
) -> None:
    """A void takes units away, so it first gives back what expired holds occupy, as every
    such step does, before any sweep has run."""
    mistake = grn(shop, quantity=10)
    now = timezone.now()
    stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 4)],
        ttl=timedelta(minutes=30),
        clock=lambda: now - timedelta(hours=1),
    )
    purchase_receipt_void(
        company=shop.company,
        receipt=mistake,
        reason="wrong supplier",
        actor=None,
        clock=lambda: now,
    )
    assert levels(shop.variant, shop.warehouse) == (0, 0)
    assert_no_drift(shop)


def test_a_void_needs_a_reason(shop: Shop) -> None:
    from pasar.core.errors import DomainError

    mistake = grn(shop)
    with pytest.raises(DomainError) as refused:
        purchase_receipt_void(company=shop.company, receipt=mistake, reason="  ", actor=None)
    assert refused.value.details[0]["field"] == "reason"


@inventory_settings()
@given(
    held=st.integers(min_value=1, max_value=10_000),
    held_cost=st.decimals(min_value=0, max_value=1000, places=4),
    received=st.integers(min_value=1, max_value=10_000),
    received_cost=st.decimals(min_value=0, max_value=1000, places=4),
)
def test_voiding_a_receipt_puts_the_average_back_within_rounding(
    held: int, held_cost: Decimal, received: int, received_cost: Decimal
) -> None:
    after = weighted_average_cost(
        on_hand=held, average_cost=held_cost, received=received, unit_cost=received_cost
    )
    back = average_cost_without(
        on_hand=held + received, average_cost=after, removed=received, unit_cost=received_cost
    )
    # One rounding on the way in (at most 0.00005 per unit held after), one on the way out.
    tolerance = Decimal("0.00005") * (held + received) / held + Decimal("0.00005")
    assert abs(back - held_cost) <= tolerance
    assert back >= 0


def test_a_receipt_names_every_problem_at_once(shop: Shop) -> None:
    from pasar.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        purchase_receipt_create(
            company=shop.company,
            location=shop.warehouse,
            supplier_name=" ",
            reference="x" * 101,
            lines=[(shop.variant.sku, 0, Decimal("-1"))],
            actor=None,
        )
    fields = {detail["field"] for detail in refused.value.details}
    assert fields == {"supplier_name", "reference", "lines.0.quantity", "lines.0.unit_cost"}
    assert count_of(shop, PurchaseReceipt) == 0
