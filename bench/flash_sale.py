"""The stock benchmark: a flash sale over HTTP, the same reservations in bare SQL, and search.

Called by scripts/bench.sh with gunicorn running:

0. Warm-up. Every worker thread serves a few reservations first (not measured), as a server
   that has been up for a while has: the SQL ceiling's connections are open before its rounds
   start, and the app's first requests would otherwise pay for loading Django, DRF and a
   database connection per thread inside the first round.
1. Flash sale. Buyers each `POST /api/v1/inventory/reservations` for one unit of one SKU, all
   released at the same instant: every buyer opens its connection first, then one event lets
   them all send. One round of 200 buyers for 50 units, then ten rounds of 40 buyers for 10
   units, each round on a fresh SKU whose units lie at two locations. Per round: 201s, 409
   `insufficient_stock` refusals, other errors, units oversold, and the database's own word
   (reserved never above on hand, reserved equal to the successes).
2. SQL ceiling. The same rounds replayed through psycopg with the app's locking and nothing
   else: one connection per buyer, BEGIN, the tenant settings, the level rows FOR UPDATE in
   id order, one reservation and allocation row, the level's reserved, COMMIT. The app's
   reservations per second against this ceiling: goal at least 40%.
3. Product search over 20,000 variants, in-process (`bench/search.py`): goal p95 under 50 ms.
4. One reservation's cost in-process (`bench/reservation_cost.py`): app and database CPU and
   SQL statements per request, which explain the ratio.

Then `stock_drift` must find every level equal to the sum of its movements and its open
allocations. Writes bench/results/stock-<UTC date>.json and stock-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django
import psycopg

from bench.cpu import CpuSnapshot, cores_used, snapshot
from bench.http_load import percentile
from bench.run import (
    OTHER_LOAD_LIMIT,
    report_head,
    require_running,
    server_config,
    token_seconds_left,
    wait_until_ready,
    write,
)

NAME = "stock"
GOAL_CEILING_RATIO = 0.40
RESERVE_PATH = "/api/v1/inventory/reservations"
REQUEST_TIMEOUT_S = 60.0
# (buyers, units at the first location, units at the second): the big sale, then ten small.
ROUNDS = [(200, 30, 20)] + [(40, 6, 4)] * 10
# Connections the server must keep free for everyone else while the SQL ceiling runs.
SPARE_CONNECTIONS = 20
# Warm-up rounds, each of two buyers per worker thread, before the measured rounds.
WARM_UP_ROUNDS = 2
WARM_UP_SKU = "FLASH-WARMUP"


@dataclass
class Outcomes:
    """What the buyers of one round got, with each answer's latency from its request."""

    latencies_s: list[float] = field(default_factory=list)
    success_ends: list[float] = field(default_factory=list)
    successes: int = 0
    refusals: int = 0
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Shop:
    company: Any
    channel: Any
    locations: tuple[Any, Any]
    user_id: int


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True, help="for example http://127.0.0.1:8123")
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--server-pid", type=int, required=True, help="gunicorn's master")
    parser.add_argument("--worker-class", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    parser.add_argument("--search-variants", type=int, default=20_000)
    return parser.parse_args(argv)


# --- Set-up, through the app's own services -------------------------------------------------


def open_shop() -> Shop:
    from bench.prepare import OWNER_EMAIL, SHOP_SLUG
    from pasar.core.tenant import tenant_context
    from pasar.inventory.models import Channel, ChannelKind, LocationKind
    from pasar.inventory.services import channel_create, location_create
    from pasar.tenancy.models import Company, User

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    owner = User.objects.get(email=OWNER_EMAIL)
    locations = (
        location_create(
            company=company,
            name="Flash Sale Warehouse",
            kind=LocationKind.WAREHOUSE,
            allocation_priority=10,
        ),
        location_create(company=company, name="Flash Sale Store", allocation_priority=20),
    )
    with tenant_context(company):
        channel = Channel.objects.filter(kind=ChannelKind.WEB).first()
    if channel is None:
        channel = channel_create(company=company, kind=ChannelKind.WEB)
    return Shop(company=company, channel=channel, locations=locations, user_id=owner.pk)


def stock_sku(shop: Shop, sku: str, units: tuple[int, int]) -> None:
    """A sellable variant with `units` received at the two locations."""
    from pasar.catalog.models import ProductStatus, Variant
    from pasar.catalog.services import product_create
    from pasar.core.tenant import tenant_context
    from pasar.inventory.services import stock_receive

    product_create(
        company=shop.company,
        name=f"Limited Edition Tumbler {sku}",
        status=ProductStatus.ACTIVE,
        variants=[{"sku": sku, "price": "39.90", "cost": "12.5000"}],
    )
    with tenant_context(shop.company):
        variant = Variant.objects.get(sku=sku)
    for location, quantity in zip(shop.locations, units, strict=True):
        stock_receive(
            company=shop.company,
            variant=variant,
            location=location,
            quantity=quantity,
            unit_cost=Decimal("12.5000"),
            source_type="bench",
        )


def stock_state(shop: Shop, sku: str) -> dict[str, Any]:
    """What the database holds for the SKU after a round."""
    from pasar.core.tenant import tenant_context
    from pasar.inventory.models import AllocationState, ReservationAllocation, StockLevel

    with tenant_context(shop.company):
        levels = list(StockLevel.objects.filter(variant__sku=sku).values("on_hand", "reserved"))
        allocations = ReservationAllocation.objects.filter(
            level__variant__sku=sku, state=AllocationState.OPEN
        ).count()
    return {
        "on_hand": sum(level["on_hand"] for level in levels),
        "reserved": sum(level["reserved"] for level in levels),
        "open_allocations": allocations,
        "reserved_within_on_hand": all(
            0 <= level["reserved"] <= level["on_hand"] for level in levels
        ),
    }


# --- The barrier ------------------------------------------------------------------------------


async def released_together(
    buyers: int,
    connect: Callable[[], Awaitable[Any]],
    buy: Callable[[Any], Awaitable[tuple[str, float]]],
    close: Callable[[Any], Awaitable[None]],
) -> tuple[Outcomes, float]:
    """Open every buyer's connection, then release them all at once; returns the outcomes and
    the seconds from the release to the last answer."""
    connections = await asyncio.gather(*(connect() for _ in range(buyers)))
    release = asyncio.Event()
    outcomes = Outcomes()

    async def buyer(connection: Any) -> None:
        await release.wait()
        started = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                outcome, finished = await buy(connection)
        except TimeoutError:
            outcome, finished = "timeout", time.perf_counter()
        except (OSError, psycopg.Error, asyncio.IncompleteReadError, ValueError) as error:
            outcome, finished = type(error).__name__, time.perf_counter()
        outcomes.latencies_s.append(finished - started)
        if outcome == "reserved":
            outcomes.successes += 1
            outcomes.success_ends.append(finished)
        elif outcome == "insufficient_stock":
            outcomes.refusals += 1
        else:
            outcomes.errors[outcome] += 1

    tasks = [asyncio.create_task(buyer(connection)) for connection in connections]
    await asyncio.sleep(0)  # every buyer is now waiting on the event
    released_at = time.perf_counter()
    release.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(close(connection) for connection in connections))
    return outcomes, max([*outcomes.success_ends, released_at]) - released_at


