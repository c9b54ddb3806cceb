"""Product search over a large catalog: `variant_search` timed in-process.

Seeds a cafe and lifestyle catalog of 20,000 variants (5,000 products of four variants each),
bulk-inserted inside the company's tenant context so the search index triggers fill
`catalog_search` as they do for every insert, then times a mix of what people type at a
counter or in the back office: an exact SKU, a scanned barcode, a word, a prefix, two words
being typed, and a misspelling. Each call opens its own tenant context, as a request does.
Goal: p95 under 50 ms.

Part of the stock benchmark (`bench/flash_sale.py` calls `run`); on its own, against a
prepared benchmark database: `python -m bench.search [--variants N]`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from decimal import Decimal
from typing import Any

import django
import psycopg

from bench.http_load import percentile

GOAL_P95_MS = 50.0
WARMUP_CALLS = 30
ROUNDS = 50  # each round calls every kind of query once
BATCH = 2_000
SKU_PREFIX = "CAT"

FLAVOURS = [
    "Cappuccino", "Latte", "Flat White", "Mocha", "Kopi O", "Kopi C", "Teh Tarik", "Milo",
    "Matcha", "Hojicha", "Chai", "Espresso", "Americano", "Pandan", "Gula Melaka", "Kaya",
    "Yuzu", "Lychee", "Calamansi", "Bandung",
]  # fmt: skip
ITEMS = [
    "Beans", "Drip Bags", "Cold Brew", "Syrup", "Mug", "Tumbler", "Tote Bag", "T-Shirt",
    "Cookies", "Chiffon Cake", "Candle", "Notebook", "Enamel Pin", "Gift Box", "Capsules",
    "Glass Bottle", "Sticker Set", "Apron", "Cap", "Coaster Set",
]  # fmt: skip
MAKERS = [
    "Tiong Bahru", "Joo Chiat", "Katong", "Bukit Timah", "Tanjong Pagar", "Kampong Glam",
    "Holland Village", "Jalan Besar", "Ang Mo Kio", "Serangoon", "Tampines", "Bedok", "Yishun",
]  # fmt: skip
SIZES = ["S", "M", "L", "XL"]

QUERIES = ("sku", "barcode", "word", "prefix", "words", "typo")


def barcode(number: int) -> str:
    """A valid EAN-13 under GS1 Singapore's 888 prefix."""
    from pasar.catalog.rules import gtin_check_digit

    body = f"888{number:09d}"
    return body + gtin_check_digit(body)


def seed(company: Any, variants: int) -> None:
    from pasar.catalog.models import Product, ProductStatus, Variant
    from pasar.catalog.rules import search_text
    from pasar.core.tenant import tenant_context

    names = itertools.cycle(itertools.product(MAKERS, FLAVOURS, ITEMS))
    products_needed = -(-variants // len(SIZES))
    for first in range(0, products_needed, BATCH // len(SIZES)):
        count = min(BATCH // len(SIZES), products_needed - first)
        with tenant_context(company):
            products = Product.objects.bulk_create(
                [
                    Product(
                        company=company, name=" ".join(next(names)), status=ProductStatus.ACTIVE
                    )
                    for _ in range(count)
                ]
            )
            rows = []
            for index, product in enumerate(products, start=first):
                for position, size in enumerate(SIZES):
                    number = index * len(SIZES) + position
                    if number >= variants:
                        break
                    sku = f"{SKU_PREFIX}-{number:05d}-{size}"
                    code = barcode(number)
                    rows.append(
                        Variant(
                            company=company,
                            product=product,
                            sku=sku,
                            barcode=code,
                            options={"size": size},
                            price=Decimal("8.90") + position,
                            cost=Decimal("3.2000"),
                            position=position,
                            search_text=search_text(
                                product_name=product.name,
                                options={"size": size},
                                sku=sku,
                                barcode=code,
                            ),
                        )
                    )
            Variant.objects.bulk_create(rows)
    # Fresh statistics, as autovacuum gathers after a large import; ANALYZE needs the owner.
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as owner:
        owner.execute("ANALYZE catalog_variant, catalog_product")
        owner.execute("ANALYZE catalog_search.variant, catalog_search.word")


def query(kind: str, variants: int, chooser: random.Random) -> str:
    number = chooser.randrange(variants)
    return {
        "sku": f"{SKU_PREFIX}-{number:05d}-{SIZES[number % len(SIZES)]}",
        "barcode": barcode(number),
        "word": chooser.choice(["latte", "tumbler", "katong", "kaya", "candle"]),
        "prefix": chooser.choice(["capp", "matc", "tiong", "chif", "tumb"]),
        "words": chooser.choice(["iced lat", "kopi o mu", "teh tarik tote", "yuzu cold b"]),
        "typo": chooser.choice(["cappucino", "expresso", "tumbller", "kopi tiong baru"]),
    }[kind]


def run(*, company: Any, variants: int = 20_000) -> dict[str, Any]:
    """Seed the catalog, then time the query mix; returns the figures for the report."""
    from pasar.catalog.selectors import variant_search
    from pasar.core.tenant import tenant_context

    started = time.perf_counter()
    seed(company, variants)
    seed_s = time.perf_counter() - started
    chooser = random.Random(3)

    def timed(kind: str) -> tuple[float, int]:
        text = query(kind, variants, chooser)
        began = time.perf_counter()
        with tenant_context(company):
            hits = variant_search(company=company, query=text)
        return time.perf_counter() - began, len(hits)

    for number in range(WARMUP_CALLS):
        timed(QUERIES[number % len(QUERIES)])
    by_kind: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    empty: dict[str, int] = dict.fromkeys(QUERIES, 0)
    for _ in range(ROUNDS):
        for kind in QUERIES:
            seconds, hits = timed(kind)
            by_kind[kind].append(seconds)
            empty[kind] += hits == 0

    def ms(values: list[float], fraction: float) -> float | None:
        value = percentile(sorted(values), fraction)
        return None if value is None else round(value * 1000, 2)

    everything = [value for values in by_kind.values() for value in values]
    p95 = ms(everything, 0.95)
    return {
        "variants": variants,
        "seed_seconds": round(seed_s, 1),
        "calls": len(everything),
        "p50_ms": ms(everything, 0.50),
        "p95_ms": p95,
        "p99_ms": ms(everything, 0.99),
        "by_query": {
            kind: {
                "p50_ms": ms(values, 0.50),
                "p95_ms": ms(values, 0.95),
                "calls_without_hits": empty[kind],
            }
            for kind, values in by_kind.items()
        },
        "goal_p95_ms": GOAL_P95_MS,
        "passed": p95 is not None and p95 < GOAL_P95_MS,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=20_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    from bench.prepare import SHOP_SLUG
    from pasar.tenancy.models import Company

    report = run(company=Company.objects.get(shop_slug=SHOP_SLUG), variants=args.variants)
    for key, value in report.items():
        print(f"{key}: {value}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
