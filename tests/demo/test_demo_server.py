"""The demo's server holds a rush: gunicorn as `make demo` runs it (pasar/gunicorn_conf.py),
200 shoppers reserving the same item at once.

Every answer is 201 (reserved) or 409 (sold out), exactly as many are reserved as there were
units, /readyz stays 200 through the burst, and the database connections stay within the
bound the configuration promises.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Reservation, StockLevel
from pasar.inventory.services import stock_receive
from pasar.tenancy.auth import tokens_for
from tests import gunicorn_server
from tests.factories import LocationFactory, MembershipFactory, UserFactory
from tests.inventory.factories import ChannelFactory, VariantFactory

SHOPPERS = 200
UNITS = 50
WORKERS, THREADS = 2, 4
# One connection per worker thread, and one per worker for the outbox relay thread.
CONNECTION_BOUND = WORKERS * (THREADS + 1)
# libpq names the server's connections so the test counts only those.
SERVER_NAME = "pasar-burst-test"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """gunicorn with the demo's configuration and environment, on the test database."""
    server = gunicorn_server.start(
        tmp_path / "server.log", workers=WORKERS, threads=THREADS, app_name=SERVER_NAME
    )
    try:
        yield server.base
    finally:
        server.kill()


def _server_connections(watcher: psycopg.Connection) -> int:
    row = watcher.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER_NAME]
    ).fetchone()
    return int(row[0]) if row else 0


def test_200_shoppers_at_once_get_only_201_or_409_and_the_server_stays_ready(
    company, demo_server: str
) -> None:
    owner = UserFactory()
    MembershipFactory(company=company, user=owner, role="owner")
    variant = VariantFactory(company=company)
    ChannelFactory(company=company)
    warehouse = LocationFactory(company=company, name="Jurong warehouse")
    stock_receive(
        company=company,
        variant=variant,
        location=warehouse,
        quantity=UNITS,
        unit_cost=Decimal("1.20"),
    )
    token = tokens_for(user=owner, company=company)["access"]
    body = {"channel": "web", "ttl_seconds": 600, "lines": [{"sku": variant.sku, "quantity": 1}]}

    answers: Counter[int] = Counter()
    failures: list[str] = []
    readiness: list[int] = []
    highest_connections = [0]
    start = threading.Barrier(SHOPPERS)
    burst_over = threading.Event()

    def shopper() -> None:
        with httpx.Client(base_url=demo_server, timeout=60) as client:
            start.wait()
            try:
                status = client.post(
                    "/api/v1/inventory/reservations",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code
            except httpx.TransportError as error:
                status = -1  # no answer at all
                failures.append(repr(error))
            answers[status] += 1

    def watch() -> None:
        with (
            httpx.Client(base_url=demo_server, timeout=30) as client,
            psycopg.connect(gunicorn_server.database_url(), autocommit=True) as watcher,
        ):
            while not burst_over.is_set():
                readiness.append(client.get("/readyz").status_code)
                highest_connections[0] = max(highest_connections[0], _server_connections(watcher))
                time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    shoppers = [threading.Thread(target=shopper) for _ in range(SHOPPERS)]
    for thread in shoppers:
        thread.start()
    for thread in shoppers:
        thread.join(timeout=120)
    burst_over.set()
    watcher.join(timeout=30)

    assert set(answers) <= {201, 409}, (answers, Counter(failures))
    assert answers[201] == UNITS
    assert answers[409] == SHOPPERS - UNITS
    assert readiness
    assert set(readiness) == {200}, Counter(readiness)
    assert httpx.get(f"{demo_server}/readyz", timeout=5).status_code == 200
    assert 0 < highest_connections[0] <= CONNECTION_BOUND
    with tenant_context(company):
        level = StockLevel.objects.get(variant=variant, location=warehouse)
        assert (level.on_hand, level.reserved) == (UNITS, UNITS)
        assert Reservation.objects.count() == UNITS
