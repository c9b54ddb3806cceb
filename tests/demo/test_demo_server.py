"""The demo's server holds a rush: gunicorn as `make demo` runs it (pasar/gunicorn_conf.py),
200 shoppers reserving the same item at once.

Every answer is 201 (reserved) or 409 (sold out), exactly as many are reserved as there were
units, /readyz stays 200 through the burst, and the database connections stay within the
bound the configuration promises.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest
from django.conf import settings

from pasar.core.tenant import tenant_context
from pasar.inventory.models import Reservation, StockLevel
from pasar.inventory.services import stock_receive
from pasar.tenancy.auth import tokens_for
from tests.factories import LocationFactory, MembershipFactory, UserFactory
from tests.inventory.factories import ChannelFactory, VariantFactory

ROOT = Path(__file__).resolve().parents[2]
SHOPPERS = 200
UNITS = 50
WORKERS, THREADS = 2, 4
# One connection per worker thread, and one per worker for the outbox relay thread.
CONNECTION_BOUND = WORKERS * (THREADS + 1)
# libpq names the server's connections so the test counts only those.
SERVER_NAME = "pasar-burst-test"

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """gunicorn with the demo's configuration and environment, on the test database."""
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PASAR_ENV": "development",
        "DEBUG": "false",
        "PORT": str(port),
        "WEB_WORKERS": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        "SECRET_KEY": settings.SECRET_KEY,
        "PASAR_PLATFORM_DB_KEY": settings.PASAR_PLATFORM_DB_KEY,
        "PGAPPNAME": SERVER_NAME,
    }
    environment.pop("REDIS_URL", None)  # the demo runs without Redis
    # The server logs every request: to a file, as a pipe nobody reads would fill and block it.
    log = tmp_path / "server.log"
    server = subprocess.Popen(  # noqa: S603 - our own command line, no input in it
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:pasar.gunicorn_conf"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"The demo server did not become ready:\n{output}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


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
            psycopg.connect(_database_url(), autocommit=True) as watcher,
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
