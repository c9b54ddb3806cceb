"""The web server killed with SIGKILL in the middle of 200 concurrent checkouts loses no paid
order. After a restart and the scheduled sweeps (the outbox relay, the expiry of unpaid
payments and holds), every captured payment has its order paid and its stock committed, and
every unpaid order is cancelled with its hold released."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.db.models import Sum
from django.utils import timezone

from pasar.core.events import relay_pending
from pasar.core.tenant import tenant_context
from pasar.inventory import services as inventory_services
from pasar.inventory.models import (
    AllocationState,
    ReservationAllocation,
    ReservationStatus,
    StockLevel,
)
from pasar.inventory.selectors import stock_drift
from pasar.payments import services as payment_services
from pasar.payments.credentials import unseal
from pasar.payments.gateways.sandbox import SIGNATURE_HEADER, sign
from pasar.payments.models import GatewayAccount, Payment
from pasar.sales.models import Order, OrderStatus
from tests import gunicorn_server
from tests.concurrency import at_once
from tests.inventory.factories import VariantFactory
from tests.sales.conftest import ADDRESS, Store

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUTS = 200
SHOPPERS = 20
KILL_AFTER_PAID = 60  # webhooks answered before the server is killed


def _checkout(base: str, shop: str, store: Store, secret: str, company_id: str, sku: str) -> str:
    """One shopper's whole checkout; returns how far it got."""
    api = f"/api/v1/shops/{shop}"
    with httpx.Client(base_url=base, timeout=20) as client:
        cart = client.post(f"{api}/carts/").json()["data"]["id"]
        client.post(
            f"{api}/carts/{cart}/lines/", json={"sku": sku, "quantity": 1}
        ).raise_for_status()
        details = {**ADDRESS, "delivery_method": str(store.delivery.public_id)}
        client.put(f"{api}/carts/{cart}/details/", json=details).raise_for_status()
        placed = client.post(
            f"{api}/carts/{cart}/checkout/",
            json={"method": "paynow"},
            headers={"Idempotency-Key": f"crash-{cart}"},
        )
        placed.raise_for_status()
        data = placed.json()["data"]
        now = int(time.time())
        body = json.dumps(
            {
                "id": f"sbx_evt_{cart}",
                "type": "charge.succeeded",
                "created": now,
                "data": {
                    "charge": data["payment"]["provider_reference"],
                    "payment_id": data["payment"]["id"],
                    "reference": data["order"]["number"],
                    "amount": data["order"]["total"],
                    "currency": "SGD",
                },
            }
        ).encode()
        answer = client.post(
            f"/webhooks/sandbox/{company_id}/",
            content=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret, now)},
        )
        return "paid" if answer.status_code == 200 else f"webhook {answer.status_code}"


def test_a_server_killed_mid_sale_loses_no_paid_order(store: Store, tmp_path: Path) -> None:
    company = store.company
    # Plenty of stock across 10 SKUs, so every checkout can be paid.
    skus = []
    for n in range(10):
        variant = VariantFactory(company=company, sku=f"CRASH-{n}", price=Decimal("12.00"))
        inventory_services.stock_receive(
            company=company,
            variant=variant,
            location=store.warehouse,
            quantity=100,
            unit_cost=Decimal(4),
        )
        skus.append(variant.sku)
    with tenant_context(company):
        secret = unseal(GatewayAccount.objects.get(gateway="sandbox").credentials_encrypted)[
            "signing_secret"
        ]

    log = tmp_path / "server.log"
    server = gunicorn_server.start(log, workers=2, threads=4, app_name="pasar-crash-test")
    outcomes: Counter[str] = Counter()
    paid = threading.Semaphore(0)
    lock = threading.Lock()
    queue = list(range(CHECKOUTS))

    def shopper(index: int) -> None:
        while True:
            with lock:
                if not queue:
                    return
                n = queue.pop()
            try:
                result = _checkout(
                    server.base,
                    company.shop_slug,
                    store,
                    secret,
                    str(company.public_id),
                    skus[n % len(skus)],
                )
            except (httpx.HTTPError, KeyError, ValueError) as error:
                result = type(error).__name__
            with lock:
                outcomes[result] += 1
            if result == "paid":
                paid.release()

    killer_done = threading.Event()

    def killer() -> None:
        for _ in range(KILL_AFTER_PAID):
            paid.acquire(timeout=60)
        server.kill(signal.SIGKILL)
        killer_done.set()

    threading.Thread(target=killer, daemon=True).start()
    at_once(SHOPPERS, shopper, timeout=180)
    assert killer_done.wait(timeout=60), "the server was never killed"
    assert outcomes["paid"] >= KILL_AFTER_PAID
    assert sum(outcomes.values()) == CHECKOUTS
    assert outcomes["paid"] < CHECKOUTS, f"the kill came too late to matter: {outcomes}"

    # Restart; then what the scheduled jobs do: relay the outbox, expire what was not paid.
    server = gunicorn_server.start(log, workers=2, threads=4, app_name="pasar-crash-test")
    try:
        assert httpx.get(f"{server.base}/readyz").status_code == 200
    finally:
        server.kill()
    while relay_pending(limit=500):
        pass
    later = timezone.now() + timedelta(minutes=31)
    payment_services.payments_expire_overdue(clock=lambda: later)
    inventory_services.reservations_release_expired(clock=lambda: later)
    while relay_pending(limit=500):
        pass

    with tenant_context(company):
        captured = {p.reference: p for p in Payment.objects.filter(captured_amount__gt=0)}
        orders = {o.number: o for o in Order.objects.select_related("reservation")}
        levels = list(StockLevel.objects.all())
        open_holds = dict(
            ReservationAllocation.objects.filter(state=AllocationState.OPEN)
            .values("level_id")
            .annotate(units=Sum("quantity"))
            .values_list("level_id", "units")
        )
    assert len(captured) >= outcomes["paid"]
    for number in captured:
        order = orders[number]
        assert order.status == OrderStatus.PAID, (number, order.status)
        assert order.reservation.status == ReservationStatus.COMMITTED, number
        assert order.stock_problem == ""
    for number, order in orders.items():
        if number not in captured:
            assert order.status == OrderStatus.CANCELLED, (number, order.status)
            assert order.reservation.status in (
                ReservationStatus.RELEASED,
                ReservationStatus.EXPIRED,
            )
    for level in levels:
        assert level.reserved == open_holds.get(level.pk, 0)
        assert 0 <= level.reserved <= level.on_hand
    assert stock_drift(company=company) == []
    # Every hold still open is a paid order's.
    assert sum(open_holds.values()) == sum(1 for number in captured for _ in range(1)), (
        "an unpaid hold survived"
    )
