"""Sustained reservations over HTTP, against PostgreSQL's own ceiling for the same statements.

Called by scripts/bench.sh with gunicorn running:

    python -m bench.sustained --base-url URL --token-file FILE --server-pid PID ...

1. The ceiling. One reservation request is made in-process through the WSGI app and every SQL
   statement it sends is captured. Those statements, as sent, become a pgbench script: the
   signed tenant context with the identity check, the channel and variant reads, the outbox
   event, the level lock and the write, in one transaction, as the app role under row-level
   security. Two things change: new rows get fresh public ids each time, and the signed
   context is entered through `pasar_bench_enter`, a function that exists only in the
   benchmark's own database (created here, dropped at the end) and signs the context in the
   database, because pgbench cannot compute the app's keyed hash. pgbench then runs it at 1
   and 50 clients for CEILING_SECONDS each on its own SKU, its hot row refilled before each
   run.
2. The app. 1 and 50 keep-alive HTTP clients reserve one unit at a time of a SKU holding
   10^7 units for HTTP_SECONDS each; reservations are counted per WINDOW_SECONDS window, so a
   slowdown as holds pile up shows.

Afterwards every level must still equal its movements, and its `reserved` its open holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django

from bench.cpu import CpuSnapshot, cores_used, snapshot
from bench.flash_sale import app_connection_params
from bench.http_load import percentile, read_response
from bench.run import (
    report_head,
    require_running,
    server_config,
    token_seconds_left,
    wait_until_ready,
    write,
)

NAME = "sustained"
PATH = "/api/v1/inventory/reservations"
UNITS = 10_000_000
CLIENTS = (1, 50)
CEILING_SECONDS = 20
HTTP_SECONDS = 40
WINDOW_SECONDS = 10
REQUEST_TIMEOUT_S = 30.0
HTTP_SKU = "SUSTAIN-HTTP"
CEILING_SKU = "SUSTAIN-SQL"
GOALS = {"ratio_50": 0.25, "ratio_1": 0.15, "p50_ms_1": 5.0, "last_window_share": 0.90}

BENCH_ENTER = """
CREATE OR REPLACE FUNCTION public.pasar_bench_enter(ctx_company bigint, ctx_user bigint)
RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    k text := (SELECT key FROM pasar_private.platform_key);
    issued bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    PERFORM public.pasar_enter(
        ctx_company, ctx_user, false, issued,
        encode(sha256(convert_to(
            k || ':enter:' || pg_backend_pid()::text || ':' || issued::text || ':'
            || coalesce(ctx_company::text, '') || ':' || coalesce(ctx_user::text, '') || ':'
            || 'false' || ':' || k,
            'UTF8')), 'hex'));
END
$fn$;
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    return parser.parse_args(argv)


def owner_connection() -> Any:
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


def app_environment() -> dict[str, str]:
    """libpq's variables for logging in as the app role, as the app does."""
    names = {"dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD", "host": "PGHOST"}
    names["port"] = "PGPORT"
    params = app_connection_params()
    return {**os.environ, **{names[key]: str(value) for key, value in params.items()}}


# --- Set-up -----------------------------------------------------------------------------------


def stock(sku: str) -> int:
    """A sellable variant with UNITS at one location of its own; returns the level's id."""
    from bench.prepare import stocked_sku

    return stocked_sku(sku=sku, units=UNITS, location_name=f"Warehouse for {sku}")


def body(sku: str) -> bytes:
    return json.dumps(
        {"channel": "web", "ttl_seconds": 600, "lines": [{"sku": sku, "quantity": 1}]}
    ).encode()


# --- The ceiling: the app's own statements under pgbench ----------------------------------------


