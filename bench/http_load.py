"""A lean HTTP/1.1 load generator: N clients, each with one persistent connection.

Each client sends a request, reads the whole response and sends the next, so N is the number
of requests in flight. Connections are kept alive as long as the server allows; when it answers
`Connection: close` (gunicorn's sync workers always do) the client reconnects, and the connect
time counts in that request's latency, as it would for a real client.

Pure asyncio over raw streams: one process, no dependencies, a few tens of microseconds of
client CPU per request, so on a small machine it leaves the cores to the server under test.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Window:
    """The measured span (perf_counter seconds): warm-up before it, shutdown after it."""

    start: float
    end: float


@dataclass
class Tally:
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Result:
    """What one endpoint did at one concurrency during the measured window."""

    path: str
    concurrency: int
    duration_s: float
    requests: int
    errors: int
    error_kinds: dict[str, int]
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "concurrency": self.concurrency,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "rps": round(self.rps, 1),
            "p50_ms": _round(self.p50_ms),
            "p95_ms": _round(self.p95_ms),
            "p99_ms": _round(self.p99_ms),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def build_request(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; return its status and whether the connection stays open."""
    status, keep_alive, _ = await read_response_body(reader)
    return status, keep_alive


async def read_response_body(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one whole response: its status, whether the connection stays open, its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    version, status, _ = status_line.split(b" ", 2)
    length: int | None = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    for line in header_lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep_alive = value != b"close"
    body = b""
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body = await reader.read()
        keep_alive = False
    return int(status), keep_alive, body


async def _client(host: str, port: int, request: bytes, window: Window, tally: Tally) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while (started := time.perf_counter()) < window.end:
        error: str | None = None
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(request)
                status, keep_alive = await read_response(reader)
            if status != 200:
                error = f"HTTP {status}"
        except TimeoutError:
            error, keep_alive = "timeout", False
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            error, keep_alive = type(exc).__name__, False
        finished = time.perf_counter()
        if not keep_alive and writer is not None:
            writer.close()
            reader = writer = None
        if started >= window.start and finished <= window.end:
            if error is None:
                tally.latencies_s.append(finished - started)
            else:
                tally.errors[error] += 1
    if writer is not None:
        writer.close()


async def _probe_edges[T](window: Window, probe: Callable[[], T]) -> tuple[T, T]:
    await asyncio.sleep(window.start - time.perf_counter())
    before = probe()
    await asyncio.sleep(window.end - time.perf_counter())
    return before, probe()


async def _load[T](
    url: str,
    headers: dict[str, str],
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    probe: Callable[[], T] | None,
) -> tuple[Tally, tuple[T, T] | None]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = build_request(host, port, target, headers)
    now = time.perf_counter()
    window = Window(start=now + warmup_s, end=now + warmup_s + duration_s)
    tally = Tally()
    async with asyncio.TaskGroup() as group:
        edges = group.create_task(_probe_edges(window, probe)) if probe else None
        for _ in range(concurrency):
            group.create_task(_client(host, port, request, window, tally))
    return tally, (edges.result() if edges else None)


def run_load[T](
    url: str,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    headers: dict[str, str] | None = None,
    probe: Callable[[], T] | None = None,
) -> tuple[Result, tuple[T, T] | None]:
    """Hit `url` with `concurrency` clients: warm up, then measure for `duration_s` seconds.

    `probe` (if given) is called as the measured window opens and as it closes; both values
    are returned beside the result.
    """
    tally, edges = asyncio.run(_load(url, headers or {}, concurrency, warmup_s, duration_s, probe))
    latencies = sorted(tally.latencies_s)
    errors = sum(tally.errors.values())

    def ms(fraction: float) -> float | None:
        value = percentile(latencies, fraction)
        return None if value is None else value * 1000

    result = Result(
        path=urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else ""),
        concurrency=concurrency,
        duration_s=duration_s,
        requests=len(latencies) + errors,
        errors=errors,
        error_kinds=dict(tally.errors),
        rps=len(latencies) / duration_s,
        p50_ms=ms(0.50),
        p95_ms=ms(0.95),
        p99_ms=ms(0.99),
    )
    return result, edges
