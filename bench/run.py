"""Measures `GET /api/v1/me` (with a JWT) against `/healthz` on a running gunicorn.

`/healthz` touches neither the database nor the tenant machinery, so it is the floor: what
gunicorn, Django and the middleware cost. `/api/v1/me` adds JWT decoding, the membership check
and the tenant context with RLS. The goal: `/api/v1/me` keeps at least 60% of `/healthz`
throughput, at 1 and at 50 concurrent clients. Called by scripts/bench.sh, which prepares the
database and starts gunicorn.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django
import gunicorn
import psycopg

from bench.cpu import cores_used, snapshot
from bench.http_load import Result, run_load

NAME = "foundation"
GOAL_RATIO = 0.60
FLOOR_PATH = "/healthz"
ME_PATH = "/api/v1/me"
# The two reads every screen and app calls most, also measured at READS_CONCURRENCY clients.
# The product page's 32 products (3 variants each) are created by bench.request_cost.
PRODUCT_PAGE = "/api/v1/catalog/products?per_page=32"
READS_CONCURRENCY = 20
READY_TIMEOUT_S = 120.0
# More than this many cores busy outside the benchmark makes its figures unreliable.
OTHER_LOAD_LIMIT = 0.25


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True, help="for example http://127.0.0.1:8123")
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--server-pid", type=int, required=True, help="gunicorn's master")
    parser.add_argument("--worker-class", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--concurrency", default="1,50", help="comma-separated client counts")
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    parser.add_argument(
        "--request-cost", type=Path, help="figures from bench.request_cost to include"
    )
    return parser.parse_args(argv)


def get(base_url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    host_port = base_url.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def require_running(server_pid: int) -> None:
    try:
        os.kill(server_pid, 0)
    except ProcessLookupError:
        raise SystemExit("gunicorn is no longer running; see var/bench/gunicorn.log.") from None


def wait_until_ready(base_url: str, server_pid: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        require_running(server_pid)
        try:
            if get(base_url, FLOOR_PATH)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{FLOOR_PATH} did not answer 200 within {READY_TIMEOUT_S:.0f} s.")


def token_seconds_left(token: str) -> float:
    """Seconds until the JWT expires (read from its payload; the server checks the signature)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"]) - time.time()


def check_me(base_url: str, headers: dict[str, str], planned_s: float, token: str) -> None:
    status, body = get(base_url, ME_PATH, headers)
    if status != 200:
        raise SystemExit(f"{ME_PATH} answered {status} before the run: {body[:500]!r}")
    if token_seconds_left(token) < planned_s + 30:
        raise SystemExit(
            f"The access token expires before the run ends ({planned_s:.0f} s planned); "
            "shorten BENCH_DURATION or lengthen SIMPLE_JWT's ACCESS_TOKEN_LIFETIME."
        )


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": models[0] if models else platform.processor(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else None,
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
    }


def report_head(name: str) -> dict[str, Any]:
    """What every results file starts with: which benchmark, when, on what machine."""
    return {
        "benchmark": name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }


def server_config(args: argparse.Namespace) -> dict[str, Any]:
    """The gunicorn a benchmark measured, as its results file names it."""
    return {
        "server": "gunicorn",
        "worker_class": args.worker_class,
        "workers": args.workers,
        "threads": args.threads,
    }


def measure(
    args: argparse.Namespace, headers: dict[str, str]
) -> list[tuple[Result, dict[str, float]]]:
    """Each endpoint at each concurrency, with the cores each party used meanwhile."""
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    measurements = []
    for concurrency in [int(value) for value in args.concurrency.split(",")]:
        for path, path_headers in ((FLOOR_PATH, {}), (ME_PATH, headers)):
            require_running(args.server_pid)
            result, edges = run_load(
                args.base_url + path,
                concurrency=concurrency,
                warmup_s=args.warmup,
                duration_s=args.duration,
                headers=path_headers,
                probe=lambda: snapshot(args.server_pid, database),
            )
            assert edges is not None
            measurements.append((result, cores_used(*edges)))
            print(
                f"  {path:<12} {concurrency:>3} clients: {result.rps:8.1f} req/s, "
                f"{result.errors} errors",
                flush=True,
            )
    return measurements


def measure_reads(args: argparse.Namespace, headers: dict[str, str]) -> list[dict[str, Any]]:
    """`/api/v1/me` and the first product page at READS_CONCURRENCY clients."""
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    rows = []
    for path in (ME_PATH, PRODUCT_PAGE):
        require_running(args.server_pid)
        result, edges = run_load(
            args.base_url + path,
            concurrency=READS_CONCURRENCY,
            warmup_s=args.warmup,
            duration_s=args.duration,
            headers=headers,
            probe=lambda: snapshot(args.server_pid, database),
        )
        assert edges is not None
        rows.append({**result.as_dict(), "cpu_cores": cores_used(*edges)})
        print(
            f"  {path:<38} {READS_CONCURRENCY} clients: {result.rps:8.1f} req/s, "
            f"{result.errors} errors",
            flush=True,
        )
    return rows


