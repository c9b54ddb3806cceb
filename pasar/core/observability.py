"""Request ids, structured access logs and Prometheus metrics.

Every request gets an id - the caller's `X-Request-ID` when it is sane, else a fresh one - that
is returned in the response, stored in `pasar.core.request_context` for the audit log and bound
into every log line written while the request runs. At the end one access line records the
status, duration, user and company.

Metrics are labelled by the matched URL route (`api/v1/companies/<uuid:public_id>/`), never
by the raw path, so a scraper sees a bounded number of series.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client import multiprocess as prometheus_multiprocess

from pasar.core import request_context

REQUEST_ID_HEADER = "X-Request-ID"
# Visible ASCII only: the id is echoed into a response header and into logs.
_SANE_REQUEST_ID = re.compile(r"[!-~]{1,64}")

# Load balancer probes and scrapes arrive every few seconds; their access lines are DEBUG.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"

access_log = structlog.stdlib.get_logger("pasar.access")

HTTP_REQUEST_DURATION = Histogram(
    "pasar_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DB_QUERIES = Histogram(
    "pasar_http_request_db_queries",
    "SQL statements sent to the database while answering one request.",
    ["route", "method"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233),
)
CELERY_TASKS = Counter(
    "pasar_celery_tasks",
    "Background task runs by outcome (success, failure, retry).",
    ["task", "outcome"],
)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or what our own proxies recorded in X-Forwarded-For.

    Behind N trusted proxies (settings.TRUSTED_PROXY_COUNT), the Nth entry from the right of
    X-Forwarded-For is the address the outermost proxy saw. Entries further left were written by
    the caller and prove nothing, so without trusted proxies the header is ignored.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote_addr
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < hops:
        return remote_addr
    candidate = forwarded[-hops]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote_addr
    return candidate


def _request_id(request: HttpRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    if _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def _actor_ids(request: HttpRequest) -> dict[str, int | None]:
    """The signed-in user's and active company's ids, as far as they are known yet.

    A session user that nothing has looked at yet stays unloaded: logging must not cost a query.
    """
    company = getattr(request, "company", None)
    membership = getattr(request, "membership", None)
    user_id = membership.user_id if membership is not None else None
    user = getattr(request, "user", None)
    if user_id is None and user is not None and getattr(user, "_wrapped", None) is not empty:
        user_id = user.pk if user.is_authenticated else None
    return {"user_id": user_id, "company_id": company.pk if company is not None else None}


class RequestIdMiddleware:
    """Outermost middleware: request id, client address, log context and the access line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = _request_id(request)
        id_token = request_context.request_id.set(request_id)
        ip_token = request_context.client_ip.set(client_ip(request))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=request.method, path=request.path
        )
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            actor = _actor_ids(request)
            log_level = logging.DEBUG if request.path in PROBE_PATHS else logging.INFO
            access_log.log(
                log_level,
                "request_finished",
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                **actor,
            )
            return response
        finally:
            structlog.contextvars.clear_contextvars()
            request_context.client_ip.reset(ip_token)
            request_context.request_id.reset(id_token)

    def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        # Every middleware has run by now, so the tenant middleware has resolved the company:
        # lines the view logs carry who it acts for.
        structlog.contextvars.bind_contextvars(**_actor_ids(request))


class _QueryCounter:
    """A database execute wrapper that counts the statements going through it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Observes latency by route, method and status, and SQL statements per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = _QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        duration = time.perf_counter() - started
        route = route_of(request)
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        HTTP_REQUEST_DURATION.labels(route, method, str(response.status_code)).observe(duration)
        HTTP_REQUEST_DB_QUERIES.labels(route, method).observe(queries.count)
        return response


def metrics_registry() -> CollectorRegistry:
    """This process's metrics, or every process's when PROMETHEUS_MULTIPROC_DIR is shared.

    gunicorn and Celery prefork run several processes; with PROMETHEUS_MULTIPROC_DIR set before
    they start, each writes its samples there and one scrape sums them all.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)
    return registry


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def task_succeeded(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(_task_name(sender), "success").inc()


def task_failed(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(_task_name(sender), "failure").inc()


def task_retried(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(_task_name(sender), "retry").inc()


def task_started(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    """Log lines written by a task carry its id and name.

    Only these two keys are bound and later removed: a task run eagerly inside a request keeps
    the request's context around it.
    """
    structlog.contextvars.bind_contextvars(task_id=task_id, task=_task_name(sender))


def task_finished(**kwargs: Any) -> None:
    structlog.contextvars.unbind_contextvars("task_id", "task")


def serve_worker_metrics(**kwargs: Any) -> None:
    """In the Celery worker's main process: serve /metrics on WORKER_METRICS_PORT, if set."""
    if settings.WORKER_METRICS_PORT:
        start_http_server(settings.WORKER_METRICS_PORT, registry=metrics_registry())
