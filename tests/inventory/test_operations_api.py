"""The stock operations over /api/v1/inventory/: envelopes, pagination, roles, other companies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from pasar.core.tenant import tenant_context
from pasar.inventory.models import (
    Channel,
    ChannelBuffer,
    Location,
    PurchaseReceipt,
    StockCount,
    StockMovement,
    Transfer,
)
from pasar.inventory.selectors import stock_drift
from pasar.inventory.services import stock_level_set_reorder, stock_receive, transfer_create
from pasar.tenancy.models import Company, Role
from tests.conftest import authenticated_client, member
from tests.factories import LocationFactory
from tests.inventory.conftest import LevelReader, Shop
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/inventory/"


@pytest.fixture
def stocked(shop: Shop) -> Shop:
    stock_receive(
        company=shop.company,
        variant=shop.variant,
        location=shop.warehouse,
        quantity=10,
        unit_cost=Decimal("2.00"),
    )
    return shop


def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.content
    envelope = response.json()
    assert envelope["status"] == "success"
    return envelope["data"]


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    envelope = response.json()
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == code
    assert envelope["error"]["message"]
    return envelope["error"]


def counts(company: Company) -> dict[str, int]:
    with tenant_context(company):
        return {
            model.__name__: model.objects.count()
            for model in (
                Location,
                StockMovement,
                Transfer,
                StockCount,
                PurchaseReceipt,
                Channel,
                ChannelBuffer,
            )
        }


def role_client(shop: Shop, role: str) -> APIClient:
    return authenticated_client(member(shop.company, role), shop.company)


# --- Locations ---


def test_locations_are_listed_created_and_updated(shop: Shop, owner_client) -> None:
    listed = ok(owner_client.get(API + "locations"))
    assert [location["name"] for location in listed] == ["Jurong warehouse", "Tiong Bahru store"]

    created = ok(
        owner_client.post(
            API + "locations",
            {"name": "Bugis kiosk", "kind": "store", "postal_code": "188021"},
            format="json",
        ),
        201,
    )
    assert (created["name"], created["allocation_priority"]) == ("Bugis kiosk", 100)

    updated = ok(
        owner_client.patch(
            API + f"locations/{created['id']}", {"is_active": False, "allocation_priority": 5}
        )
    )
    assert (updated["is_active"], updated["allocation_priority"]) == (False, 5)
    assert len(ok(owner_client.get(API + "locations"))) == 2
    assert len(ok(owner_client.get(API + "locations", {"include_closed": "true"}))) == 3


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "Jurong warehouse"}, 409, "location_name_taken"),
        ({"name": "Kiosk", "postal_code": "12"}, 400, "invalid_location"),
        ({"name": "Kiosk", "colour": "red"}, 400, "invalid"),
        ({"kind": "store"}, 400, "invalid"),
    ],
)
def test_bad_locations_write_nothing(shop: Shop, owner_client, body, status, code) -> None:
    before = counts(shop.company)
    refused(owner_client.post(API + "locations", body, format="json"), status, code)
    assert counts(shop.company) == before


def test_another_companys_location_is_not_found(
    shop: Shop, owner_client, other_company: Company
) -> None:
    theirs = LocationFactory(company=other_company)
    refused(owner_client.get(API + f"locations/{theirs.public_id}"), 404, "location_not_found")
    refused(
        owner_client.patch(API + f"locations/{theirs.public_id}", {"name": "Mine"}),
        404,
        "location_not_found",
    )
    refused(owner_client.get(API + "locations/not-a-uuid"), 404, "location_not_found")


# --- Levels, movements, adjustments, low stock ---


def test_levels_filter_by_location_sku_and_low(stocked: Shop, owner_client) -> None:
    other = VariantFactory(company=stocked.company, sku="TEH-1")
    stock_receive(
        company=stocked.company,
        variant=other,
        location=stocked.store,
        quantity=2,
        unit_cost=Decimal(1),
    )
    stock_level_set_reorder(
        company=stocked.company,
        variant=other,
        location=stocked.store,
        reorder_point=2,
        reorder_quantity=12,
    )

    every = ok(owner_client.get(API + "levels"))
    assert {(level["sku"], level["location_name"]) for level in every} == {
        (stocked.variant.sku, "Jurong warehouse"),
        ("TEH-1", "Tiong Bahru store"),
    }
    by_location = ok(
        owner_client.get(API + "levels", {"location": str(stocked.warehouse.public_id)})
    )
    assert [(level["sku"], level["available"]) for level in by_location] == [
        (stocked.variant.sku, 10)
    ]
    by_sku = ok(owner_client.get(API + "levels", {"sku": "TEH-1"}))
    assert [level["is_low"] for level in by_sku] == [True]
    low = ok(owner_client.get(API + "levels", {"low": "true"}))
    assert [level["sku"] for level in low] == ["TEH-1"]
    assert [level["sku"] for level in ok(owner_client.get(API + "low-stock"))] == ["TEH-1"]


def test_reorder_points_are_set_through_the_api(stocked: Shop, owner_client) -> None:
    level = ok(
        owner_client.post(
            API + "levels/reorder",
            {
                "sku": stocked.variant.sku,
                "location": str(stocked.warehouse.public_id),
                "reorder_point": 12,
                "reorder_quantity": 24,
            },
            format="json",
        )
    )
    assert (level["reorder_point"], level["is_low"]) == (12, True)


def test_an_adjustment_is_recorded_and_shows_in_the_paginated_history(
    stocked: Shop, owner, owner_client, levels: LevelReader
) -> None:
    for _ in range(2):
        movement = ok(
            owner_client.post(
                API + "adjustments",
                {
                    "sku": stocked.variant.sku,
                    "location": str(stocked.warehouse.public_id),
                    "quantity": -1,
                    "reason": "dropped a bag",
                },
                format="json",
            ),
            201,
        )
    assert (movement["kind"], movement["quantity"], movement["reason"]) == (
        "adjustment",
        -1,
        "dropped a bag",
    )
    assert movement["actor"] == owner.full_name
    assert levels(stocked.variant, stocked.warehouse) == (8, 0)

    response = owner_client.get(API + "movements", {"sku": stocked.variant.sku, "per_page": 2})
    page = ok(response)
    assert [m["kind"] for m in page] == ["adjustment", "adjustment"]
    assert response.json()["meta"]["pagination"] == {
        "page": 1,
        "per_page": 2,
        "total": 3,
        "pages": 2,
    }
    second = ok(
        owner_client.get(API + "movements", {"sku": stocked.variant.sku, "per_page": 2, "page": 2})
    )
    assert [m["kind"] for m in second] == ["receipt"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"quantity": -11}, 409, "insufficient_stock"),
        ({"quantity": 0}, 400, "invalid"),
        ({"reason": ""}, 400, "invalid"),
        ({"sku": "NOPE"}, 400, "unknown_sku"),
        ({"quantity": "lots"}, 400, "invalid"),
        ({"extra": 1}, 400, "invalid"),
    ],
)
def test_bad_adjustments_write_nothing(stocked: Shop, owner_client, change, status, code) -> None:
    body = {
        "sku": stocked.variant.sku,
        "location": str(stocked.warehouse.public_id),
        "quantity": -1,
        "reason": "damaged",
        **change,
    }
    before = counts(stocked.company)
    refused(owner_client.post(API + "adjustments", body, format="json"), status, code)
    assert counts(stocked.company) == before


def test_movement_history_needs_a_known_sku(stocked: Shop, owner_client) -> None:
    refused(owner_client.get(API + "movements"), 400, "invalid")
    refused(owner_client.get(API + "movements", {"sku": "NOPE"}), 400, "unknown_sku")


# --- Channels and buffers ---


def test_channels_are_opened_and_buffered(stocked: Shop, owner_client) -> None:
    created = ok(
        owner_client.post(API + "channels", {"kind": "shopee", "buffer_units": 1}, format="json"),
        201,
    )
    assert (created["kind"], created["name"], created["buffer_units"]) == ("shopee", "Shopee", 1)
    refused(
        owner_client.post(API + "channels", {"kind": "shopee"}, format="json"),
        409,
        "channel_exists",
    )

    buffered = ok(
        owner_client.put(
            API + "channels/shopee/buffer",
            {"buffer_units": 3, "sku": stocked.variant.sku},
            format="json",
        )
    )
    assert buffered["buffers"] == [{"sku": stocked.variant.sku, "units": 3}]
    default = ok(
        owner_client.put(API + "channels/shopee/buffer", {"buffer_units": 2}, format="json")
    )
    assert default["buffer_units"] == 2
    assert {channel["kind"] for channel in ok(owner_client.get(API + "channels"))} == {
        "web",
        "shopee",
    }
    refused(
        owner_client.put(API + "channels/lazada/buffer", {"buffer_units": 1}, format="json"),
        404,
        "channel_not_found",
    )


# --- Transfers ---


def test_a_transfer_goes_from_draft_to_received_over_the_api(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    sku = stocked.variant.sku
    created = ok(
        owner_client.post(
            API + "transfers",
            {
                "source": str(stocked.warehouse.public_id),
                "destination": str(stocked.store.public_id),
                "note": "for the weekend",
                "lines": [{"sku": sku, "quantity": 6}],
            },
            format="json",
        ),
        201,
    )
    assert (created["number"], created["status"], created["source"]["name"]) == (
        "TRF-000001",
        "draft",
        "Jurong warehouse",
    )
    url = API + f"transfers/{created['id']}"

    dispatched = ok(owner_client.post(url + "/dispatch"))
    assert dispatched["status"] == "in_transit"
    assert levels(stocked.variant, stocked.warehouse) == (4, 0)
    in_transit = ok(owner_client.get(API + "transfers", {"status": "in_transit"}))
    assert [t["lines"][0]["outstanding"] for t in in_transit] == [6]

    partly = ok(
        owner_client.post(url + "/receive", {"lines": [{"sku": sku, "quantity": 2}]}, format="json")
    )
    assert (partly["status"], partly["lines"][0]["received"]) == ("partially_received", 2)
    error = refused(
        owner_client.post(
            url + "/receive", {"lines": [{"sku": sku, "quantity": 5}]}, format="json"
        ),
        409,
        "more_than_sent",
    )
    assert error["details"] == [{"sku": sku, "sent": 6, "received": 2, "receiving": 5}]
    done = ok(
        owner_client.post(url + "/receive", {"lines": [{"sku": sku, "quantity": 4}]}, format="json")
    )
    assert done["status"] == "received"
    assert levels(stocked.variant, stocked.store) == (6, 0)
    refused(owner_client.post(url + "/cancel"), 409, "transfer_closed")
    assert ok(owner_client.get(url))["status"] == "received"
    assert stock_drift(company=stocked.company) == []


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"destination": "source"}, 400, "same_location"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 400, "unknown_sku"),
        ({"lines": [{"sku": "SKU", "quantity": 0}]}, 400, "invalid"),
        ({"lines": [{"sku": "SKU", "quantity": -3}]}, 400, "invalid"),
        ({"lines": []}, 400, "invalid"),
        ({"destination": "not-a-uuid"}, 400, "invalid"),
        ({"destination": "elsewhere"}, 404, "location_not_found"),
    ],
)
def test_bad_transfers_write_nothing(
    stocked: Shop, owner_client, other_company: Company, change, status, code
) -> None:
    body = {
        "source": str(stocked.warehouse.public_id),
        "destination": str(stocked.store.public_id),
        "lines": [{"sku": stocked.variant.sku, "quantity": 1}],
        **change,
    }
    if body["destination"] == "source":
        body["destination"] = body["source"]
    if body["destination"] == "elsewhere":
        body["destination"] = str(LocationFactory(company=other_company).public_id)
    body["lines"] = [
        {**line, "sku": stocked.variant.sku if line["sku"] == "SKU" else line["sku"]}
        for line in body["lines"]
    ]
    before = counts(stocked.company)
    refused(owner_client.post(API + "transfers", body, format="json"), status, code)
    assert counts(stocked.company) == before


def test_dispatching_more_than_is_available_is_refused(stocked: Shop, owner_client) -> None:
    transfer = transfer_create(
        company=stocked.company,
        source=stocked.warehouse,
        destination=stocked.store,
        lines=[(stocked.variant.sku, 11)],
        actor=None,
    )
    before = counts(stocked.company)
    error = refused(
        owner_client.post(API + f"transfers/{transfer.public_id}/dispatch"),
        409,
        "insufficient_stock",
    )
    assert error["details"] == [{"sku": stocked.variant.sku, "requested": 11, "available": 10}]
    assert counts(stocked.company) == before


def test_another_companys_transfer_is_not_found(stocked: Shop, other_company: Company) -> None:
    outsider = member(other_company, Role.OWNER)
    client = authenticated_client(outsider, other_company)
    transfer = transfer_create(
        company=stocked.company,
        source=stocked.warehouse,
        destination=stocked.store,
        lines=[(stocked.variant.sku, 1)],
        actor=None,
    )
    url = API + f"transfers/{transfer.public_id}"
    refused(client.get(url), 404, "transfer_not_found")
    refused(client.post(url + "/dispatch"), 404, "transfer_not_found")
    refused(client.post(url + "/cancel"), 404, "transfer_not_found")
    assert ok(client.get(API + "transfers")) == []
    with tenant_context(stocked.company):
        assert Transfer.objects.get().status == "draft"


# --- Counts ---


def test_a_count_is_started_recorded_and_posted_over_the_api(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    sku = stocked.variant.sku
    started = ok(
        owner_client.post(
            API + "counts", {"location": str(stocked.warehouse.public_id)}, format="json"
        ),
        201,
    )
    assert (started["number"], started["status"]) == ("CNT-000001", "open")
    assert started["lines"] == [
        {"sku": sku, "expected": 10, "counted": None, "on_hand_at_post": None, "variance": None}
    ]
    url = API + f"counts/{started['id']}"
    refused(
        owner_client.post(url + "/record", {"lines": [{"sku": sku, "counted": -1}]}, format="json"),
        400,
        "invalid",
    )
    ok(owner_client.post(url + "/record", {"lines": [{"sku": sku, "counted": 7}]}, format="json"))

    posted = ok(owner_client.post(url + "/post"))

    assert posted["status"] == "posted"
    assert posted["lines"][0] | {} == {
        "sku": sku,
        "expected": 10,
        "counted": 7,
        "on_hand_at_post": 10,
        "variance": -3,
    }
    assert levels(stocked.variant, stocked.warehouse) == (7, 0)
    assert [c["number"] for c in ok(owner_client.get(API + "counts", {"status": "posted"}))] == [
        "CNT-000001"
    ]
    refused(owner_client.post(url + "/cancel"), 409, "stock_count_closed")
    assert stock_drift(company=stocked.company) == []


def test_a_count_of_unknown_skus_writes_nothing(stocked: Shop, owner_client) -> None:
    before = counts(stocked.company)
    refused(
        owner_client.post(
            API + "counts",
            {"location": str(stocked.warehouse.public_id), "skus": ["NOPE"]},
            format="json",
        ),
        400,
        "unknown_sku",
    )
    assert counts(stocked.company) == before


# --- Purchase receipts ---


def test_a_purchase_receipt_is_created_listed_and_read(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    body = {
        "location": str(stocked.store.public_id),
        "supplier_name": "Kopi Roasters Pte Ltd",
        "reference": "DO-4471",
        "lines": [{"sku": stocked.variant.sku, "quantity": 10, "unit_cost": "4.00"}],
    }
    receipt = ok(owner_client.post(API + "purchase-receipts", body, format="json"), 201)
    assert (receipt["number"], receipt["location"]["name"]) == ("GRN-000001", "Tiong Bahru store")
    assert receipt["lines"] == [{"sku": stocked.variant.sku, "quantity": 10, "unit_cost": "4.0000"}]
    assert levels(stocked.variant, stocked.store) == (10, 0)
    assert [r["number"] for r in ok(owner_client.get(API + "purchase-receipts"))] == ["GRN-000001"]
    assert (
        ok(owner_client.get(API + f"purchase-receipts/{receipt['id']}"))["reference"] == "DO-4471"
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"supplier_name": ""}, "invalid"),
        ({"lines": [{"sku": "SKU", "quantity": 1, "unit_cost": "-1"}]}, "invalid"),
        ({"lines": [{"sku": "SKU", "quantity": 1, "unit_cost": "1.23456"}]}, "invalid"),
        ({"lines": [{"sku": "SKU", "quantity": 1, "unit_cost": "1", "tax": "0"}]}, "invalid"),
        (
            {
                "lines": [
                    {"sku": "SKU", "quantity": 1, "unit_cost": "1"},
                    {"sku": "NOPE", "quantity": 1, "unit_cost": "1"},
                ]
            },
            "unknown_sku",
        ),
    ],
)
def test_bad_purchase_receipts_write_nothing(stocked: Shop, owner_client, change, code) -> None:
    body = {
        "location": str(stocked.store.public_id),
        "supplier_name": "Kopi Roasters",
        "lines": [{"sku": "SKU", "quantity": 1, "unit_cost": "1"}],
        **change,
    }
    body["lines"] = [
        {**line, "sku": stocked.variant.sku if line["sku"] == "SKU" else line["sku"]}
        for line in body["lines"]
    ]
    before = counts(stocked.company)
    refused(owner_client.post(API + "purchase-receipts", body, format="json"), 400, code)
    assert counts(stocked.company) == before


def test_another_companys_documents_are_not_found(stocked: Shop, other_company: Company) -> None:
    client = authenticated_client(member(other_company, Role.OWNER), other_company)
    receipt_id = ok(
        authenticated_client(member(stocked.company, Role.WAREHOUSE), stocked.company).post(
            API + "purchase-receipts",
            {
                "location": str(stocked.store.public_id),
                "supplier_name": "Kopi Roasters",
                "lines": [{"sku": stocked.variant.sku, "quantity": 1, "unit_cost": "1"}],
            },
            format="json",
        ),
        201,
    )["id"]
    refused(client.get(API + f"purchase-receipts/{receipt_id}"), 404, "purchase_receipt_not_found")


# --- Roles ---


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OWNER, True),
        (Role.ADMIN, True),
        (Role.WAREHOUSE, True),
        (Role.SALES, False),
        (Role.FINANCE, False),
    ],
)
def test_only_owner_admin_and_warehouse_change_stock(stocked: Shop, role, allowed) -> None:
    client = role_client(stocked, role)
    response = client.post(
        API + "transfers",
        {
            "source": str(stocked.warehouse.public_id),
            "destination": str(stocked.store.public_id),
            "lines": [{"sku": stocked.variant.sku, "quantity": 1}],
        },
        format="json",
    )
    if allowed:
        ok(response, 201)
    else:
        refused(response, 403, "permission_denied")
        assert counts(stocked.company)["Transfer"] == 0
    # Everyone in the company may look at the stock.
    ok(client.get(API + "levels"))


def test_the_schema_documents_the_operations(db) -> None:
    response = APIClient().get("/api/schema/", {"format": "json"})
    schema = response.json()
    validate(schema)
    for path in (
        "/api/v1/inventory/transfers/{public_id}/receive",
        "/api/v1/inventory/counts/{public_id}/post",
        "/api/v1/inventory/purchase-receipts",
        "/api/v1/inventory/low-stock",
        "/api/v1/inventory/movements",
    ):
        assert path in schema["paths"], path
    listing = schema["paths"]["/api/v1/inventory/transfers"]["get"]["responses"]["200"]
    ref = listing["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    page = schema["components"]["schemas"][ref]
    assert "pagination" in page["properties"]["meta"]["properties"]


# --- Limits ---


def _receipt(shop: Shop, reference: str) -> dict:
    """500 lines of 1,000,000 units (the most one line may carry over the API)."""
    line = {"sku": shop.variant.sku, "quantity": 1_000_000, "unit_cost": "1.00"}
    return {
        "location": str(shop.warehouse.public_id),
        "supplier_name": "Big Bean Co",
        "reference": reference,
        "lines": [line] * 500,
    }


def test_receipts_past_the_level_limit_are_a_clear_4xx_and_change_nothing(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    # 500 x 1,000,000 units a time: the second would pass the 1,000,000,000 a level may hold
    # (before the limit, the fifth overflowed the column and answered 500).
    ok(owner_client.post(API + "purchase-receipts", _receipt(stocked, "DO-1"), format="json"), 201)
    before = counts(stocked.company)
    level_before = levels(stocked.variant, stocked.warehouse)
    for number in (2, 3, 4, 5):
        error = refused(
            owner_client.post(
                API + "purchase-receipts", _receipt(stocked, f"DO-{number}"), format="json"
            ),
            400,
            "quantity_too_large",
        )
        assert "at most 1,000,000,000 units" in error["message"]
    assert counts(stocked.company) == before
    assert levels(stocked.variant, stocked.warehouse) == level_before
    assert stock_drift(company=stocked.company) == []


@pytest.mark.parametrize("quantity", [1_000_000_001, 2**31, -(2**31)])
def test_a_line_past_the_limit_is_refused_stating_it(stocked: Shop, quantity: int) -> None:
    from pasar.inventory.services import QuantityTooLarge, stock_adjust

    before = counts(stocked.company)
    with pytest.raises(QuantityTooLarge, match="at most 1,000,000,000 units"):
        stock_adjust(
            company=stocked.company,
            variant=stocked.variant,
            location=stocked.warehouse,
            quantity=quantity,
            reason="found",
        )
    assert counts(stocked.company) == before


def test_the_database_refuses_a_level_past_the_limit(stocked: Shop) -> None:
    from django.db import IntegrityError, transaction

    from pasar.inventory.models import MAX_UNITS, StockLevel

    with tenant_context(stocked.company), pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(variant=stocked.variant).update(on_hand=MAX_UNITS + 1)


def test_a_duplicate_receipt_is_a_409_and_a_void_takes_it_back(
    stocked: Shop, owner_client, levels: LevelReader
) -> None:
    body = {
        "location": str(stocked.store.public_id),
        "supplier_name": "Kopi Roasters Pte Ltd",
        "reference": "DO-4471",
        "lines": [{"sku": stocked.variant.sku, "quantity": 10, "unit_cost": "4.00"}],
    }
    first = ok(owner_client.post(API + "purchase-receipts", body, format="json"), 201)
    before = counts(stocked.company)
    refused(
        owner_client.post(API + "purchase-receipts", body, format="json"), 409, "duplicate_receipt"
    )
    assert counts(stocked.company) == before
    second = ok(
        owner_client.post(
            API + "purchase-receipts", {**body, "second_delivery": True}, format="json"
        ),
        201,
    )
    assert levels(stocked.variant, stocked.store) == (20, 0)
    refused(
        owner_client.post(API + f"purchase-receipts/{second['id']}/void", {}, format="json"),
        400,
        "invalid",
    )
    voided = ok(
        owner_client.post(
            API + f"purchase-receipts/{second['id']}/void",
            {"reason": "entered twice"},
            format="json",
        )
    )
    assert voided["void_reason"] == "entered twice"
    assert voided["voided_at"].endswith("Z")
    assert levels(stocked.variant, stocked.store) == (10, 0)
    refused(
        owner_client.post(
            API + f"purchase-receipts/{second['id']}/void", {"reason": "again"}, format="json"
        ),
        409,
        "receipt_voided",
    )
    assert first["voided_at"] is None
    assert stock_drift(company=stocked.company) == []