def ratios(measurements: list[tuple[Result, dict[str, float]]]) -> list[dict[str, Any]]:
    rps = {(result.path, result.concurrency): result.rps for result, _ in measurements}
    rows = []
    for concurrency in sorted({result.concurrency for result, _ in measurements}):
        floor, me = rps[(FLOOR_PATH, concurrency)], rps[(ME_PATH, concurrency)]
        ratio = me / floor if floor else 0.0
        rows.append(
            {
                "concurrency": concurrency,
                "healthz_rps": round(floor, 1),
                "me_rps": round(me, 1),
                "ratio": round(ratio, 3),
                "goal": GOAL_RATIO,
                "passed": ratio >= GOAL_RATIO,
            }
        )
    return rows


def table(report: dict[str, Any]) -> str:
    config, host = report["config"], report["machine"]
    lines = [
        "",
        f"gunicorn {config['worker_class']}, {config['workers']} workers x "
        f"{config['threads']} threads; {config['duration_s']:g} s measured after "
        f"{config['warmup_s']:g} s warm-up",
        f"{host['cpus']} CPUs ({host['cpu_model']}), {host['memory_gib']} GiB, "
        f"Python {host['python']}, PostgreSQL {host['postgresql']}",
        "",
        f"{'endpoint':<12} {'clients':>7} {'requests':>9} {'errors':>6} {'req/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}   cores: client gunicorn postgres other",
    ]

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for row in report["results"]:
        cpu = row["cpu_cores"]
        lines.append(
            f"{row['path']:<12} {row['concurrency']:>7} {row['requests']:>9} "
            f"{row['errors']:>6} {row['rps']:>8.1f} {number(row['p50_ms']):>7} "
            f"{number(row['p95_ms']):>7} {number(row['p99_ms']):>7}          "
            f"{cpu['client']:>6.2f} {cpu['gunicorn']:>8.2f} {cpu['postgresql']:>8.2f} "
            f"{cpu['other']:>5.2f}"
        )
    lines += ["", f"{'reads at 20 clients':<38} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7}"]
    for row in report["reads_at_20_clients"]:
        lines.append(
            f"{row['path']:<38} {row['rps']:>8.1f} {number(row['p50_ms']):>7} "
            f"{number(row['p95_ms']):>7}"
        )
    if report["request_cost"]:
        lines += ["", f"{'per request':<12} {'app CPU ms':>10} {'db CPU ms':>9} {'SQL':>4}"]
        for cost in report["request_cost"]:
            lines.append(
                f"{cost['path']:<12} {cost['app_cpu_ms']:>10.3f} "
                f"{number(cost['postgresql_cpu_ms']):>9} {cost['sql_statements']:>4}"
            )
    lines.append("")
    if not report["quiet_machine"]:
        lines.append(
            f"Warning: other work kept up to {report['other_load_cores']:.2f} cores busy "
            "during the run; the throughput figures understate this machine."
        )
    for row in report["ratios"]:
        verdict = "PASS" if row["passed"] else "FAIL"
        lines.append(
            f"{ME_PATH} keeps {row['ratio']:.0%} of {FLOOR_PATH} throughput at "
            f"{row['concurrency']} client(s) (goal {GOAL_RATIO:.0%}): {verdict}"
        )
    return "\n".join(lines)


def write(report: dict[str, Any], results_dir: Path) -> list[Path]:
    """`<benchmark>-<UTC date>.json` and `<benchmark>-latest.json`, each replaced whole."""
    results_dir.mkdir(parents=True, exist_ok=True)
    day, name = report["recorded_at"][:10], report["benchmark"]
    text = json.dumps(report, indent=2) + "\n"
    written = []
    for file_name in (f"{name}-{day}.json", f"{name}-latest.json"):
        target = results_dir / file_name
        partial = target.with_suffix(".json.tmp")
        partial.write_text(text)
        partial.replace(target)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    token = args.token_file.read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    concurrencies = args.concurrency.split(",")
    planned_s = 2 * (len(concurrencies) + 1) * (args.warmup + args.duration)

    wait_until_ready(args.base_url, args.server_pid)
    check_me(args.base_url, headers, planned_s, token)
    print(f"Measuring for about {planned_s:.0f} s ...", flush=True)
    measurements = measure(args, headers)
    reads = measure_reads(args, headers)
    require_running(args.server_pid)

    report: dict[str, Any] = {
        **report_head(NAME),
        "config": {
            **server_config(args),
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": [int(value) for value in concurrencies],
            "client": "bench.http_load: one asyncio process, a keep-alive HTTP/1.1 "
            "connection per client, on the same machine",
            "django_settings": {"PASAR_ENV": "development", "DEBUG": False},
            "goal": f"{ME_PATH} rps >= {GOAL_RATIO:.0%} of {FLOOR_PATH} rps",
        },
        "results": [{**result.as_dict(), "cpu_cores": cpu} for result, cpu in measurements],
        "ratios": ratios(measurements),
        "reads_at_20_clients": reads,
        "request_cost": json.loads(args.request_cost.read_text()) if args.request_cost else None,
    }
    report["other_load_cores"] = max(cpu["other"] for _, cpu in measurements)
    report["quiet_machine"] = report["other_load_cores"] <= OTHER_LOAD_LIMIT
    errors = sum(result.errors for result, _ in measurements) + sum(
        int(row["errors"]) for row in reads
    )
    report["passed"] = errors == 0 and all(row["passed"] for row in report["ratios"])

    print(table(report))
    for path in write(report, args.results_dir):
        print(f"Written {path}")
    if errors:
        print(f"{errors} requests failed; see error_kinds in the results.")
    # A missed throughput goal is a finding recorded in the results, not a broken run.
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)  # stopped by the user: nothing is written
