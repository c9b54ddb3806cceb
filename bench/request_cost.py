"""What one request costs inside the app, measured without HTTP or other load in the way.

Calls the WSGI application directly, as gunicorn's worker would, and reports per request: the
app's CPU milliseconds, the database backend's CPU milliseconds (when the database runs on this
machine), and the SQL statements sent. These move far less than requests per second when the
machine is busy with other work, so they explain a ratio that the load test alone cannot.

    python -m bench.request_cost <token file> [--json out.json] [--profile]

`--profile` also prints where the app's CPU goes (cProfile, by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import django

from bench.cpu import CLOCK_TICKS

WARMUP_REQUESTS = 50
MEASURED_REQUESTS = 500


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def wsgi_request(
    application: Callable[..., Iterable[bytes]],
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, bytes]:
    """One request through the WSGI application, as gunicorn's worker calls it; returns the
    status code and the body. `path` may carry a query string."""
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "application/json",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    for name, value in (headers or {}).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    statuses: list[str] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses.append(status)

    answer = b"".join(application(environ, start_response))
    return int(statuses[0].split(" ", 1)[0]), answer


def expect(status: int, answer: bytes, wanted: int, label: str) -> None:
    if status != wanted:
        raise SystemExit(f"{label} answered {status}: {answer[:300]!r}")


def backend_ticks(pid: int) -> int | None:
    """CPU ticks of the PostgreSQL backend serving this connection, if it runs on this machine."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def cost_of_calls(
    call: Callable[[], None],
    label: str,
    *,
    profile: bool,
    warmup: int = WARMUP_REQUESTS,
    measured: int = MEASURED_REQUESTS,
) -> dict[str, Any]:
    """Per call of `call` (one request): app and PostgreSQL CPU, wall time, SQL statements."""
    from django.db import connection

    for _ in range(warmup):
        call()
    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        call()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]

    database_before = backend_ticks(backend_pid)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    for _ in range(measured):
        call()
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    database_after = backend_ticks(backend_pid)

    database_ms = None
    if database_before is not None and database_after is not None:
        database_ms = (database_after - database_before) / CLOCK_TICKS * 1000 / measured
    if profile:

        def requests() -> None:
            for _ in range(measured):
                call()

        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(requests)
        print(f"\n{label}: where the app's CPU goes ({measured} requests, profiled)")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return {
        "app_cpu_ms": round(cpu * 1000 / measured, 3),
        "postgresql_cpu_ms": None if database_ms is None else round(database_ms, 3),
        "wall_ms": round(wall * 1000 / measured, 3),
        "sql_statements": counter.count,
    }


def cost_of(path: str, token: str | None, *, profile: bool) -> dict[str, Any]:
    from pasar.wsgi import application

    def get() -> None:
        expect(*wsgi_request(application, "GET", path, token=token), 200, path)

    return {"path": path, **cost_of_calls(get, path, profile=profile)}


PRODUCT_PAGE = "/api/v1/catalog/products?per_page=32"
PRODUCT_PAGE_PRODUCTS = 32
PRODUCT_PAGE_SIZES = ("S", "M", "L")


def stock_product_page() -> None:
    """The benchmark shop's first product page: 32 active products of 3 variants each."""
    from bench.prepare import SHOP_SLUG
    from pasar.catalog.models import Product, ProductStatus
    from pasar.catalog.services import product_create
    from pasar.core.tenant import tenant_context
    from pasar.tenancy.models import Company

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    with tenant_context(company):
        present = Product.objects.filter(name__startswith="Page probe").count()
    for number in range(present, PRODUCT_PAGE_PRODUCTS):
        product_create(
            company=company,
            name=f"Page probe {number:02d}",
            status=ProductStatus.ACTIVE,
            variants=[
                {
                    "sku": f"PAGE-{number:02d}-{size}",
                    "price": "9.90",
                    "cost": "3.0000",
                    "options": {"size": size},
                }
                for size in PRODUCT_PAGE_SIZES
            ],
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("token_file", type=Path)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    token = args.token_file.read_text().strip()
    stock_product_page()
    costs = [
        cost_of("/healthz", None, profile=args.profile),
        cost_of("/api/v1/me", token, profile=args.profile),
        cost_of(PRODUCT_PAGE, token, profile=args.profile),
    ]
    print(f"\n{'endpoint':<38} {'app CPU ms':>10} {'db CPU ms':>9} {'wall ms':>8} {'SQL':>4}")
    for cost in costs:
        database = cost["postgresql_cpu_ms"]
        print(
            f"{cost['path']:<38} {cost['app_cpu_ms']:>10.3f} "
            f"{'-' if database is None else f'{database:.3f}':>9} {cost['wall_ms']:>8.3f} "
            f"{cost['sql_statements']:>4}"
        )
    if args.json:
        args.json.write_text(json.dumps(costs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
