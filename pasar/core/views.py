"""Probes and scrapes for the platform's operators, and the API reference page.

/healthz answers from the process alone (is it serving?), /readyz also asks the database and
Redis (should it get traffic?), /metrics is the Prometheus scrape. None needs a login.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularRedocView
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pasar.core.observability import metrics_registry

_HEALTHY = b'{"status": "ok"}'


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_HEALTHY, content_type="application/json")


@cache
def _redis_client(url: str) -> redis.Redis:
    # One client (and connection pool) per process; a probe must not open a socket each time.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _redis_ready() -> bool:
    try:
        return bool(_redis_client(settings.REDIS_URL).ping())
    except (redis.RedisError, OSError):
        return False


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": "ok" if _database_ready() else "failed"}
    if settings.REDIS_URL:
        checks["redis"] = "ok" if _redis_ready() else "failed"
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


# Redoc renders its styles at run time (styled-components inserts <style> elements without a
# nonce) and runs its search index in a worker built from a blob: URL. This page alone relaxes
# style-src and worker-src for that; scripts stay restricted to our own files.
API_DOCS_CSP: dict[str, Any] = {
    **settings.SECURE_CSP,
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "worker-src": [CSP.SELF, "blob:"],
}

api_docs = csp_override(API_DOCS_CSP)(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="core/api_docs.html")
)


def _resolves_to_an_endpoint(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_not_found


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Every /api/ path that names no endpoint: the error envelope, never an HTML page, and
    the right spelling when only the trailing slash is wrong."""
    path = request.path
    other = path[:-1] if path.endswith("/") else f"{path}/"
    message = f"There is no API endpoint at {path}."
    if _resolves_to_an_endpoint(other):
        message = f"There is no API endpoint at {path}; did you mean {other}?"
    return JsonResponse(
        {"status": "error", "error": {"code": "not_found", "message": message, "details": []}},
        status=404,
    )
