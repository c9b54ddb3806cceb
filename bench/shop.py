"""The shop benchmark: catalogue pages, add-to-cart and complete checkouts over HTTP, against
PostgreSQL's own ceiling for the writes a checkout makes.

Called by scripts/bench.sh with gunicorn running:

    python -m bench.shop --base-url URL --server-pid PID ...

1. The catalogue: 5,000 products with 4 variants each (20,000) in 50 categories, every
   variant stocked, written in bulk (as an import would) into the benchmark's shop, which is
   GST-registered, delivers at a flat rate and takes PayNow through the sandbox gateway.
2. Pages: a category page and a product page, each at 1 and 20 concurrent shoppers.
3. Add-to-cart through the shop API at 1 and 20 shoppers: each shopper has a cart of their own
   and adds one unit of the next of 50 SKUs per request (a fresh cart every 50 adds, not
   counted).
4. Checkouts at 20 shoppers for CHECKOUT_SECONDS, counted per WINDOW_SECONDS window: open a
   cart, add a line, give the address and delivery, place the order and start PayNow, then
   post the sandbox's signed `charge.succeeded` webhook. A checkout counts when the webhook
   is answered 200. Holds, orders and payments pile up as in a real sale.
5. The ceiling: pgbench, on the same server in the same run, running the writes a checkout
   makes as the app role under row-level security: the stock lock and hold, the reservation
   and its allocation, the order number, the payment, the order and its line, the history
   and the outbox events; then the capture (webhook log, capture, payment), the order
   marked paid with its hold committed, and the sale posted to the books with its GST
   (var/bench/checkout.pgbench).
6. Page weight: the JavaScript and CSS a product page loads, gzip-compressed.

Afterwards the outbox is drained, and every paid order must have its stock committed, no level
may be oversold, and every level must equal its movements.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import re
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django

from bench.cpu import CpuSnapshot, cores_used, snapshot
from bench.http_load import percentile, read_response_body, run_load
from bench.run import report_head, require_running, server_config, wait_until_ready, write
from bench.sustained import BENCH_ENTER, app_environment, owner_connection, run_pgbench

NAME = "shop"
PRODUCTS = 5_000
VARIANTS_PER_PRODUCT = 4
CATEGORIES = 50
CHECKOUT_SKUS = 100
CHECKOUT_UNITS = 1_000_000
PAGE_CLIENTS = (1, 20)
CHECKOUT_CLIENTS = 20
PAGE_SECONDS = 10
WARMUP_SECONDS = 2
CHECKOUT_SECONDS = 30
CEILING_SECONDS = 20
WINDOW_SECONDS = 10
CART_ADDS = 50
REQUEST_TIMEOUT_S = 30.0
WEIGHT_BUDGET = 60 * 1024
GOALS = {"page_p95_ms_20": 50.0, "checkouts_per_s": 30.0, "page_weight_bytes": WEIGHT_BUDGET}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    return parser.parse_args(argv)


# --- Set-up -----------------------------------------------------------------------------------


def build_shop() -> dict[str, Any]:
    """The catalogue, stock, delivery and the sandbox, in bulk; what the load needs to know."""
    from django.utils import timezone

    from bench.prepare import SHOP_SLUG
    from pasar.catalog.models import Category, Product, ProductStatus, TaxCode, Variant
    from pasar.core.tenant import tenant_context
    from pasar.inventory.models import (
        Channel,
        ChannelKind,
        Location,
        LocationKind,
        MovementKind,
        StockLevel,
        StockMovement,
    )
    from pasar.ledger.services import chart_install
    from pasar.payments import services as payment_services
    from pasar.payments.credentials import unseal
    from pasar.payments.models import GatewayAccount
    from pasar.sales.models import Customer, DeliveryKind, DeliveryMethod
    from pasar.tenancy.models import Company

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    company.gst_registered, company.gst_number = True, "M90399999X"
    company.save(update_fields=["gst_registered", "gst_number"])
    now = timezone.now()
    picker = random.Random(42)
    with tenant_context(company):
        location = Location.objects.create(
            company=company, name="Bench shop warehouse", kind=LocationKind.WAREHOUSE
        )
        if not Channel.objects.filter(kind=ChannelKind.WEB).exists():
            Channel.objects.create(company=company, kind=ChannelKind.WEB)
        categories = Category.objects.bulk_create(
            Category(company=company, name=f"Aisle {n:02d}", slug=f"aisle-{n:02d}", position=n)
            for n in range(CATEGORIES)
        )
        products = Product.objects.bulk_create(
            Product(
                company=company,
                name=f"Kopi blend {n:05d}",
                description="Roasted in Singapore. " * 4,
                category=categories[n % CATEGORIES],
                status=ProductStatus.ACTIVE,
                tax_code=TaxCode.STANDARD_RATED,
            )
            for n in range(PRODUCTS)
        )
        sizes = ("100 g", "250 g", "500 g", "1 kg")
        variants = Variant.objects.bulk_create(
            Variant(
                company=company,
                product=product,
                sku=f"BK-{n:05d}-{size.replace(' ', '')}",
                price=Decimal(picker.randrange(590, 8990)) / 100,
                cost=Decimal("3.0000"),
                options={"size": size},
                position=position,
            )
            for n, product in enumerate(products)
            for position, size in enumerate(sizes)
        )
        # The first CHECKOUT_SKUS variants have a warehouse full for the checkouts.
        units = [CHECKOUT_UNITS if n < CHECKOUT_SKUS else 50 for n in range(len(variants))]
        levels = StockLevel.objects.bulk_create(
            StockLevel(company=company, variant=variant, location=location, on_hand=count)
            for variant, count in zip(variants, units, strict=True)
        )
        StockMovement.objects.bulk_create(
            StockMovement(
                company=company,
                variant=variant,
                location=location,
                kind=MovementKind.RECEIPT,
                quantity=count,
                unit_cost=Decimal("3.0000"),
                source_type="bench",
                created_at=now,
            )
            for variant, count in zip(variants, units, strict=True)
        )
        delivery = DeliveryMethod.objects.create(
            company=company,
            name="Standard delivery",
            kind=DeliveryKind.FLAT_RATE,
            price=Decimal("4.00"),
            free_above=Decimal("60.00"),
        )
        customer = Customer.objects.create(
            company=company, email="ceiling@bench.example", created_at=now, updated_at=now
        )
        channel_id = Channel.objects.get(kind=ChannelKind.WEB).pk
    payment_services.sandbox_enable(company=company)
    books = {account.role: account.pk for account in chart_install(company=company)}
    with tenant_context(company):
        account = GatewayAccount.objects.get(gateway="sandbox")
    checkout_levels = [level.pk for level in levels[:CHECKOUT_SKUS]]
    return {
        "company": company,
        "slug": SHOP_SLUG,
        "category": categories[7].slug,
        "product": (str(products[123].public_id), "kopi-blend-00123"),
        "product_variant": str(variants[123 * VARIANTS_PER_PRODUCT].public_id),
        "cart_skus": [variant.sku for variant in variants[1000 : 1000 + CART_ADDS]],
        "checkout_skus": [variant.sku for variant in variants[:CHECKOUT_SKUS]],
        "checkout_variants": [variant.pk for variant in variants[:CHECKOUT_SKUS]],
        "checkout_levels": checkout_levels,
        "delivery": str(delivery.public_id),
        "secret": unseal(account.credentials_encrypted)["signing_secret"],
        "customer_id": customer.pk,
        "channel_id": channel_id,
        "accounts": books,
    }


# --- HTTP ---------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads the whole answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += ["Accept: application/json", f"Content-Length: {len(body)}"]
        if body:
            lines.append("Content-Type: application/json")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            status, keep_alive, answer = await read_response_body(self.reader)
        if not keep_alive:
            self.close()
        return status, answer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


async def add_to_cart_run(base_url: str, shop: dict[str, Any], clients: int) -> dict[str, Any]:
    parts = urlsplit(base_url)
    api = f"/api/v1/shops/{shop['slug']}/carts/"
    start = time.perf_counter()
    measure_from, end = start + WARMUP_SECONDS, start + WARMUP_SECONDS + PAGE_SECONDS
    latencies: list[float] = []
    statuses: Counter[str] = Counter()

    async def shopper() -> None:
        connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        try:
            while time.perf_counter() < end:
                status, answer = await connection.send("POST", api)
                cart = json.loads(answer)["data"]["id"]
                for sku in shop["cart_skus"]:
                    began = time.perf_counter()
                    if began >= end:
                        return
                    status, _ = await connection.send(
                        "POST", f"{api}{cart}/lines/", _json({"sku": sku, "quantity": 1})
                    )
                    done = time.perf_counter()
                    if began >= measure_from and done < end:
                        statuses[str(status)] += 1
                        if status == 201:
                            latencies.append(done - began)
        finally:
            connection.close()

    await asyncio.gather(*(shopper() for _ in range(clients)))
    return _summary(
        "POST /api/v1/shops/<shop>/carts/<cart>/lines/", clients, latencies, statuses, "201"
    )


def _summary(
    path: str, clients: int, latencies: list[float], statuses: Counter[str], ok: str
) -> dict[str, Any]:
    latencies.sort()
    p50, p95, p99 = (percentile(latencies, f) for f in (0.50, 0.95, 0.99))
    return {
        "path": path,
        "concurrency": clients,
        "duration_s": PAGE_SECONDS,
        "requests": sum(statuses.values()),
        "errors": sum(n for status, n in statuses.items() if status != ok),
        "error_kinds": {s: n for s, n in statuses.items() if s != ok},
        "rps": round(len(latencies) / PAGE_SECONDS, 1),
        "p50_ms": None if p50 is None else round(p50 * 1000, 2),
        "p95_ms": None if p95 is None else round(p95 * 1000, 2),
        "p99_ms": None if p99 is None else round(p99 * 1000, 2),
    }


async def checkout_run(base_url: str, shop: dict[str, Any]) -> dict[str, Any]:
    from pasar.payments.gateways.sandbox import SIGNATURE_HEADER, sign

    parts = urlsplit(base_url)
    api = f"/api/v1/shops/{shop['slug']}"
    webhook = f"/webhooks/sandbox/{shop['company'].public_id}/"
    start = time.perf_counter()
    end = start + CHECKOUT_SECONDS
    windows = [0] * (CHECKOUT_SECONDS // WINDOW_SECONDS)
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    picker = random.Random(7)
    details = _json(
        {
            "email": "shopper@bench.example",
            "name": "Bench Shopper",
            "phone": "+65 9123 4567",
            "delivery_method": shop["delivery"],
            "block": "123",
            "street": "Ang Mo Kio Avenue 3",
            "unit": "#05-12",
            "postal_code": "560123",
        }
    )

    async def shopper() -> None:
        connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        try:
            while (began := time.perf_counter()) < end:
                step = "cart"
                try:
                    status, answer = await connection.send("POST", f"{api}/carts/")
                    if status != 201:
                        raise ValueError(status)
                    cart = json.loads(answer)["data"]["id"]
                    step = "line"
                    line = {"sku": picker.choice(shop["checkout_skus"]), "quantity": 1}
                    status, _ = await connection.send(
                        "POST", f"{api}/carts/{cart}/lines/", _json(line)
                    )
                    if status != 201:
                        raise ValueError(status)
                    step = "details"
                    status, answer = await connection.send(
                        "PUT", f"{api}/carts/{cart}/details/", details
                    )
                    if status != 200:
                        raise ValueError(status)
                    total = json.loads(answer)["data"]["total"]
                    step = "place"
                    status, answer = await connection.send(
                        "POST",
                        f"{api}/carts/{cart}/checkout/",
                        _json({"expected_total": total, "method": "paynow"}),
                        {"Idempotency-Key": f"bench-{cart}"},
                    )
                    if status != 201:
                        raise ValueError(status)
                    placed = json.loads(answer)["data"]
                    step = "webhook"
                    now = int(time.time())
                    body = _json(
                        {
                            "id": f"sbx_evt_{cart}",
                            "type": "charge.succeeded",
                            "created": now,
                            "data": {
                                "charge": placed["payment"]["provider_reference"],
                                "payment_id": placed["payment"]["id"],
                                "reference": placed["order"]["number"],
                                "amount": total,
                                "currency": "SGD",
                            },
                        }
                    )
                    status, _ = await connection.send(
                        "POST", webhook, body, {SIGNATURE_HEADER: sign(body, shop["secret"], now)}
                    )
                    if status != 200:
                        raise ValueError(status)
                except (
                    ValueError,
                    KeyError,
                    TimeoutError,
                    OSError,
                    asyncio.IncompleteReadError,
                ) as error:
                    failures[f"{step}:{error}"] += 1
                    connection.close()
                    continue
                done = time.perf_counter()
                if done < end:
                    windows[int((done - start) // WINDOW_SECONDS)] += 1
                    latencies.append(done - began)
        finally:
            connection.close()

    await asyncio.gather(*(shopper() for _ in range(CHECKOUT_CLIENTS)))
    latencies.sort()
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
    return {
        "clients": CHECKOUT_CLIENTS,
        "seconds": CHECKOUT_SECONDS,
        "checkouts": sum(windows),
        "checkouts_per_s": round(sum(windows) / CHECKOUT_SECONDS, 1),
        "per_window": [round(count / WINDOW_SECONDS, 1) for count in windows],
        "p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "p95_ms": None if p95 is None else round(p95 * 1000, 1),
        "failures": dict(failures),
        "errors": sum(failures.values()),
    }


def shopper_cookie(base_url: str, product_path: str, variant: str) -> str:
    """The Cookie header of a shopper who put one unit in their cart through the shop's form
    (the message it left is read on the cart page it leads to, as in a browser)."""
    import httpx
    from django.conf import settings

    with httpx.Client(base_url=base_url, follow_redirects=True) as client:
        html = client.get(product_path).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if token is None:
            raise SystemExit("The product page has no form token.")
        cart = product_path.split("/p/")[0] + "/cart/"
        answer = client.post(
            cart,
            data={"action": "add", "variant": variant, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": base_url + product_path},
        )
        if answer.status_code != 200 or 'aria-label="1 items"' not in answer.text:
            raise SystemExit(f"Adding to the cart through the shop answered {answer.status_code}.")
        kept = {name: client.cookies[name] for name in (settings.SESSION_COOKIE_NAME, "csrftoken")}
    return "; ".join(f"{name}={value}" for name, value in kept.items())


def page_weight(base_url: str, product_path: str) -> dict[str, Any]:
    """The scripts and stylesheets a product page loads, and their size gzip-compressed. The
    files are read where the static files finder finds them (the benchmark's server does not
    collect them)."""
    import httpx
    from django.conf import settings
    from django.contrib.staticfiles import finders

    with httpx.Client(base_url=base_url) as client:
        html = client.get(product_path).text
    assets = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(
        r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html
    )
    files = {}
    for asset in assets:
        found = finders.find(asset.removeprefix(settings.STATIC_URL))
        if not found:
            raise SystemExit(f"The product page loads {asset}, which no static finder has.")
        content = Path(str(found)).read_bytes()
        files[asset] = {"bytes": len(content), "gzip_bytes": len(gzip.compress(content, 6))}
    return {
        "files": files,
        "bytes": sum(f["bytes"] for f in files.values()),
        "gzip_bytes": sum(f["gzip_bytes"] for f in files.values()),
        "budget_gzip_bytes": WEIGHT_BUDGET,
    }


# --- The ceiling ----------------------------------------------------------------------------------

# The writes one checkout makes, as a pgbench script; `ceiling_script` fills in the ids.
CHECKOUT_TEMPLATE = Path(__file__).with_name("checkout.pgbench.sql")


def ceiling_script(shop: dict[str, Any]) -> str:
    levels, variants = shop["checkout_levels"], shop["checkout_variants"]
    if levels != list(range(levels[0], levels[0] + len(levels))) or variants != list(
        range(variants[0], variants[0] + len(variants))
    ):
        raise SystemExit("The checkout SKUs' rows are not numbered in a row; run again.")
    return CHECKOUT_TEMPLATE.read_text().format(
        skus_minus_one=len(levels) - 1,
        level_base=levels[0],
        variant_base=variants[0],
        company=shop["company"].pk,
        channel=shop["channel_id"],
        customer=shop["customer_id"],
        clearing=shop["accounts"]["payment_clearing"],
        receipts=shop["accounts"]["customer_receipts"],
        sales=shop["accounts"]["sales"],
        shipping=shop["accounts"]["shipping_income"],
        gst_output=shop["accounts"]["gst_output"],
    )


def undo_ceiling(shop: dict[str, Any]) -> None:
    """pgbench's checkouts are not real orders: free the units they hold again."""
    company = shop["company"].pk
    with owner_connection() as owner:
        owner.execute(
            "UPDATE inventory_reservationallocation SET state = 'released' WHERE company_id = %s"
            " AND reservation_id IN (SELECT reservation_id FROM sales_order WHERE company_id = %s"
            " AND number LIKE 'SOB-%%')",
            [company, company],
        )
        owner.execute(
            "UPDATE inventory_stocklevel AS level SET reserved = coalesce((SELECT sum(quantity)"
            " FROM inventory_reservationallocation WHERE level_id = level.id AND state = 'open'),"
            " 0) WHERE company_id = %s",
            [company],
        )


