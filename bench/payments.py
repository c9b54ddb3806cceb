"""The payments benchmark: signed webhook handling and PayNow QR generation, in-process.

1. Webhooks. Payments are created and started at the sandbox gateway through the services;
   then one signed `charge.succeeded` webhook per payment is posted to
   `/webhooks/sandbox/<company>/` through the WSGI application, as gunicorn's worker would
   call it (no HTTP in the way): every request verifies the HMAC signature and timestamp,
   deduplicates on the event id, locks the payment, records the capture and its outbox
   event, and logs the call. Measured: first deliveries, then the same events again
   (duplicates: verified and answered without a second effect), each sequentially and from
   several threads at once (every event sent by two threads together). Afterwards every
   payment must hold exactly one capture and one `payment.captured` event.
2. PayNow QR: the EMVCo payload with its CRC, the SVG and the PNG, timed per payable.

Writes bench/results/payments-<UTC date>.json and payments-latest.json. Run by
scripts/bench.sh against the prepared benchmark database, or alone:
`python -m bench.payments [--payments N] [--threads T]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import django

from bench.http_load import percentile
from bench.request_cost import wsgi_request
from bench.run import report_head

NAME = "payments"
QR_SAMPLES = 300


def prepare_payments(company: Any, count: int, tag: str) -> list[tuple[str, bytes]]:
    """`count` started payments and one signed capture webhook body for each."""
    from pasar.core.tenant import tenant_context
    from pasar.payments import services
    from pasar.payments.credentials import unseal
    from pasar.payments.gateways.sandbox import sign
    from pasar.payments.models import GatewayAccount

    with tenant_context(company):
        account = GatewayAccount.objects.filter(gateway="sandbox").first()
    if account is None:
        account = services.sandbox_enable(company=company)
    secret = unseal(account.credentials_encrypted)["signing_secret"]
    deliveries = []
    for number in range(count):
        payment = services.payment_create(
            company=company, reference=f"B{tag}{number:06d}", amount=Decimal("12.90")
        )
        started = services.payment_start(
            payment=payment,
            method="paynow",
            base_url="http://127.0.0.1:8000",
            return_url="http://127.0.0.1:8000/done",
        )
        body = json.dumps(
            {
                "id": f"sbx_evt_{uuid.uuid4().hex}",
                "type": "charge.succeeded",
                "created": int(time.time()),
                "data": {
                    "charge": started.attempt.provider_reference,
                    "payment_id": str(payment.public_id),
                    "amount": "12.90",
                    "currency": "SGD",
                },
            }
        ).encode()
        deliveries.append((sign(body, secret, int(time.time())), body))
    return deliveries


def deliver(
    application: Callable[..., Iterable[bytes]],
    path: str,
    deliveries: list[tuple[str, bytes]],
    threads: int,
) -> dict[str, Any]:
    """Post every delivery from `threads` threads (round robin); rate and latencies."""
    from django.db import connection

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(share: list[tuple[str, bytes]]) -> None:
        try:
            for signature, body in share:
                started = time.perf_counter()
                code, _ = wsgi_request(
                    application, "POST", path, body=body, headers={"Sandbox-Signature": signature}
                )
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[code] = statuses.get(code, 0) + 1
        finally:
            connection.close()

    shares = [deliveries[index::threads] for index in range(threads)]
    workers = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "threads": threads,
        "deliveries": len(deliveries),
        "seconds": round(elapsed, 3),
        "per_second": round(len(deliveries) / elapsed, 1),
        "p50_ms": round(1000 * (percentile(latencies, 0.50) or 0), 2),
        "p95_ms": round(1000 * (percentile(latencies, 0.95) or 0), 2),
        "statuses": statuses,
    }


def check_once(company: Any, tag: str) -> dict[str, Any]:
    from django.db.models import Count

    from pasar.core.models import OutboxEvent
    from pasar.core.tenant import tenant_context
    from pasar.payments.models import Capture, Payment

    with tenant_context(company):
        payments = Payment.objects.filter(reference__startswith=f"B{tag}")
        captures = (
            Capture.objects.filter(payment__in=payments).values("payment").annotate(n=Count("id"))
        )
        events = OutboxEvent.objects.filter(
            topic="payment.captured", payload__reference__startswith=f"B{tag}"
        ).count()
        return {
            "payments": payments.count(),
            "captured": payments.filter(status="captured").count(),
            "captures": sum(row["n"] for row in captures),
            "payments_with_more_than_one_capture": sum(1 for row in captures if row["n"] > 1),
            "captured_events": events,
        }


def webhooks(company: Any, count: int, threads: int) -> dict[str, Any]:
    from django.urls import reverse

    from pasar.wsgi import application

    path = reverse("payments:webhook", args=["sandbox", company.public_id])
    # References unique to this run, so a second run on the same database measures afresh.
    run = uuid.uuid4().hex[:6].upper()
    sequential_tag, concurrent_tag = f"S{run}", f"C{run}"
    sequential = prepare_payments(company, count, sequential_tag)
    concurrent = prepare_payments(company, count, concurrent_tag)
    # Warm up: the first requests load code and open connections.
    wsgi_request(application, "POST", path, body=b"{}", headers={"Sandbox-Signature": "t=0,v1=00"})

    results = {
        "sequential_first": deliver(application, path, sequential, 1),
        "sequential_duplicates": deliver(application, path, sequential, 1),
        # Every event twice, the copies next to each other, so two threads race on each.
        "concurrent_first_and_duplicate": deliver(
            application, path, [d for d in concurrent for _ in range(2)], threads
        ),
        "concurrent_duplicates": deliver(application, path, concurrent, threads),
    }
    results["effects_sequential"] = check_once(company, sequential_tag)
    results["effects_concurrent"] = check_once(company, concurrent_tag)
    return results


def qr(samples: int) -> dict[str, Any]:
    from pasar.payments.gateways.paynow import PayNowQR, ProxyType, render_png, render_svg

    timings: dict[str, list[float]] = {"payload": [], "svg": [], "png": []}
    expiry = datetime.now(UTC)
    for number in range(samples):
        started = time.perf_counter()
        payload = PayNowQR(
            proxy_type=ProxyType.UEN,
            proxy_value="202400042R",
            amount=Decimal(f"{number % 500 + 1}.{number % 100:02d}"),
            expiry=expiry,
            merchant_name="Bench Kopi Pte. Ltd.",
            reference=f"SO-{number:06d}",
        ).payload()
        built = time.perf_counter()
        render_svg(payload)
        drawn = time.perf_counter()
        render_png(payload)
        done = time.perf_counter()
        timings["payload"].append(built - started)
        timings["svg"].append(drawn - built)
        timings["png"].append(done - drawn)
    return {
        kind: {
            "samples": samples,
            "p50_ms": round(1000 * (percentile(values, 0.50) or 0), 3),
            "p95_ms": round(1000 * (percentile(values, 0.95) or 0), 3),
        }
        for kind, values in ((kind, sorted(values)) for kind, values in timings.items())
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    # One access-log line per webhook would bury the figures.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Every webhook comes from this one process's address: the per-address limit would turn
    # most of them away, so it is off here (0) and the handling itself is what is measured.
    os.environ.setdefault("PAYMENT_WEBHOOK_RATE_LIMIT", "0")
    django.setup()

    from bench.prepare import SHOP_SLUG
    from pasar.tenancy.models import Company

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    report: dict[str, Any] = {
        **report_head(NAME),
        "webhooks": webhooks(company, args.payments, args.threads),
        "paynow_qr": qr(QR_SAMPLES),
    }
    effects = [report["webhooks"][key] for key in ("effects_sequential", "effects_concurrent")]
    exactly_once = all(
        effect["captures"] == effect["payments"] == effect["captured_events"]
        and effect["payments_with_more_than_one_capture"] == 0
        for effect in effects
    )
    report["exactly_once"] = exactly_once
    text = json.dumps(report, indent=2, default=str)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    day = datetime.now(UTC).date().isoformat()
    for name in (f"{NAME}-{day}.json", f"{NAME}-latest.json"):
        (args.results_dir / name).write_text(text + "\n")
    hooks = report["webhooks"]
    print("Webhooks (signed, deduplicated), in-process WSGI:")
    for key in (
        "sequential_first",
        "sequential_duplicates",
        "concurrent_first_and_duplicate",
        "concurrent_duplicates",
    ):
        row = hooks[key]
        print(
            f"  {key:32} {row['per_second']:8.1f}/s  p50 {row['p50_ms']:7.2f} ms  "
            f"p95 {row['p95_ms']:7.2f} ms  ({row['threads']} threads, {row['statuses']})"
        )
    print(f"  exactly one capture and one payment.captured per payment: {exactly_once}")
    print("PayNow QR per payable:")
    for kind, row in report["paynow_qr"].items():
        print(f"  {kind:8} p50 {row['p50_ms']:7.3f} ms  p95 {row['p95_ms']:7.3f} ms")
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
