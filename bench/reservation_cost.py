"""What one stock reservation costs inside the app, measured without HTTP or other load.

Calls the WSGI application directly, as a gunicorn worker would, with the flash sale's
request (`POST /api/v1/inventory/reservations`, one unit, a JWT) and reports per request: the
app's CPU milliseconds, the PostgreSQL backend's CPU milliseconds, the wall milliseconds and
the SQL statements sent, counting both the request's own and what runs after it in the same
thread (the commit-time outbox relay, when it runs inline). `bench/flash_sale.py` records
these beside the flash sale; on its own, against a migrated database with the benchmark's
shop (`bench/prepare.py`):

    python -m bench.reservation_cost <token file> [--profile]

`--profile` also prints where the app's CPU goes (cProfile, by cumulative time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import django

from bench.request_cost import cost_of_calls, expect, wsgi_request

WARMUP_REQUESTS = 30
MEASURED_REQUESTS = 300
PATH = "/api/v1/inventory/reservations"
COST_LOCATION = "Cost Probe Warehouse"


def reservation_body(sku: str) -> bytes:
    return json.dumps(
        {"channel": "web", "ttl_seconds": 600, "lines": [{"sku": sku, "quantity": 1}]}
    ).encode()


def cost_of_reserving(sku: str, token: str, *, profile: bool = False) -> dict[str, Any]:
    """Reserve one unit of `sku` again and again; it needs WARMUP + MEASURED units (twice
    that with `profile`) at active locations."""
    from pasar.wsgi import application

    body = reservation_body(sku)

    def reserve() -> None:
        answer = wsgi_request(application, "POST", PATH, body=body, token=token)
        expect(*answer, 201, PATH)

    cost = cost_of_calls(
        reserve, PATH, profile=profile, warmup=WARMUP_REQUESTS, measured=MEASURED_REQUESTS
    )
    return {"path": PATH, "method": "POST", **cost}


def units_needed(*, profile: bool) -> int:
    return (WARMUP_REQUESTS + 1 + MEASURED_REQUESTS * (2 if profile else 1)) * 2


def probe_sku(*, profile: bool) -> str:
    """A fresh sellable SKU of the benchmark's shop with enough units at one location."""
    from bench.prepare import stocked_sku

    sku = f"COST-{uuid.uuid4().hex[:8].upper()}"
    stocked_sku(sku=sku, units=units_needed(profile=profile), location_name=COST_LOCATION)
    return sku


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("token_file", type=Path)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    token = args.token_file.read_text().strip()
    cost = cost_of_reserving(probe_sku(profile=args.profile), token, profile=args.profile)
    database = cost["postgresql_cpu_ms"]
    print(f"\n{'endpoint':<34} {'app CPU ms':>10} {'db CPU ms':>9} {'wall ms':>8} {'SQL':>4}")
    print(
        f"{'POST ' + PATH:<34} {cost['app_cpu_ms']:>10.3f} "
        f"{'-' if database is None else f'{database:.3f}':>9} {cost['wall_ms']:>8.3f} "
        f"{cost['sql_statements']:>4}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