# --- Over HTTP --------------------------------------------------------------------------------


def reserve_request(host: str, port: int, token: str, sku: str) -> bytes:
    body = json.dumps(
        {"channel": "web", "ttl_seconds": 600, "lines": [{"sku": sku, "quantity": 1}]}
    ).encode()
    head = "\r\n".join(
        [
            f"POST {RESERVE_PATH} HTTP/1.1",
            f"Host: {host}:{port}",
            f"Authorization: Bearer {token}",
            "Content-Type: application/json",
            "Accept: application/json",
            f"Content-Length: {len(body)}",
            # One request per buyer: the server closes, so the answer ends at end of stream.
            "Connection: close",
        ]
    )
    return head.encode("latin-1") + b"\r\n\r\n" + body


def http_outcome(response: bytes) -> str:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status == 201:
        return "reserved"
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "unreadable body"
    return code if status == 409 and code == "insufficient_stock" else f"HTTP {status} {code}"


async def http_round(base_url: str, token: str, sku: str, buyers: int) -> tuple[Outcomes, float]:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = reserve_request(host, port, token, sku)

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(host, port)

    async def buy(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> tuple[str, float]:
        reader, writer = stream
        writer.write(request)
        response = await reader.read()
        finished = time.perf_counter()
        # Close at once: gunicorn waits for the client's end of the connection after answering.
        writer.close()
        if not response:
            return "connection closed", finished
        return http_outcome(response), finished

    async def close(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        stream[1].close()

    return await released_together(buyers, connect, buy, close)


def warm_up(shop: Shop, base_url: str, token: str, slots: int) -> None:
    """Reservations at twice the server's request slots, WARM_UP_ROUNDS times, so that every
    worker thread has loaded the app and opened its database connection; not measured."""
    buyers = 2 * slots
    stock_sku(shop, WARM_UP_SKU, (buyers * WARM_UP_ROUNDS, buyers * WARM_UP_ROUNDS))
    for _ in range(WARM_UP_ROUNDS):
        outcomes, _ = asyncio.run(http_round(base_url, token, WARM_UP_SKU, buyers))
        if outcomes.errors:
            raise SystemExit(f"The warm-up failed: {dict(outcomes.errors)}")


# --- In bare SQL ------------------------------------------------------------------------------

LOCK_LEVELS = """
SELECT level.id, level.on_hand - level.reserved
FROM inventory_stocklevel level
JOIN catalog_variant variant ON variant.id = level.variant_id
JOIN inventory_location location ON location.id = level.location_id
WHERE variant.sku = %s AND location.is_active
ORDER BY level.id
FOR UPDATE OF level
"""
INSERT_RESERVATION = """
INSERT INTO inventory_reservation
    (public_id, company_id, channel_id, status, idempotency_key, expires_at, created_at)
VALUES (gen_random_uuid(), %s, %s, 'pending', '', now() + interval '600 seconds', now())
RETURNING id
"""
INSERT_ALLOCATION = """
INSERT INTO inventory_reservationallocation
    (company_id, reservation_id, level_id, quantity, state, holds_until)
VALUES (%s, %s, %s, 1, 'open', now() + interval '600 seconds')
"""
RESERVE_UNIT = (
    "UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now(),"
    " next_expiry = least(next_expiry, now() + interval '600 seconds') WHERE id = %s"
)


def app_connection_params() -> dict[str, Any]:
    """Log in as the app does (pasar/core/db/base.py): the app role, under row-level security."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    params = {
        "dbname": database["NAME"],
        "user": settings.PASAR_DB_APP_ROLE or database["USER"],
        "password": settings.PASAR_DB_APP_PASSWORD or database["PASSWORD"],
        "host": database["HOST"],
        "port": database["PORT"],
    }
    return {key: value for key, value in params.items() if value}


def free_connections() -> int:
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        row = connection.execute(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity"
        ).fetchone()
    return int(row[0]) if row else 0


async def sql_round(shop: Shop, sku: str, buyers: int, connections: int) -> tuple[Outcomes, float]:
    """The reservation transaction at the round's concurrency; when the server cannot take one
    connection per buyer, `connections` connections serve the buyers in turn."""
    from pasar.core import rls

    params = app_connection_params()
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    to_open = [connections]

    async def connect() -> None:
        if to_open[0] > 0:
            to_open[0] -= 1  # counted before the await: the buyers connect concurrently
            pool.put_nowait(await psycopg.AsyncConnection.connect(**params))

    async def buy(_: None) -> tuple[str, float]:
        connection = await pool.get()
        try:
            async with connection.transaction():
                await connection.execute(
                    *rls.enter_statement(
                        company_id=shop.company.pk,
                        user_id=shop.user_id,
                        platform=False,
                        backend_pid=connection.info.backend_pid,
                    )
                )
                levels = await (await connection.execute(LOCK_LEVELS, [sku])).fetchall()
                # Levels come in id order. The first location by allocation priority has the
                # lower id here: stock_sku receives there first, which creates its level.
                level_id = next((level for level, available in levels if available >= 1), None)
                if level_id is None:
                    outcome = "insufficient_stock"
                else:
                    cursor = await connection.execute(
                        INSERT_RESERVATION, [shop.company.pk, shop.channel.pk]
                    )
                    row = await cursor.fetchone()
                    assert row is not None
                    await connection.execute(INSERT_ALLOCATION, [shop.company.pk, row[0], level_id])
                    await connection.execute(RESERVE_UNIT, [level_id])
                    outcome = "reserved"
            return outcome, time.perf_counter()
        finally:
            pool.put_nowait(connection)

    async def close(_: None) -> None:
        while not pool.empty():
            await pool.get_nowait().close()

    return await released_together(buyers, connect, buy, close)


# --- The report -------------------------------------------------------------------------------


def round_report(
    number: int, buyers: int, units: int, outcomes: Outcomes, seconds: float, state: dict[str, Any]
) -> dict[str, Any]:
    latencies = sorted(outcomes.latencies_s)
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
    return {
        "round": number,
        "buyers": buyers,
        "units": units,
        "successes": outcomes.successes,
        "refusals": outcomes.refusals,
        "errors": sum(outcomes.errors.values()),
        "error_kinds": dict(outcomes.errors),
        "oversold": max(0, outcomes.successes - units),
        "sold_out": outcomes.successes == units,
        "seconds_to_last_reservation": round(seconds, 4),
        "reservations_per_s": round(outcomes.successes / seconds, 1) if seconds else None,
        "p50_ms": None if p50 is None else round(p50 * 1000, 2),
        "p95_ms": None if p95 is None else round(p95 * 1000, 2),
        "database": state,
        "database_agrees": state["reserved_within_on_hand"]
        and state["reserved"] == outcomes.successes == state["open_allocations"],
    }


def totals(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    reserved = sum(row["successes"] for row in rounds)
    seconds = sum(row["seconds_to_last_reservation"] for row in rounds)
    return {
        "reservations": reserved,
        "seconds": round(seconds, 3),
        "reservations_per_s": round(reserved / seconds, 1) if seconds else 0.0,
        "oversold": sum(row["oversold"] for row in rounds),
        "errors": sum(row["errors"] for row in rounds),
    }


def run_rounds(
    label: str,
    shop: Shop,
    play: Callable[[str, int], Coroutine[Any, Any, tuple[Outcomes, float]]],
    before_round: Callable[[], None],
) -> list[dict[str, Any]]:
    rows = []
    for number, (buyers, *units) in enumerate(ROUNDS, start=1):
        sku = f"FLASH-{label}-{number:02d}"
        stock_sku(shop, sku, (units[0], units[1]))
        before_round()
        outcomes, seconds = asyncio.run(play(sku, buyers))
        row = round_report(number, buyers, sum(units), outcomes, seconds, stock_state(shop, sku))
        rows.append(row)
        print(
            f"  {label:<4} round {number:>2}: {buyers:>3} buyers for {sum(units):>2} units: "
            f"{row['successes']:>3} reserved, {row['refusals']:>3} refused, "
            f"{row['errors']} errors, {row['oversold']} oversold, "
            f"{row['reservations_per_s'] or 0:7.1f} reservations/s, p95 {row['p95_ms']} ms",
            flush=True,
        )
    return rows


def measured(
    probe: Callable[[], CpuSnapshot], run: Callable[[], list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    before = probe()
    rows = run()
    return rows, cores_used(before, probe())


def table(report: dict[str, Any]) -> str:
    lines = [""]
    for label, key in (("HTTP", "flash_sale"), ("SQL", "sql_ceiling")):
        section = report[key]
        lines.append(
            f"{label:<5} {section['totals']['reservations']:>4} reservations in "
            f"{section['totals']['seconds']:.2f} s: {section['totals']['reservations_per_s']:.1f}"
            f"/s, {section['totals']['oversold']} oversold, {section['totals']['errors']} errors"
            f"   cores: {section['cpu_cores']}"
        )
    ratio = report["ceiling_ratio"]
    lines.append(
        f"The app reaches {ratio['ratio']:.0%} of the SQL ceiling "
        f"(goal {GOAL_CEILING_RATIO:.0%}): {'PASS' if ratio['passed'] else 'FAIL'}"
    )
    search = report["search"]
    lines.append(
        f"Search over {search['variants']} variants: p50 {search['p50_ms']} ms, "
        f"p95 {search['p95_ms']} ms over {search['calls']} calls (goal p95 < "
        f"{search['goal_p95_ms']} ms): {'PASS' if search['passed'] else 'FAIL'}"
    )
    cost = report["request_cost"]
    lines.append(
        f"One reservation in-process: {cost['app_cpu_ms']} ms app CPU, "
        f"{cost['postgresql_cpu_ms']} ms PostgreSQL CPU, {cost['sql_statements']} SQL statements"
    )
    lines.append(f"Levels equal the sum of their movements and allocations: {not report['drift']}")
    if not report["quiet_machine"]:
        lines.append(
            f"Warning: other work kept up to {report['other_load_cores']:.2f} cores busy "
            "during the run; the throughput figures understate this machine."
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    from bench import reservation_cost, search
    from pasar.inventory.selectors import stock_drift

    token = args.token_file.read_text().strip()
    if token_seconds_left(token) < 300:
        raise SystemExit("The access token expires within 5 minutes; run `make bench` again.")
    wait_until_ready(args.base_url, args.server_pid)
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")

    def probe() -> CpuSnapshot:
        return snapshot(args.server_pid, database)

    shop = open_shop()
    print("Warming up the server ...", flush=True)
    warm_up(shop, args.base_url, token, args.workers * args.threads)
    print("Flash sale over HTTP ...", flush=True)
    http_rows, http_cpu = measured(
        probe,
        lambda: run_rounds(
            "HTTP",
            shop,
            lambda sku, buyers: http_round(args.base_url, token, sku, buyers),
            lambda: require_running(args.server_pid),
        ),
    )
    connections = min(max(b for b, *_ in ROUNDS), free_connections() - SPARE_CONNECTIONS)
    print(f"The same reservations in SQL ({connections} connections at most) ...", flush=True)
    sql_rows, sql_cpu = measured(
        probe,
        lambda: run_rounds(
            "SQL",
            shop,
            lambda sku, buyers: sql_round(shop, sku, buyers, min(buyers, connections)),
            lambda: None,
        ),
    )
    print(f"Product search over {args.search_variants} variants ...", flush=True)
    before = probe()
    search_report = search.run(company=shop.company, variants=args.search_variants)
    search_cpu = cores_used(before, probe())
    print("One reservation's cost in-process ...", flush=True)
    request_cost = reservation_cost.cost_of_reserving(
        reservation_cost.probe_sku(profile=False), token
    )
    drift = [str(level) for level in stock_drift(company=shop.company)]

    http_totals, sql_totals = totals(http_rows), totals(sql_rows)
    ratio = (
        http_totals["reservations_per_s"] / sql_totals["reservations_per_s"]
        if sql_totals["reservations_per_s"]
        else 0.0
    )
    report: dict[str, Any] = {
        **report_head(NAME),
        "config": {
            **server_config(args),
            "rounds": [{"buyers": buyers, "units": list(units)} for buyers, *units in ROUNDS],
            "request": {
                "path": RESERVE_PATH,
                "body": {"channel": "web", "ttl_seconds": 600, "lines": [{"quantity": 1}]},
            },
            "client": "one asyncio process; every buyer's connection opened before an "
            "asyncio.Event releases them all; one request per connection",
            "warm_up": f"{WARM_UP_ROUNDS} unmeasured rounds of two buyers per worker thread",
            "sql_ceiling": "psycopg, app role under RLS: BEGIN, pasar_enter (the signed "
            "context), level rows FOR UPDATE in id order, INSERT reservation and allocation, "
            "UPDATE reserved, COMMIT",
            "sql_connections_max": connections,
            "django_settings": {"PASAR_ENV": "development", "DEBUG": False},
            "goals": {
                "oversold": 0,
                "ceiling_ratio": GOAL_CEILING_RATIO,
                "search_p95_ms": search.GOAL_P95_MS,
            },
        },
        "flash_sale": {"rounds": http_rows, "totals": http_totals, "cpu_cores": http_cpu},
        "sql_ceiling": {"rounds": sql_rows, "totals": sql_totals, "cpu_cores": sql_cpu},
        "ceiling_ratio": {
            "app_reservations_per_s": http_totals["reservations_per_s"],
            "sql_reservations_per_s": sql_totals["reservations_per_s"],
            "ratio": round(ratio, 3),
            "goal": GOAL_CEILING_RATIO,
            "passed": ratio >= GOAL_CEILING_RATIO,
        },
        "search": {**search_report, "cpu_cores": search_cpu},
        "request_cost": request_cost,
        "drift": drift,
    }
    # Not the SQL phase: its backends exit with each round, before the closing snapshot, so
    # their CPU shows under "other" there.
    report["other_load_cores"] = max(cpu["other"] for cpu in (http_cpu, search_cpu))
    report["quiet_machine"] = report["other_load_cores"] <= OTHER_LOAD_LIMIT
    correct = (
        not drift
        and all(row["oversold"] == 0 and row["database_agrees"] for row in http_rows + sql_rows)
        and http_totals["errors"] == 0
        and sql_totals["errors"] == 0
    )
    report["correct"] = correct
    report["passed"] = correct and report["ceiling_ratio"]["passed"] and search_report["passed"]

    print(table(report))
    for path in write(report, args.results_dir):
        print(f"Written {path}")
    # Overselling, drift or failed requests break the run; a missed speed goal is a finding.
    return 0 if correct else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