def settle() -> None:
    """Clean up after pgbench before the app's run: its thousands of rows would otherwise be
    vacuumed and checkpointed while the checkouts are measured."""
    with owner_connection() as owner:
        owner.execute("VACUUM (ANALYZE)")
        owner.execute("CHECKPOINT")


# --- After the run -------------------------------------------------------------------------------


def settle_and_check(shop: dict[str, Any]) -> dict[str, Any]:
    """Drain the outbox, then check what a real sale must leave behind."""
    from django.db.models import F

    from pasar.core.events import relay_pending
    from pasar.core.models import OutboxEvent
    from pasar.core.tenant import system_access, tenant_context
    from pasar.inventory.models import ReservationStatus, StockLevel
    from pasar.inventory.selectors import stock_drift
    from pasar.sales.models import Order, OrderStatus

    with system_access(reason="benchmark: the relay backlog"):
        backlog = OutboxEvent.objects.filter(relayed_at__isnull=True, dead_at__isnull=True).count()
    began = time.perf_counter()
    while relay_pending(limit=500):
        pass
    company = shop["company"]
    with tenant_context(company):
        orders = Order.objects.exclude(number__startswith="SOB-")
        paid = orders.filter(status=OrderStatus.PAID)
        paid_uncommitted = paid.exclude(reservation__status=ReservationStatus.COMMITTED).count()
        oversold = StockLevel.objects.filter(reserved__gt=F("on_hand")).count()
        counts = {
            "orders": orders.count(),
            "paid": paid.count(),
            "pending_payment": orders.filter(status=OrderStatus.PENDING_PAYMENT).count(),
        }
    drift = [str(level) for level in stock_drift(company=company)]
    return {
        **counts,
        "relay_backlog_at_end": backlog,
        "relay_drain_s": round(time.perf_counter() - began, 1),
        "paid_without_committed_stock": paid_uncommitted,
        "oversold_levels": oversold,
        "drift": drift,
        "agrees": paid_uncommitted == 0 and oversold == 0 and not drift,
    }


