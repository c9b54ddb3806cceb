"""The transfer, stock count and goods receipt pages, through Django's test client."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from pasar.core.tenant import tenant_context
from pasar.inventory import services
from pasar.inventory.models import (
    Location,
    PurchaseReceipt,
    StockCount,
    StockCountStatus,
    Transfer,
    TransferStatus,
)
from pasar.tenancy.models import Role, User
from tests.conftest import member
from tests.factories import CompanyFactory
from tests.inventory.conftest import Shop, level_of
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def on_hand(shop: Shop, location: Location) -> int:
    level = level_of(shop.company, shop.variant, location)
    return level.on_hand if level is not None else 0


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    """20 units at the warehouse, none at the store."""
    services.stock_receive(
        company=shop.company,
        variant=shop.variant,
        location=shop.warehouse,
        quantity=20,
        unit_cost=Decimal("4.10"),
    )
    return shop


@pytest.fixture
def warehouse_client(stocked: Shop) -> Client:
    return signed_in(member(stocked.company, Role.WAREHOUSE))


def transfer_form(shop: Shop, **overrides: str) -> dict[str, str]:
    data = {
        "source": str(shop.warehouse.public_id),
        "destination": str(shop.store.public_id),
        "note": "",
        "line_0_sku": shop.variant.sku,
        "line_0_quantity": "10",
    }
    return data | overrides


# Dangerous actions ask first; tests of what they do answer yes at once.
CONFIRMED = {"confirmed": "yes"}


def receipt_form(shop: Shop, **overrides: str) -> dict[str, str]:
    data = {
        "location": str(shop.store.public_id),
        "supplier_name": "Chye Seng Huat Hardware",
        "reference": "DO-1042",
        "line_0_sku": shop.variant.sku,
        "line_0_quantity": "12",
        "line_0_unit_cost": "4.50",
    }
    return data | overrides


def documents(shop: Shop) -> tuple[Transfer, StockCount, PurchaseReceipt]:
    transfer = services.transfer_create(
        company=shop.company,
        source=shop.warehouse,
        destination=shop.store,
        lines=[(shop.variant.sku, 2)],
        actor=None,
    )
    count = services.count_start(company=shop.company, location=shop.warehouse, actor=None)
    receipt = services.purchase_receipt_create(
        company=shop.company,
        location=shop.store,
        supplier_name="Chye Seng Huat Hardware",
        reference="DO-1",
        lines=[(shop.variant.sku, 3, Decimal("4.00"))],
        actor=None,
    )
    return transfer, count, receipt


def document_counts(shop: Shop) -> tuple[int, int, int]:
    with tenant_context(shop.company):
        return (
            Transfer.objects.count(),
            StockCount.objects.count(),
            PurchaseReceipt.objects.count(),
        )


# -- who may do what ------------------------------------------------------------------------


def test_every_page_renders_for_the_warehouse(stocked: Shop, warehouse_client: Client) -> None:
    transfer, count, receipt = documents(stocked)
    for name, text in (
        ("inventory:transfer_list", transfer.number),
        ("inventory:transfer_new", "Save draft"),
        ("inventory:count_list", count.number),
        ("inventory:count_new", "Make the count sheet"),
        ("inventory:receipt_list", receipt.number),
        ("inventory:receipt_new", "Receive goods"),
    ):
        response = warehouse_client.get(reverse(name))
        assert response.status_code == 200, name
        assert text in page_text(response), name
    for name, document in (
        ("inventory:transfer_detail", transfer),
        ("inventory:count_detail", count),
        ("inventory:receipt_detail", receipt),
    ):
        response = warehouse_client.get(reverse(name, args=[document.public_id]))
        assert response.status_code == 200, name
        assert stocked.variant.sku in page_text(response), name
    assert "Dispatch</button>" in page_text(
        warehouse_client.get(reverse("inventory:transfer_detail", args=[transfer.public_id]))
    )


def test_finance_may_look_but_not_change(stocked: Shop) -> None:
    transfer, count, _ = documents(stocked)
    client = signed_in(member(stocked.company, Role.FINANCE))
    for name in ("inventory:transfer_list", "inventory:count_list", "inventory:receipt_list"):
        assert client.get(reverse(name)).status_code == 200, name
    detail = page_text(client.get(reverse("inventory:transfer_detail", args=[transfer.public_id])))
    assert "Dispatch</button>" not in detail
    for name in ("inventory:transfer_new", "inventory:count_new", "inventory:receipt_new"):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.post(reverse("inventory:transfer_new"), transfer_form(stocked)).status_code == 403
    assert client.post(reverse("inventory:receipt_new"), receipt_form(stocked)).status_code == 403
    for name, document in (
        ("inventory:transfer_dispatch", transfer),
        ("inventory:transfer_receive", transfer),
        ("inventory:transfer_cancel", transfer),
        ("inventory:count_record", count),
        ("inventory:count_cancel", count),
    ):
        assert client.post(reverse(name, args=[document.public_id])).status_code == 403, name
    assert document_counts(stocked) == (1, 1, 1)
    assert on_hand(stocked, stocked.warehouse) == 20


def test_another_companys_documents_are_not_found(stocked: Shop) -> None:
    transfer, count, receipt = documents(stocked)
    client = signed_in(member(CompanyFactory(), Role.OWNER))
    for name, document in (
        ("inventory:transfer_detail", transfer),
        ("inventory:count_detail", count),
        ("inventory:receipt_detail", receipt),
    ):
        assert client.get(reverse(name, args=[document.public_id])).status_code == 404, name


# -- transfers ------------------------------------------------------------------------------


def test_a_transfer_goes_from_draft_to_received_through_the_pages(
    stocked: Shop, warehouse_client: Client
) -> None:
    created = warehouse_client.post(reverse("inventory:transfer_new"), transfer_form(stocked))
    assert created.status_code == 302
    with tenant_context(stocked.company):
        transfer = Transfer.objects.get()
    detail_url = reverse("inventory:transfer_detail", args=[transfer.public_id])
    assert created["Location"] == detail_url
    assert transfer.status == TransferStatus.DRAFT
    assert on_hand(stocked, stocked.warehouse) == 20

    dispatched = warehouse_client.post(
        reverse("inventory:transfer_dispatch", args=[transfer.public_id]), CONFIRMED
    )
    assert dispatched.status_code == 302
    assert on_hand(stocked, stocked.warehouse) == 10
    assert on_hand(stocked, stocked.store) == 0
    listing = page_text(warehouse_client.get(reverse("inventory:transfer_list")))
    assert 'class="is-low"' in listing  # on the road, highlighted
    assert "In transit" in listing

    receive_url = reverse("inventory:transfer_receive", args=[transfer.public_id])
    assert warehouse_client.post(receive_url, {"line_0": "4"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PARTIALLY_RECEIVED
    assert on_hand(stocked, stocked.store) == 4
    assert "Still to come" in page_text(warehouse_client.get(detail_url))

    assert warehouse_client.post(receive_url, {"line_0": "6"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED
    assert on_hand(stocked, stocked.warehouse) == 10
    assert on_hand(stocked, stocked.store) == 10
    received = page_text(warehouse_client.get(detail_url))
    assert "Receive goods</button>" not in received
    assert "Dispatch</button>" not in received


def test_receiving_more_than_was_sent_is_refused_on_the_line(
    stocked: Shop, warehouse_client: Client
) -> None:
    transfer, _, _ = documents(stocked)
    warehouse_client.post(
        reverse("inventory:transfer_dispatch", args=[transfer.public_id]), CONFIRMED
    )
    response = warehouse_client.post(
        reverse("inventory:transfer_receive", args=[transfer.public_id]), {"line_0": "5"}
    )
    assert response.status_code == 400
    assert "More than was sent" in page_text(response)
    assert on_hand(stocked, stocked.store) == 3  # only the goods receipt's units


def test_dispatching_more_than_the_source_holds_shows_why(
    stocked: Shop, warehouse_client: Client
) -> None:
    warehouse_client.post(
        reverse("inventory:transfer_new"), transfer_form(stocked, line_0_quantity="25")
    )
    with tenant_context(stocked.company):
        transfer = Transfer.objects.get()
    response = warehouse_client.post(
        reverse("inventory:transfer_dispatch", args=[transfer.public_id]), CONFIRMED
    )
    assert response.status_code == 409
    assert "Nothing was dispatched" in page_text(response)
    assert on_hand(stocked, stocked.warehouse) == 20


def test_a_draft_transfer_can_be_cancelled(stocked: Shop, warehouse_client: Client) -> None:
    transfer, _, _ = documents(stocked)
    response = warehouse_client.post(
        reverse("inventory:transfer_cancel", args=[transfer.public_id]), CONFIRMED
    )
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED
    cancelled = page_text(
        warehouse_client.get(reverse("inventory:transfer_list"), {"status": "cancelled"})
    )
    assert transfer.number in cancelled


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            lambda shop: {"destination": str(shop.warehouse.public_id)},
            "destination",
            "choose a different destination",
        ),
        (
            lambda shop: {"line_0_sku": "NO-SUCH-SKU"},
            "line_0_sku",
            "No product has the SKU NO-SUCH-SKU.",
        ),
        (lambda shop: {"line_0_quantity": "0"}, "line_0_quantity", "at least 1"),
        (
            lambda shop: {"line_0_sku": "", "line_0_quantity": ""},
            None,
            "needs at least one line",
        ),
    ],
)
def test_a_bad_transfer_shows_the_error_and_writes_nothing(
    stocked: Shop,
    warehouse_client: Client,
    overrides: Callable[[Shop], dict[str, str]],
    field: str | None,
    message: str,
) -> None:
    response = warehouse_client.post(
        reverse("inventory:transfer_new"), transfer_form(stocked, **overrides(stocked))
    )
    assert response.status_code == 400
    assert message in page_text(response)
    if field is not None:
        assert message in " ".join(response.context["form"].errors[field])
    assert document_counts(stocked) == (0, 0, 0)


# -- stock counts ---------------------------------------------------------------------------


def test_a_count_posts_its_variance(stocked: Shop, warehouse_client: Client) -> None:
    started = warehouse_client.post(
        reverse("inventory:count_new"), {"location": str(stocked.warehouse.public_id)}
    )
    assert started.status_code == 302
    with tenant_context(stocked.company):
        count = StockCount.objects.get()
    sheet = page_text(warehouse_client.get(started["Location"]))
    assert stocked.variant.sku in sheet
    assert '<td class="num" data-label="Expected">20</td>' in sheet

    record_url = reverse("inventory:count_record", args=[count.public_id])
    saved = warehouse_client.post(record_url, {"line_0": "17", "action": "save"})
    assert saved.status_code == 302
    assert on_hand(stocked, stocked.warehouse) == 20  # saved, not posted

    posted = warehouse_client.post(record_url, {"line_0": "17", "action": "post", **CONFIRMED})
    assert posted.status_code == 302
    count.refresh_from_db()
    assert count.status == StockCountStatus.POSTED
    assert on_hand(stocked, stocked.warehouse) == 17
    with tenant_context(stocked.company):
        assert count.lines.get().variance == -3
    assert '<span class="qty-out">-3</span>' in page_text(warehouse_client.get(posted["Location"]))


def test_a_count_sheet_refuses_a_negative_count(stocked: Shop, warehouse_client: Client) -> None:
    count = services.count_start(company=stocked.company, location=stocked.warehouse, actor=None)
    response = warehouse_client.post(
        reverse("inventory:count_record", args=[count.public_id]),
        {"line_0": "-1", "action": "post"},
    )
    assert response.status_code == 400
    assert "0 or more" in " ".join(response.context["sheet_form"].errors["line_0"])
    count.refresh_from_db()
    assert count.status == StockCountStatus.OPEN
    assert on_hand(stocked, stocked.warehouse) == 20


def test_a_count_can_be_cancelled_and_then_not_posted(
    stocked: Shop, warehouse_client: Client
) -> None:
    count = services.count_start(company=stocked.company, location=stocked.warehouse, actor=None)
    assert (
        warehouse_client.post(
            reverse("inventory:count_cancel", args=[count.public_id]), CONFIRMED
        ).status_code
        == 302
    )
    response = warehouse_client.post(
        reverse("inventory:count_record", args=[count.public_id]),
        {"line_0": "1", "action": "post", **CONFIRMED},
    )
    assert response.status_code == 400
    assert "can no longer change" in page_text(response)
    assert on_hand(stocked, stocked.warehouse) == 20


def test_a_count_of_an_empty_location_or_unknown_sku_says_so(
    stocked: Shop, warehouse_client: Client
) -> None:
    url = reverse("inventory:count_new")
    empty = warehouse_client.post(url, {"location": str(stocked.store.public_id)})
    assert empty.status_code == 400
    assert "holds nothing to count yet" in " ".join(empty.context["form"].errors["skus"])
    unknown = warehouse_client.post(
        url, {"location": str(stocked.store.public_id), "skus": "NO-SUCH-SKU"}
    )
    assert "No product has the SKU NO-SUCH-SKU." in page_text(unknown)
    assert document_counts(stocked) == (0, 0, 0)


# -- goods receipts -------------------------------------------------------------------------


def test_a_goods_receipt_raises_on_hand(stocked: Shop, warehouse_client: Client) -> None:
    second = VariantFactory(company=stocked.company)
    response = warehouse_client.post(
        reverse("inventory:receipt_new"),
        receipt_form(stocked, line_2_sku=second.sku, line_2_quantity="5", line_2_unit_cost="1.20"),
    )
    assert response.status_code == 302
    assert on_hand(stocked, stocked.store) == 12
    second_level = level_of(stocked.company, second, stocked.store)
    assert second_level is not None
    assert second_level.on_hand == 5
    detail = page_text(warehouse_client.get(response["Location"]))
    assert "Chye Seng Huat Hardware" in detail
    assert "S$4.50" in detail
    assert second.sku in detail


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"line_0_sku": "NO-SUCH-SKU"}, "line_0_sku", "No product has the SKU NO-SUCH-SKU."),
        ({"line_0_quantity": "0"}, "line_0_quantity", "at least 1"),
        ({"line_0_unit_cost": "-1"}, "line_0_unit_cost", "cannot be negative"),
        ({"supplier_name": ""}, "supplier_name", "Name the supplier"),
    ],
)
def test_a_bad_goods_receipt_shows_the_error_and_writes_nothing(
    stocked: Shop,
    warehouse_client: Client,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = warehouse_client.post(
        reverse("inventory:receipt_new"), receipt_form(stocked, **overrides)
    )
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert document_counts(stocked) == (0, 0, 0)
    assert on_hand(stocked, stocked.store) == 0


def test_a_duplicate_receipt_is_refused_then_confirmed_and_a_receipt_is_voided(
    stocked: Shop, warehouse_client: Client
) -> None:
    first = warehouse_client.post(reverse("inventory:receipt_new"), receipt_form(stocked))
    assert first.status_code == 302
    again = warehouse_client.post(reverse("inventory:receipt_new"), receipt_form(stocked))
    assert again.status_code == 400
    text = page_text(again)
    assert "DO-1042 was already received as GRN-000001" in text
    assert 'type="checkbox" name="second_delivery"' in text
    assert on_hand(stocked, stocked.store) == 12

    confirmed = warehouse_client.post(
        reverse("inventory:receipt_new"), receipt_form(stocked, second_delivery="on")
    )
    assert confirmed.status_code == 302
    assert on_hand(stocked, stocked.store) == 24

    void_url = confirmed["Location"] + "void/"
    no_reason = warehouse_client.post(void_url, {"reason": ""})
    assert no_reason.status_code == 400
    assert on_hand(stocked, stocked.store) == 24
    voided = warehouse_client.post(void_url, {"reason": "entered twice"})
    assert voided.status_code == 302
    assert on_hand(stocked, stocked.store) == 12
    detail = page_text(warehouse_client.get(confirmed["Location"]))
    assert "Voided" in detail
    assert "entered twice" in detail


def test_dispatch_cancel_and_posting_ask_before_they_act(
    stocked: Shop, warehouse_client: Client
) -> None:
    transfer, count, _ = documents(stocked)
    dispatch_url = reverse("inventory:transfer_dispatch", args=[transfer.public_id])
    asked = warehouse_client.post(dispatch_url)
    assert asked.status_code == 200
    text = page_text(asked)
    assert f"Dispatch {transfer.number}?" in text
    assert 'name="confirmed" value="yes"' in text
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DRAFT

    cancel_asked = page_text(
        warehouse_client.post(reverse("inventory:transfer_cancel", args=[transfer.public_id]))
    )
    assert f"Cancel {transfer.number}?" in cancel_asked
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DRAFT

    record_url = reverse("inventory:count_record", args=[count.public_id])
    post_asked = warehouse_client.post(record_url, {"line_0": "17", "action": "post"})
    assert post_asked.status_code == 200
    assert f"Post {count.number}?" in page_text(post_asked)
    count.refresh_from_db()
    assert count.status == StockCountStatus.OPEN  # the figures are saved, not posted
    assert on_hand(stocked, stocked.warehouse) == 20
    # The confirmation posts the saved figures.
    posted = warehouse_client.post(record_url, {"action": "post", **CONFIRMED})
    assert posted.status_code == 302
    assert on_hand(stocked, stocked.warehouse) == 17


def test_the_movement_history_names_and_links_each_source_document(
    stocked: Shop, warehouse_client: Client
) -> None:
    created = warehouse_client.post(reverse("inventory:receipt_new"), receipt_form(stocked))
    history = page_text(
        warehouse_client.get(
            reverse("inventory:movement_history", args=[stocked.variant.public_id])
        )
    )
    assert f'<a href="{created["Location"]}">GRN-000001</a>' in history
    assert ">purchase_receipt<" not in history
