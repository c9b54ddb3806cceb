"""Transfers, stock counts, purchase receipts and low stock: the stock operations of a shop."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from pasar.catalog.models import ProductStatus, VariantStatus
from pasar.core.errors import Conflict
from pasar.core.events import relay_pending
from pasar.core.models import OutboxEvent
from pasar.core.tenant import tenant_context
from pasar.inventory.models import (
    LowStockNotice,
    MovementKind,
    PurchaseReceipt,
    StockCount,
    StockCountStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
    VariantCost,
)
from pasar.inventory.selectors import (
    channel_sellable,
    low_stock_list,
    stock_drift,
    transfers_in_transit,
    units_in_transit,
)
from pasar.inventory.services import (
    InsufficientStock,
    InvalidLocation,
    InvalidStockRequest,
    ReserveLine,
    StockCountClosed,
    TransferClosed,
    UnknownSku,
    count_cancel,
    count_post,
    count_record,
    count_start,
    location_update,
    low_stock,
    low_stock_notices_create,
    low_stock_notices_send,
    purchase_receipt_create,
    stock_adjust,
    stock_commit,
    stock_fulfil,
    stock_level_set_reorder,
    stock_receive,
    stock_reserve,
    transfer_cancel,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from pasar.tenancy.models import Role
from tests.conftest import member
from tests.factories import CompanyFactory, LocationFactory, UserFactory
from tests.inventory.conftest import LevelReader, Shop
from tests.inventory.factories import ChannelFactory, VariantFactory
from tests.inventory.profiles import inventory_settings

pytestmark = pytest.mark.django_db


def receive(shop: Shop, location, quantity: int, cost: str = "4.00", variant=None) -> None:
    stock_receive(
        company=shop.company,
        variant=variant or shop.variant,
        location=location,
        quantity=quantity,
        unit_cost=Decimal(cost),
    )


def assert_no_drift(shop: Shop) -> None:
    assert stock_drift(company=shop.company) == []
    call_command("check_stock", company=str(shop.company.public_id))


def count_of(shop: Shop, model) -> int:
    with tenant_context(shop.company):
        return model.objects.count()


def draft(shop: Shop, quantity: int = 3, **kwargs) -> Transfer:
    return transfer_create(
        company=shop.company,
        source=kwargs.pop("source", shop.warehouse),
        destination=kwargs.pop("destination", shop.store),
        lines=kwargs.pop("lines", [(shop.variant.sku, quantity)]),
        actor=None,
        **kwargs,
    )


def topics(shop: Shop, topic: str) -> list[dict]:
    with tenant_context(shop.company):
        return list(
            OutboxEvent.objects.filter(topic=topic).order_by("id").values_list("payload", flat=True)
        )


# --- Transfers ---


def test_a_draft_transfer_moves_nothing_and_is_numbered(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 5)

    first, second = draft(shop), draft(shop, note="  weekend top-up ")

    assert (first.number, second.number) == ("TRF-000001", "TRF-000002")
    assert (first.status, second.note) == (TransferStatus.DRAFT, "weekend top-up")
    assert levels(shop.variant, shop.warehouse) == (5, 0)
    assert levels(shop.variant, shop.store) == (0, 0)


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"destination": "warehouse"}, InvalidStockRequest, "same_location"),
        ({"lines": [("NO-SUCH-SKU", 1)]}, UnknownSku, "unknown_sku"),
        ({"lines": []}, InvalidStockRequest, "required"),
        ({"quantity": 0}, InvalidStockRequest, "invalid"),
        ({"quantity": -2}, InvalidStockRequest, "invalid"),
        ({"lines": [("  ", 1)]}, InvalidStockRequest, "required"),
    ],
)
def test_bad_transfers_are_refused_and_write_nothing(shop: Shop, change, error, code) -> None:
    if change.get("destination") == "warehouse":
        change["destination"] = shop.warehouse
    with pytest.raises(error) as refused:
        draft(shop, **change)
    assert refused.value.code == code
    assert refused.value.message
    assert count_of(shop, Transfer) == 0


def test_dispatch_takes_units_off_the_source_and_counts_them_nowhere(
    shop: Shop, levels: LevelReader
) -> None:
    receive(shop, shop.warehouse, 5)
    receive(shop, shop.store, 1)
    transfer = transfer_dispatch(transfer=draft(shop, 4), actor=None)

    assert transfer.status == TransferStatus.IN_TRANSIT
    assert levels(shop.variant, shop.warehouse) == (1, 0)
    assert levels(shop.variant, shop.store) == (1, 0)
    with tenant_context(shop.company):
        assert [t.number for t in transfers_in_transit(company=shop.company)] == ["TRF-000001"]
        assert units_in_transit(company=shop.company) == {shop.variant.pk: 4}
        out = StockMovement.objects.get(kind=MovementKind.TRANSFER_OUT)
    assert (out.quantity, out.source_type, out.source_id) == (
        -4,
        "transfer",
        str(transfer.public_id),
    )
    # Units on the road are sellable nowhere: only the 2 on shelves can be reserved.
    sellable = channel_sellable(company=shop.company, channel=shop.web, variants=[shop.variant])
    assert sellable == {shop.variant.pk: 2}
    assert type(sellable[shop.variant.pk]) is int  # a count of units, never a Decimal
    with pytest.raises(InsufficientStock):
        stock_reserve(
            company=shop.company,
            channel=shop.web,
            lines=[ReserveLine(shop.variant.sku, 3)],
            ttl=timedelta(minutes=5),
        )
    assert_no_drift(shop)


def test_dispatch_refuses_units_promised_to_orders_and_moves_nothing(
    shop: Shop, levels: LevelReader
) -> None:
    other = VariantFactory(company=shop.company)
    receive(shop, shop.warehouse, 5)
    receive(shop, shop.warehouse, 9, variant=other)
    stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 3)],
        ttl=timedelta(minutes=5),
    )
    transfer = draft(shop, lines=[(other.sku, 9), (shop.variant.sku, 3)])

    with pytest.raises(InsufficientStock) as refused:
        transfer_dispatch(transfer=transfer, actor=None)

    assert refused.value.details == [{"sku": shop.variant.sku, "requested": 3, "available": 2}]
    assert levels(shop.variant, shop.warehouse) == (5, 3)
    assert levels(other, shop.warehouse) == (9, 0)
    with tenant_context(shop.company):
        assert Transfer.objects.get().status == TransferStatus.DRAFT
    assert_no_drift(shop)


def test_dispatch_uses_units_whose_reservation_expired(shop: Shop, clock) -> None:
    receive(shop, shop.warehouse, 2)
    stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 2)],
        ttl=timedelta(minutes=5),
        clock=clock,
    )
    clock.advance(minutes=6)

    transfer = transfer_dispatch(transfer=draft(shop, 2), actor=None, clock=clock)

    assert transfer.status == TransferStatus.IN_TRANSIT
    assert_no_drift(shop)


def test_partial_receipts_complete_the_transfer_at_the_dispatch_cost(
    shop: Shop, levels: LevelReader
) -> None:
    receive(shop, shop.warehouse, 6, cost="2.50")
    transfer = transfer_dispatch(transfer=draft(shop, 5), actor=None)

    transfer = transfer_receive(transfer=transfer, quantities={shop.variant.sku: 2}, actor=None)
    assert transfer.status == TransferStatus.PARTIALLY_RECEIVED
    assert levels(shop.variant, shop.store) == (2, 0)
    with tenant_context(shop.company):
        assert units_in_transit(company=shop.company) == {shop.variant.pk: 3}

    transfer = transfer_receive(transfer=transfer, quantities={shop.variant.sku: 3}, actor=None)
    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.received_at is not None
    assert levels(shop.variant, shop.store) == (5, 0)
    assert levels(shop.variant, shop.warehouse) == (1, 0)
    with tenant_context(shop.company):
        assert units_in_transit(company=shop.company) == {}
        costs = set(
            StockMovement.objects.filter(source_type="transfer").values_list("unit_cost", flat=True)
        )
    assert costs == {Decimal("2.5000")}
    assert_no_drift(shop)


def test_receiving_more_than_was_sent_is_refused(shop: Shop, levels: LevelReader) -> None:
    receive(shop, shop.warehouse, 6)
    transfer = transfer_dispatch(transfer=draft(shop, 4), actor=None)
    transfer_receive(transfer=transfer, quantities={shop.variant.sku: 3}, actor=None)

    with pytest.raises(Conflict) as refused:
        transfer_receive(transfer=transfer, quantities={shop.variant.sku: 2}, actor=None)

    assert refused.value.code == "more_than_sent"
    assert refused.value.details == [
        {"sku": shop.variant.sku, "sent": 4, "received": 3, "receiving": 2}
    ]
    assert levels(shop.variant, shop.store) == (3, 0)


@pytest.mark.parametrize(
    ("quantities", "code"),
    [({}, "required"), ({"X": -1}, "invalid"), ({"KOPI-UNSENT": 1}, "not_on_transfer")],
)
def test_bad_receipts_are_refused(shop: Shop, quantities, code) -> None:
    receive(shop, shop.warehouse, 2)
    VariantFactory(company=shop.company, sku="KOPI-UNSENT")
    transfer = transfer_dispatch(transfer=draft(shop, 2), actor=None)

    with pytest.raises(InvalidStockRequest) as refused:
        transfer_receive(transfer=transfer, quantities=quantities, actor=None)
    assert refused.value.code == code


def test_a_draft_cannot_be_received_and_only_a_draft_can_be_cancelled(shop: Shop) -> None:
    receive(shop, shop.warehouse, 4)
    transfer = draft(shop, 2)
    with pytest.raises(TransferClosed):
        transfer_receive(transfer=transfer, quantities={shop.variant.sku: 1}, actor=None)

    dispatched = transfer_dispatch(transfer=draft(shop, 2), actor=None)
    with pytest.raises(TransferClosed):
        transfer_cancel(transfer=dispatched, actor=None)
    assert transfer_dispatch(transfer=dispatched, actor=None).status == TransferStatus.IN_TRANSIT

    cancelled = transfer_cancel(transfer=transfer, actor=None)
    assert cancelled.status == TransferStatus.CANCELLED
    assert transfer_cancel(transfer=transfer, actor=None).status == TransferStatus.CANCELLED
    with pytest.raises(TransferClosed):
        transfer_dispatch(transfer=transfer, actor=None)
    with tenant_context(shop.company):
        assert StockMovement.objects.filter(kind=MovementKind.TRANSFER_OUT).count() == 1


@inventory_settings(max_examples=25)
@given(
    sent=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=3),
    deliveries=st.lists(
        st.lists(st.integers(min_value=0, max_value=7), min_size=3, max_size=3), max_size=6
    ),
)
@pytest.mark.django_db
def test_partial_receipts_never_exceed_what_was_sent_and_transfers_conserve_stock(
    sent: list[int], deliveries: list[list[int]]
) -> None:
    company = CompanyFactory()
    source = LocationFactory(company=company, name="Source")
    destination = LocationFactory(company=company, name="Destination")
    variants = [VariantFactory(company=company) for _ in sent]
    for variant in variants:
        stock_receive(
            company=company, variant=variant, location=source, quantity=10, unit_cost=Decimal(1)
        )
    transfer = transfer_create(
        company=company,
        source=source,
        destination=destination,
        lines=[(variant.sku, quantity) for variant, quantity in zip(variants, sent, strict=True)],
        actor=None,
    )
    transfer_dispatch(transfer=transfer, actor=None)
    arrived = [0] * len(sent)
    for delivery in deliveries:
        quantities = {
            variant.sku: units for variant, units in zip(variants, delivery, strict=False) if units
        }
        try:
            transfer_receive(transfer=transfer, quantities=quantities, actor=None)
        except (Conflict, InvalidStockRequest, TransferClosed):
            continue  # refused as a whole: nothing arrived
        for index, variant in enumerate(variants):
            arrived[index] += quantities.get(variant.sku, 0)

    with tenant_context(company):
        transfer.refresh_from_db()
        lines = {line.variant_id: line for line in transfer.lines.all()}
        in_transit = units_in_transit(company=company)
        for index, variant in enumerate(variants):
            line = lines[variant.pk]
            assert line.received == arrived[index] <= sent[index]
            on_hand = dict(
                StockLevel.objects.filter(variant=variant).values_list("location_id", "on_hand")
            )
            # Every unit is on a shelf or on the road, never both, never lost.
            assert (
                on_hand.get(source.pk, 0)
                + on_hand.get(destination.pk, 0)
                + in_transit.get(variant.pk, 0)
                == 10
            )
    done = all(a == s for a, s in zip(arrived, sent, strict=True))
    assert (transfer.status == TransferStatus.RECEIVED) is done
    assert stock_drift(company=company) == []


# --- Stock counts ---


def test_a_count_sheet_snapshots_what_the_records_expect(shop: Shop) -> None:
    other = VariantFactory(company=shop.company, sku="KOPI-ZZZ")
    receive(shop, shop.store, 7)
    receive(shop, shop.store, 2, variant=other)
    receive(shop, shop.warehouse, 40)

    count = count_start(company=shop.company, location=shop.store, actor=None)

    assert count.number == "CNT-000001"
    with tenant_context(shop.company):
        lines = list(count.lines.values_list("variant__sku", "expected", "counted"))
    assert lines == [(shop.variant.sku, 7, None), ("KOPI-ZZZ", 2, None)]


def test_a_count_of_named_skus_expects_zero_where_nothing_is_held(shop: Shop) -> None:
    count = count_start(
        company=shop.company, location=shop.store, skus=[shop.variant.sku], actor=None
    )
    with tenant_context(shop.company):
        assert list(count.lines.values_list("expected", flat=True)) == [0]
    with pytest.raises(UnknownSku):
        count_start(company=shop.company, location=shop.store, skus=["NOPE"], actor=None)
    with pytest.raises(InvalidStockRequest):
        count_start(company=shop.company, location=shop.warehouse, actor=None)


def test_posting_corrects_against_the_on_hand_at_posting_time(
    shop: Shop, levels: LevelReader
) -> None:
    other = VariantFactory(company=shop.company)
    receive(shop, shop.store, 10)
    receive(shop, shop.store, 4, variant=other)
    count = count_start(company=shop.company, location=shop.store, actor=None)
    count_record(count=count, quantities={shop.variant.sku: 9, other.sku: 4}, actor=None)
    count_record(count=count, quantities={shop.variant.sku: 8}, actor=None)  # a recount
    # Three more units arrive after the sheet was made but before posting.
    receive(shop, shop.store, 3)

    posted = count_post(count=count, actor=None)

    assert posted.status == StockCountStatus.POSTED
    assert levels(shop.variant, shop.store) == (8, 0)
    assert levels(other, shop.store) == (4, 0)
    with tenant_context(shop.company):
        line = count.lines.get(variant=shop.variant)
        movements = list(
            StockMovement.objects.filter(kind=MovementKind.COUNT_CORRECTION).values_list(
                "quantity", "source_type", "source_id"
            )
        )
    assert (line.expected, line.counted, line.on_hand_at_post, line.variance) == (10, 8, 13, -5)
    assert movements == [(-5, "stock_count", str(count.public_id))]
    assert count_post(count=count, actor=None).status == StockCountStatus.POSTED
    with pytest.raises(StockCountClosed):
        count_record(count=count, quantities={shop.variant.sku: 1}, actor=None)
    with pytest.raises(StockCountClosed):
        count_cancel(count=count, actor=None)
    assert_no_drift(shop)


def test_a_count_below_the_promised_units_is_refused_and_posts_nothing(
    shop: Shop, levels: LevelReader
) -> None:
    other = VariantFactory(company=shop.company)
    receive(shop, shop.warehouse, 5)
    receive(shop, shop.warehouse, 5, variant=other)
    stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 4)],
        ttl=timedelta(minutes=5),
    )
    count = count_start(company=shop.company, location=shop.warehouse, actor=None)
    count_record(count=count, quantities={shop.variant.sku: 3, other.sku: 1}, actor=None)

    with pytest.raises(InsufficientStock) as refused:
        count_post(count=count, actor=None)

    assert refused.value.code == "count_below_reserved"
    assert "promised" in refused.value.message
    assert refused.value.details == [{"sku": shop.variant.sku, "counted": 3, "reserved": 4}]
    assert levels(other, shop.warehouse) == (5, 0)
    with tenant_context(shop.company):
        assert StockCount.objects.get().status == StockCountStatus.OPEN
    assert_no_drift(shop)


def test_bad_count_records_are_refused(shop: Shop) -> None:
    receive(shop, shop.store, 1)
    count = count_start(company=shop.company, location=shop.store, actor=None)
    for quantities, code in (({}, "required"), ({shop.variant.sku: -1}, "invalid")):
        with pytest.raises(InvalidStockRequest) as refused:
            count_record(count=count, quantities=quantities, actor=None)
        assert refused.value.code == code
    VariantFactory(company=shop.company, sku="NOT-ON-SHEET")
    with pytest.raises(InvalidStockRequest) as refused:
        count_record(count=count, quantities={"NOT-ON-SHEET": 1}, actor=None)
    assert refused.value.code == "not_on_count"
    with pytest.raises(InvalidStockRequest):
        count_post(count=count, actor=None)  # nothing counted yet


def test_a_cancelled_count_posts_nothing(shop: Shop) -> None:
    receive(shop, shop.store, 1)
    count = count_start(company=shop.company, location=shop.store, actor=None)
    count_record(count=count, quantities={shop.variant.sku: 0}, actor=None)
    assert count_cancel(count=count, actor=None).status == StockCountStatus.CANCELLED
    with pytest.raises(StockCountClosed):
        count_post(count=count, actor=None)
    with tenant_context(shop.company):
        assert not StockMovement.objects.filter(kind=MovementKind.COUNT_CORRECTION).exists()


# --- Purchase receipts ---


def test_a_purchase_receipt_receives_every_line_and_moves_the_average(
    shop: Shop, levels: LevelReader
) -> None:
    other = VariantFactory(company=shop.company)
    receive(shop, shop.store, 10, cost="2.00")
    buyer = UserFactory()

    receipt = purchase_receipt_create(
        company=shop.company,
        location=shop.warehouse,
        supplier_name=" Kopi Roasters Pte Ltd ",
        reference="DO-4471",
        lines=[
            (shop.variant.sku, 10, Decimal("3.00")),
            (other.sku, 5, Decimal("1.25")),
            (shop.variant.sku, 20, Decimal("4.00")),
        ],
        actor=buyer,
    )

    assert (receipt.number, receipt.supplier_name) == ("GRN-000001", "Kopi Roasters Pte Ltd")
    assert levels(shop.variant, shop.warehouse) == (30, 0)
    assert levels(other, shop.warehouse) == (5, 0)
    with tenant_context(shop.company):
        averages = dict(VariantCost.objects.values_list("variant_id", "average_cost"))
        movements = list(
            StockMovement.objects.filter(source_type="purchase_receipt").values_list(
                "quantity", "unit_cost", "actor_id", "source_id"
            )
        )
        assert receipt.lines.count() == 3
    # 10 @ 2.00, then 10 @ 3.00 -> 2.50; then 20 @ 4.00 -> (20 x 2.50 + 80) / 40 = 3.25
    assert averages == {shop.variant.pk: Decimal("3.2500"), other.pk: Decimal("1.2500")}
    assert [m[:2] for m in movements] == [
        (10, Decimal("3.0000")),
        (5, Decimal("1.2500")),
        (20, Decimal("4.0000")),
    ]
    assert {m[2:] for m in movements} == {(buyer.pk, str(receipt.public_id))}
    second = purchase_receipt_create(
        company=shop.company,
        location=shop.store,
        supplier_name="Another",
        reference="",
        lines=[(other.sku, 1, Decimal("1"))],
        actor=None,
    )
    assert second.number == "GRN-000002"
    assert_no_drift(shop)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"supplier_name": "  "}, "supplier_name"),
        ({"lines": []}, "lines"),
        ({"lines": [("SKU", 0, Decimal(1))]}, "lines.0.quantity"),
        ({"lines": [("SKU", 1, Decimal(-1))]}, "lines.0.unit_cost"),
        ({"lines": [("SKU", 1, "abc")]}, "lines.0.unit_cost"),
        ({"reference": "x" * 101}, "reference"),
    ],
)
def test_bad_purchase_receipts_write_nothing(shop: Shop, change, field) -> None:
    arguments = {
        "supplier_name": "Kopi Roasters",
        "reference": "DO-1",
        "lines": [(shop.variant.sku, 1, Decimal(1))],
        **change,
    }
    arguments["lines"] = [
        (shop.variant.sku if sku == "SKU" else sku, quantity, cost)
        for sku, quantity, cost in arguments["lines"]
    ]
    with pytest.raises(InvalidStockRequest) as refused:
        purchase_receipt_create(
            company=shop.company, location=shop.warehouse, actor=None, **arguments
        )
    assert refused.value.details[0]["field"] == field
    assert count_of(shop, PurchaseReceipt) == 0
    assert count_of(shop, StockMovement) == 0


def test_an_unknown_sku_on_a_receipt_writes_nothing_not_even_a_number(shop: Shop) -> None:
    with pytest.raises(UnknownSku):
        purchase_receipt_create(
            company=shop.company,
            location=shop.warehouse,
            supplier_name="Kopi Roasters",
            reference="",
            lines=[(shop.variant.sku, 1, Decimal(1)), ("NOPE", 1, Decimal(1))],
            actor=None,
        )
    assert count_of(shop, StockMovement) == 0
    receipt = purchase_receipt_create(
        company=shop.company,
        location=shop.warehouse,
        supplier_name="Kopi Roasters",
        reference="",
        lines=[(shop.variant.sku, 1, Decimal(1))],
        actor=None,
    )
    assert receipt.number == "GRN-000001"


# --- Low stock ---


def low_stock_shop(shop: Shop, *, on_hand: int = 10, point: int = 3) -> None:
    receive(shop, shop.store, on_hand)
    stock_level_set_reorder(
        company=shop.company,
        variant=shop.variant,
        location=shop.store,
        reorder_point=point,
        reorder_quantity=24,
    )


def write_off(shop: Shop, units: int) -> None:
    stock_adjust(
        company=shop.company,
        variant=shop.variant,
        location=shop.store,
        quantity=-units,
        reason="damaged",
    )


def test_crossing_the_reorder_point_publishes_stock_low_once(shop: Shop) -> None:
    low_stock_shop(shop)
    write_off(shop, 6)  # 4 left: not yet low
    assert topics(shop, "stock.ran_low") == []

    write_off(shop, 1)  # 3 left: at the reorder point
    write_off(shop, 1)  # still low: no second event

    (event,) = topics(shop, "stock.ran_low")
    assert (event["sku"], event["on_hand"], event["reorder_point"]) == (shop.variant.sku, 3, 3)
    assert event["location_name"] == shop.store.name
    with tenant_context(shop.company):
        assert [level.on_hand for level in low_stock_list(company=shop.company)] == [2]

    receive(shop, shop.store, 20)  # restocked, then low again: a new event
    write_off(shop, 20)
    assert len(topics(shop, "stock.ran_low")) == 2


def test_a_sale_through_a_reservation_can_make_stock_low(shop: Shop) -> None:
    low_stock_shop(shop, on_hand=4, point=2)
    reservation = stock_reserve(
        company=shop.company,
        channel=shop.web,
        lines=[ReserveLine(shop.variant.sku, 2)],
        ttl=timedelta(minutes=5),
    )
    stock_commit(company=shop.company, reservation=reservation)
    assert topics(shop, "stock.ran_low") == []
    stock_fulfil(company=shop.company, reservation=reservation)
    assert len(topics(shop, "stock.ran_low")) == 1


def test_without_a_reorder_point_nothing_is_low(shop: Shop) -> None:
    receive(shop, shop.store, 2)
    write_off(shop, 2)
    assert topics(shop, "stock.ran_low") == []
    with tenant_context(shop.company):
        assert list(low_stock_list(company=shop.company)) == []


def test_the_warehouse_team_is_emailed_once_per_low_stock_event(
    shop: Shop, django_capture_on_commit_callbacks
) -> None:
    keeper = member(shop.company, Role.WAREHOUSE)
    second_keeper = member(shop.company, Role.WAREHOUSE)
    member(shop.company, Role.SALES)
    member(CompanyFactory(), Role.WAREHOUSE)  # another company's warehouse hears nothing
    low_stock_shop(shop)
    write_off(shop, 8)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()

    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [keeper.email, second_keeper.email]
    )
    assert shop.variant.sku in mail.outbox[0].subject
    assert "2 unit(s)" in mail.outbox[0].body
    with tenant_context(shop.company):
        event = OutboxEvent.objects.get(topic="stock.ran_low")
        assert LowStockNotice.objects.filter(sent_at__isnull=False).count() == 2

    # Redelivery (the relay's delivery record lost, say) and a repeated send email nobody.
    with django_capture_on_commit_callbacks(execute=True), tenant_context(shop.company):
        low_stock_notices_create(event=event)
    assert low_stock_notices_send(company_id=shop.company.pk, event_id=str(event.public_id)) == 0
    assert len(mail.outbox) == 2


# --- Reservations refuse what is not for sale ---


@pytest.mark.parametrize(
    ("product_status", "variant_status"),
    [
        (ProductStatus.DRAFT, VariantStatus.ACTIVE),
        (ProductStatus.ARCHIVED, VariantStatus.ACTIVE),
        (ProductStatus.ACTIVE, VariantStatus.ARCHIVED),
    ],
)
def test_reserving_what_is_not_for_sale_is_refused(
    shop: Shop, levels: LevelReader, product_status, variant_status
) -> None:
    receive(shop, shop.warehouse, 5)
    with tenant_context(shop.company):
        shop.variant.product.status = product_status
        shop.variant.product.save(update_fields=["status"])
        shop.variant.status = variant_status
        shop.variant.save(update_fields=["status"])

    with pytest.raises(InvalidStockRequest) as refused:
        stock_reserve(
            company=shop.company,
            channel=shop.web,
            lines=[ReserveLine(shop.variant.sku, 1)],
            ttl=timedelta(minutes=5),
        )

    assert (refused.value.code, refused.value.status) == ("not_for_sale", 409)
    assert shop.variant.sku in refused.value.message
    assert levels(shop.variant, shop.warehouse) == (5, 0)


# --- Locations ---


def test_a_location_can_be_renamed_and_closed(shop: Shop) -> None:
    LocationFactory(company=shop.company, name="Bugis kiosk")
    updated = location_update(
        company=shop.company, location=shop.store, name=" Tiong Bahru cafe ", is_active=False
    )
    assert (updated.name, updated.is_active) == ("Tiong Bahru cafe", False)
    with pytest.raises(Conflict):
        location_update(company=shop.company, location=shop.store, name="bugis kiosk")
    with pytest.raises(InvalidLocation):
        location_update(company=shop.company, location=shop.store, postal_code="12")


def test_channels_see_transfers_and_counts_consistently(shop: Shop) -> None:
    shopee = ChannelFactory(company=shop.company, kind="shopee")
    receive(shop, shop.warehouse, 8)
    transfer = transfer_dispatch(transfer=draft(shop, 3), actor=None)
    transfer_receive(transfer=transfer, quantities={shop.variant.sku: 3}, actor=None)
    count = count_start(company=shop.company, location=shop.warehouse, actor=None)
    count_record(count=count, quantities={shop.variant.sku: 4}, actor=None)
    count_post(count=count, actor=None)

    assert channel_sellable(company=shop.company, channel=shopee, variants=[shop.variant]) == {
        shop.variant.pk: 7
    }
    assert_no_drift(shop)


def test_a_low_stock_mail_that_fails_is_sent_by_the_retry_and_no_lock_is_held_while_sending(
    shop: Shop, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = member(shop.company, Role.WAREHOUSE)
    low_stock_shop(shop)
    with django_capture_on_commit_callbacks(execute=False):
        write_off(shop, 8)
        relay_pending()
    with tenant_context(shop.company):
        event = OutboxEvent.objects.get(topic="stock.ran_low")
    mail.outbox.clear()

    outside = list(connection.savepoint_ids)  # the test's own transaction, nothing more

    def refused(**_: object) -> None:
        # Sending happens outside the notice's transaction, so its row lock is not held.
        assert connection.savepoint_ids == outside
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(low_stock, "send_templated_mail", refused)
    with pytest.raises(ConnectionRefusedError):
        low_stock_notices_send(company_id=shop.company.pk, event_id=str(event.public_id))
    with tenant_context(shop.company):
        assert LowStockNotice.objects.filter(sent_at__isnull=True).count() == 1

    monkeypatch.undo()
    assert low_stock_notices_send(company_id=shop.company.pk, event_id=str(event.public_id)) == 1
    [message] = mail.outbox
    assert message.to == [keeper.email]
    assert message.alternatives[0][1] == "text/html"
