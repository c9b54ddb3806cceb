"""A circuit breaker per company and gateway, so a failing provider is not hammered.

After FAILURE_THRESHOLD failures in a row the circuit opens for OPEN_SECONDS: attempts skip that
gateway and go to the next one. The first call after that is a trial; a success closes the
circuit. State lives in the cache (Redis when configured): a cache outage only means the
breaker forgets, and every gateway is tried again - slower, never wrong.
"""

from __future__ import annotations

import time

import structlog
from django.core.cache import cache

logger = structlog.get_logger(__name__)

FAILURE_THRESHOLD = 3
OPEN_SECONDS = 60


def _key(company_id: int, gateway: str) -> str:
    return f"payments:circuit:{company_id}:{gateway}"


def _read(company_id: int, gateway: str) -> tuple[int, float]:
    try:
        value = cache.get(_key(company_id, gateway))
    except Exception:
        logger.warning("payments.circuit.cache_unavailable", gateway=gateway)
        return 0, 0.0
    if not value:
        return 0, 0.0
    failures, opened_until = value
    return int(failures), float(opened_until)


def _write(company_id: int, gateway: str, failures: int, opened_until: float) -> None:
    try:
        cache.set(_key(company_id, gateway), (failures, opened_until), timeout=OPEN_SECONDS * 10)
    except Exception:
        logger.warning("payments.circuit.cache_unavailable", gateway=gateway)


def is_open(company_id: int, gateway: str, *, now: float | None = None) -> bool:
    _, opened_until = _read(company_id, gateway)
    return opened_until > (time.time() if now is None else now)


def record_failure(company_id: int, gateway: str, *, now: float | None = None) -> None:
    failures, opened_until = _read(company_id, gateway)
    failures += 1
    if failures >= FAILURE_THRESHOLD:
        opened_until = (time.time() if now is None else now) + OPEN_SECONDS
        logger.warning("payments.circuit.opened", gateway=gateway, failures=failures)
    _write(company_id, gateway, failures, opened_until)


def record_success(company_id: int, gateway: str) -> None:
    if _read(company_id, gateway) != (0, 0.0):
        _write(company_id, gateway, 0, 0.0)