# --- The report ----------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    rows = ["what                                   clients  req/s    p50 ms  p95 ms  errors"]
    for row in report["pages"]:
        what = row["path"] if "shopper" not in row else f"{row['path']} ({row['shopper']})"
        rows.append(
            f"{what[-38:]:<38} {row['concurrency']:>7}  {row['rps']:>7.1f}  "
            f"{row['p50_ms']!s:>6}  {row['p95_ms']!s:>6}  {row['errors']:>6}"
        )
    checkout = report["checkouts"]
    rows.append(
        f"checkouts (API + signed webhook)       {checkout['clients']:>7}  "
        f"{checkout['checkouts_per_s']:>7.1f}  {checkout['p50_ms']!s:>6}  "
        f"{checkout['p95_ms']!s:>6}  {checkout['errors']:>6}"
    )
    ceiling = report["ceiling"]
    rows.append(
        f"pgbench, the same writes               {ceiling['clients']:>7}  "
        f"{ceiling['checkouts_per_s']:>7.1f}  (ratio {report['ratio']:.1%})"
    )
    weight = report["page_weight"]
    rows.append(
        f"product page JS + CSS: {weight['bytes']:,} bytes, {weight['gzip_bytes']:,} gzipped"
    )
    return "\n".join(rows)


def goals(report: dict[str, Any]) -> dict[str, bool]:
    pages_20 = [
        row for row in report["pages"] if row["concurrency"] == 20 and row["path"].startswith("/s/")
    ]
    return {
        "page_p95_ms_20": all(
            row["p95_ms"] is not None and row["p95_ms"] < GOALS["page_p95_ms_20"]
            for row in pages_20
        ),
        "checkouts_per_s": report["checkouts"]["checkouts_per_s"] >= GOALS["checkouts_per_s"],
        "page_weight_bytes": report["page_weight"]["gzip_bytes"] <= WEIGHT_BUDGET,
        "no_errors": report["checkouts"]["errors"] == 0
        and all(row["errors"] == 0 for row in report["pages"])
        and report["ceiling"]["failed"] == 0,
        "state_agrees": report["state"]["agrees"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    wait_until_ready(args.base_url, args.server_pid)
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")

    def probe() -> CpuSnapshot:
        return snapshot(args.server_pid, database)

    print("Writing 5,000 products and 20,000 variants ...", flush=True)
    shop = build_shop()
    with owner_connection() as owner:
        owner.execute(BENCH_ENTER)
        role = app_environment()["PGUSER"]
        owner.execute(
            f'GRANT EXECUTE ON FUNCTION public.pasar_bench_enter(bigint, bigint) TO "{role}"'
        )
        owner.execute("ANALYZE")
    script = Path("var/bench/checkout.pgbench")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(ceiling_script(shop))
    category = f"/s/{shop['slug']}/c/{shop['category']}/"
    product = f"/s/{shop['slug']}/p/{shop['product'][0]}/{shop['product'][1]}/"
    report: dict[str, Any] = {
        **report_head(NAME),
        "config": {
            **server_config(args),
            "catalogue": f"{PRODUCTS} products, {PRODUCTS * VARIANTS_PER_PRODUCT} variants, "
            f"{CATEGORIES} categories",
            "pages": f"{PAGE_SECONDS} s after {WARMUP_SECONDS} s warm-up per row",
            "checkouts": f"{CHECKOUT_CLIENTS} shoppers for {CHECKOUT_SECONDS} s: cart, line, "
            "details, place + PayNow, signed webhook",
            "ceiling": f"pgbench, {CHECKOUT_CLIENTS} clients, {CEILING_SECONDS} s, the writes of "
            "a checkout as the app role under RLS (var/bench/checkout.pgbench)",
            "goals": GOALS,
        },
        "pages": [],
    }
    try:
        cookie = shopper_cookie(args.base_url, product, shop["product_variant"])
        # A shopper with no session, then one with a cart (their own header on the page).
        for who, headers in (
            ("new", {"Accept": "text/html"}),
            ("with a cart", {"Accept": "text/html", "Cookie": cookie}),
        ):
            for path in (category, product):
                for clients in PAGE_CLIENTS:
                    require_running(args.server_pid)
                    result, edges = run_load(
                        args.base_url + path,
                        concurrency=clients,
                        warmup_s=WARMUP_SECONDS,
                        duration_s=PAGE_SECONDS,
                        headers=headers,
                        probe=probe,
                    )
                    assert edges is not None
                    row = {**result.as_dict(), "shopper": who, "cpu_cores": cores_used(*edges)}
                    report["pages"].append(row)
                    print(
                        f"  {path[:40]:<40} {who:<11} {clients:>3}: {result.rps:7.1f}/s "
                        f"p95 {result.p95_ms}",
                        flush=True,
                    )
        for clients in PAGE_CLIENTS:
            before = probe()
            row = asyncio.run(add_to_cart_run(args.base_url, shop, clients))
            report["pages"].append({**row, "cpu_cores": cores_used(before, probe())})
            print(
                f"  add to cart {clients:>3}: {row['rps']:7.1f}/s p95 {row['p95_ms']}", flush=True
            )
        print(f"pgbench, {CHECKOUT_CLIENTS} clients, {CEILING_SECONDS} s ...", flush=True)
        report["ceiling"] = run_pgbench(
            script, CHECKOUT_CLIENTS, probe, seconds=CEILING_SECONDS, rate_name="checkouts_per_s"
        )
        undo_ceiling(shop)
        settle()
        print(f"Checkouts, {CHECKOUT_CLIENTS} shoppers, {CHECKOUT_SECONDS} s ...", flush=True)
        before = probe()
        report["checkouts"] = asyncio.run(checkout_run(args.base_url, shop))
        report["checkouts"]["cpu_cores"] = cores_used(before, probe())
        require_running(args.server_pid)
        report["page_weight"] = page_weight(args.base_url, product)
    finally:
        with owner_connection() as owner:
            owner.execute("DROP FUNCTION IF EXISTS public.pasar_bench_enter(bigint, bigint)")
    report["ratio"] = (
        round(report["checkouts"]["checkouts_per_s"] / report["ceiling"]["checkouts_per_s"], 3)
        if report["ceiling"]["checkouts_per_s"]
        else 0.0
    )
    report["state"] = settle_and_check(shop)
    report["goals_met"] = goals(report)
    print(table(report))
    print(
        "Goals:",
        ", ".join(f"{n} {'met' if m else 'MISSED'}" for n, m in report["goals_met"].items()),
    )
    for written in write(report, args.results_dir):
        print(f"Written {written}")
    return 0 if report["goals_met"]["no_errors"] and report["goals_met"]["state_agrees"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