def captured_statements(token: str) -> list[str]:
    """Every SQL statement one reservation request sends, with its values, in order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.request_cost import expect, wsgi_request
    from pasar.wsgi import application

    # Warm the app's caches so the capture holds what every request sends.
    for _ in range(3):
        expect(
            *wsgi_request(application, "POST", PATH, body=body(CEILING_SKU), token=token), 201, PATH
        )
    with CaptureQueriesContext(connection) as queries:
        expect(
            *wsgi_request(application, "POST", PATH, body=body(CEILING_SKU), token=token), 201, PATH
        )
    return [query["sql"] for query in queries.captured_queries]


ENTER = re.compile(r"SELECT pasar_enter\((\w+), (\w+), false, \d+, '[0-9a-f]{64}'\)")
PUBLIC_ID = re.compile(r"'[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}'::uuid")


def pgbench_script(statements: list[str]) -> str:
    """The captured request as one pgbench transaction (see the module's docstring)."""
    lines = ["BEGIN;"]
    for sql in statements:
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            lines.append(sql.rstrip(";") + ";")
            continue
        if sql.strip().upper() in ("BEGIN", "COMMIT"):
            continue  # the script's own BEGIN and COMMIT frame the transaction
        sql = ENTER.sub(r"SELECT pasar_bench_enter(\1, \2)", sql)
        if sql.lstrip().upper().startswith(("INSERT", "WITH")):
            # New rows get new public ids (the reservation, the outbox event).
            sql = PUBLIC_ID.sub("gen_random_uuid()", sql)
        # pgbench reads ":name" as a variable; the app's SQL has none, only casts and times.
        # Statements the app sends together stay one round trip: pgbench's "\;" joins them.
        lines.append(" ".join(sql.split()).rstrip(";").replace("; ", " \\; ") + ";")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def refill(level_id: int) -> None:
    """The hot row as at the start of a sale: every unit available, no hold open."""
    with owner_connection() as owner:
        owner.execute(
            "UPDATE inventory_reservationallocation SET state = 'released'"
            " WHERE level_id = %s AND state = 'open'",
            [level_id],
        )
        owner.execute(
            "UPDATE inventory_stocklevel SET reserved = 0, next_expiry = NULL WHERE id = %s",
            [level_id],
        )
        owner.execute("CHECKPOINT")


def restore_reserved(level_id: int) -> None:
    """pgbench repeats the captured absolute `reserved`; put back the sum of open holds."""
    with owner_connection() as owner:
        owner.execute(
            "UPDATE inventory_stocklevel SET reserved = coalesce((SELECT sum(quantity)"
            " FROM inventory_reservationallocation WHERE level_id = %s AND state = 'open'), 0)"
            " WHERE id = %s",
            [level_id, level_id],
        )


def run_pgbench(
    script: Path,
    clients: int,
    probe: Any,
    *,
    seconds: int = CEILING_SECONDS,
    rate_name: str = "reservations_per_s",
) -> dict[str, Any]:
    """pgbench running `script` as the app role for `seconds` at `clients`, per window."""
    before = probe()
    finished = subprocess.run(
        [
            "pgbench",
            "--no-vacuum",
            "--protocol=simple",
            f"--client={clients}",
            f"--jobs={min(clients, 2)}",
            f"--time={seconds}",
            f"--progress={WINDOW_SECONDS}",
            f"--file={script}",
        ],
        env=app_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    cpu = cores_used(before, probe())
    if finished.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{finished.stderr[-2000:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", finished.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", finished.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", finished.stdout)
    windows = [
        float(value) for value in re.findall(r"progress: [\d.]+ s, ([\d.]+) tps", finished.stderr)
    ]
    return {
        "clients": clients,
        "seconds": seconds,
        rate_name: float(tps.group(1)) if tps else 0.0,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "per_window": windows,
        "cpu_cores": cpu,
    }


# --- The app: sustained keep-alive HTTP clients --------------------------------------------------


async def http_run(base_url: str, token: str, clients: int) -> dict[str, Any]:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = body(HTTP_SKU)
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode("latin-1") + payload
    start = time.perf_counter()
    end = start + HTTP_SECONDS
    windows = [0] * (HTTP_SECONDS // WINDOW_SECONDS)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (began := time.perf_counter()) < end:
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT_S):
                        writer.write(request)
                        status, keep_alive = await read_response(reader)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    statuses[type(error).__name__] += 1
                    return
                done = time.perf_counter()
                statuses[str(status)] += 1
                if status == 201 and done < end:
                    windows[int((done - start) // WINDOW_SECONDS)] += 1
                    latencies.append(done - began)
                if not keep_alive:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    latencies.sort()
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
    return {
        "clients": clients,
        "seconds": HTTP_SECONDS,
        "reservations": sum(windows),
        "reservations_per_s": round(sum(windows) / HTTP_SECONDS, 1),
        "per_window": [round(count / WINDOW_SECONDS, 1) for count in windows],
        "last_window_share": round(windows[-1] / windows[0], 3) if windows[0] else 0.0,
        "p50_ms": None if p50 is None else round(p50 * 1000, 2),
        "p95_ms": None if p95 is None else round(p95 * 1000, 2),
        "statuses": dict(statuses),
        "errors": sum(count for status, count in statuses.items() if status != "201"),
    }


def state_agrees() -> dict[str, Any]:
    from bench.prepare import SHOP_SLUG
    from pasar.core.tenant import tenant_context
    from pasar.inventory.models import AllocationState, ReservationAllocation, StockLevel
    from pasar.inventory.selectors import stock_drift
    from pasar.tenancy.models import Company

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    drift = [str(level) for level in stock_drift(company=company)]
    with tenant_context(company):
        held: dict[int, int] = {}
        for level_id, quantity in ReservationAllocation.objects.filter(
            state=AllocationState.OPEN
        ).values_list("level_id", "quantity"):
            held[level_id] = held.get(level_id, 0) + quantity
        mismatched = [
            level.pk
            for level in StockLevel.objects.all()
            if level.reserved != held.get(level.pk, 0) or level.reserved > level.on_hand
        ]
    return {
        "drift": drift,
        "reserved_not_open_holds": mismatched,
        "agrees": not drift and not mismatched,
    }


# --- The report ---------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    rows = ["clients  pgbench/s  app/s   ratio  app per 10 s window           p50 ms  errors"]
    for clients in CLIENTS:
        ceiling = report["ceiling"][str(clients)]
        app = report["app"][str(clients)]
        ratio = report["ratios"][str(clients)]
        windows = " ".join(f"{value:6.1f}" for value in app["per_window"])
        sql_rate, app_rate = ceiling["reservations_per_s"], app["reservations_per_s"]
        rows.append(
            f"{clients:>7}  {sql_rate:>9.1f}  {app_rate:>6.1f}"
            f"  {ratio:>5.1%}  {windows:<28}  {app['p50_ms']!s:>6}  {app['errors']:>6}"
        )
    return "\n".join(rows)


def goals(report: dict[str, Any]) -> dict[str, bool]:
    app1, app50 = report["app"]["1"], report["app"]["50"]
    return {
        "ratio_50": report["ratios"]["50"] >= GOALS["ratio_50"],
        "ratio_1": report["ratios"]["1"] >= GOALS["ratio_1"],
        "p50_ms_1": app1["p50_ms"] is not None and app1["p50_ms"] < GOALS["p50_ms_1"],
        "last_window_share": min(app1["last_window_share"], app50["last_window_share"])
        >= GOALS["last_window_share"],
        "no_errors": app1["errors"] == app50["errors"] == 0
        and all(report["ceiling"][str(c)]["failed"] == 0 for c in CLIENTS),
        "state_agrees": report["state"]["agrees"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    token = args.token_file.read_text().strip()
    needed = len(CLIENTS) * (CEILING_SECONDS + HTTP_SECONDS) + 120
    if token_seconds_left(token) < needed:
        raise SystemExit("The access token expires too soon for this phase; run it again.")
    wait_until_ready(args.base_url, args.server_pid)
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")

    def probe() -> CpuSnapshot:
        return snapshot(args.server_pid, database)

    ceiling_level = stock(CEILING_SKU)
    stock(HTTP_SKU)
    with owner_connection() as owner:
        owner.execute(BENCH_ENTER)
        role = app_environment()["PGUSER"]
        owner.execute(
            f'GRANT EXECUTE ON FUNCTION public.pasar_bench_enter(bigint, bigint) TO "{role}"'
        )
    script = Path("var/bench/reservation.pgbench")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(pgbench_script(captured_statements(token)))

    report: dict[str, Any] = {
        **report_head(NAME),
        "config": {
            **server_config(args),
            "units": UNITS,
            "ceiling": f"pgbench, {CEILING_SECONDS} s per client count, the app's captured "
            "statements as the app role under RLS (var/bench/reservation.pgbench)",
            "app": f"{HTTP_SECONDS} s per client count, keep-alive HTTP/1.1 clients, one unit "
            f"per request, counted per {WINDOW_SECONDS} s window",
            "goals": GOALS,
        },
        "ceiling": {},
        "app": {},
    }
    try:
        for clients in CLIENTS:
            refill(ceiling_level)
            print(f"pgbench, {clients} client(s), {CEILING_SECONDS} s ...", flush=True)
            report["ceiling"][str(clients)] = run_pgbench(script, clients, probe)
            restore_reserved(ceiling_level)
        for clients in CLIENTS:
            print(f"HTTP, {clients} client(s), {HTTP_SECONDS} s ...", flush=True)
            before = probe()
            run = asyncio.run(http_run(args.base_url, token, clients))
            run["cpu_cores"] = cores_used(before, probe())
            report["app"][str(clients)] = run
            require_running(args.server_pid)
    finally:
        with owner_connection() as owner:
            owner.execute("DROP FUNCTION IF EXISTS public.pasar_bench_enter(bigint, bigint)")
    report["ratios"] = {
        str(clients): round(
            report["app"][str(clients)]["reservations_per_s"]
            / report["ceiling"][str(clients)]["reservations_per_s"],
            3,
        )
        if report["ceiling"][str(clients)]["reservations_per_s"]
        else 0.0
        for clients in CLIENTS
    }
    report["state"] = state_agrees()
    report["goals_met"] = goals(report)
    print(table(report))
    print(
        "Goals:",
        ", ".join(
            f"{name} {'met' if met else 'MISSED'}" for name, met in report["goals_met"].items()
        ),
    )
    for path in write(report, args.results_dir):
        print(f"Written {path}")
    return 0 if report["goals_met"]["no_errors"] and report["goals_met"]["state_agrees"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
