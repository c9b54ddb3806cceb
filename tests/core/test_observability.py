"""Request ids, JSON logs, health and readiness probes, Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory
from django.urls import include, path
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from pasar.celery import app as celery_app
from pasar.core import request_context
from pasar.core.observability import REQUEST_ID_HEADER, client_ip
from tests.conftest import authenticated_client

ROOT = Path(__file__).resolve().parents[2]


def _log_from_view(request: HttpRequest) -> JsonResponse:
    structlog.get_logger("tests.view").info("stock_counted", units=3)
    return JsonResponse(
        {
            "request_id": request_context.request_id.get(),
            "client_ip": request_context.client_ip.get(),
        }
    )


def _three_queries(request: HttpRequest, order_number: int) -> JsonResponse:
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT 1")
    return JsonResponse({"order_number": order_number})


# These tests run against the project's URLs plus two views that show what a request sees.
urlpatterns = [
    path("probe/log", _log_from_view),
    path("probe/orders/<int:order_number>", _three_queries),
    path("", include("pasar.urls")),
]
pytestmark = pytest.mark.urls(__name__)


LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Reads back, parsed, the JSON lines the configured console formatter has written."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    console = logging.getHandlerByName("console")
    assert console is not None
    handler.setFormatter(console.formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def _line(lines: list[dict[str, Any]], event: str) -> dict[str, Any]:
    return next(line for line in lines if line["event"] == event)


def _metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- request id -----------------------------------------------------------------------------


def test_healthz_answers_ok_without_touching_the_database() -> None:
    # No `db` fixture: any query here would fail the test.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_request_id_sent_by_the_caller_is_returned() -> None:
    response = Client().get("/healthz", headers={REQUEST_ID_HEADER: "lb-7f3a:42"})
    assert response[REQUEST_ID_HEADER] == "lb-7f3a:42"


@pytest.mark.parametrize(
    "offered",
    ["", "x" * 65, "has space", "tab\tinside", "caf\u00e9"],
    ids=["empty", "too-long", "space", "control", "non-ascii"],
)
def test_unusable_request_id_is_replaced_by_a_fresh_one(offered: str) -> None:
    headers = {REQUEST_ID_HEADER: offered} if offered else {}
    response = Client().get("/healthz", headers=headers)
    returned = response[REQUEST_ID_HEADER]
    assert returned != offered
    assert len(returned) == 32
    int(returned, 16)


def test_each_request_gets_its_own_id() -> None:
    client = Client()
    assert client.get("/healthz")[REQUEST_ID_HEADER] != client.get("/healthz")[REQUEST_ID_HEADER]


def test_view_sees_request_id_and_caller_address() -> None:
    response = Client(REMOTE_ADDR="203.0.113.9").get(
        "/probe/log", headers={REQUEST_ID_HEADER: "abc-123"}
    )
    assert response.json() == {"request_id": "abc-123", "client_ip": "203.0.113.9"}
    # Outside a request the context is empty again.
    assert request_context.request_id.get() == ""
    assert request_context.client_ip.get() is None


# -- client address -------------------------------------------------------------------------


def _request(remote_addr: str, forwarded_for: str | None = None) -> HttpRequest:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra)


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request("198.51.100.1", "203.0.113.9")) == "198.51.100.1"


def test_one_trusted_proxy_believes_only_the_entry_it_appended(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    # The caller claimed 10.0.0.1; the load balancer saw 203.0.113.9.
    assert client_ip(_request("10.1.1.1", "10.0.0.1, 203.0.113.9")) == "203.0.113.9"


def test_two_trusted_proxies_skip_the_inner_one(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request("10.1.1.1", "10.0.0.1, 203.0.113.9, 10.2.2.2")) == "203.0.113.9"


@pytest.mark.parametrize("forwarded_for", [None, "", "not-an-address"])
def test_missing_or_malformed_forwarded_for_falls_back_to_the_peer(
    settings: Any, forwarded_for: str | None
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request("198.51.100.1", forwarded_for)) == "198.51.100.1"


# -- logs -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_log_lines_are_json_with_request_user_and_company(
    owner: Any, company: Any, log_lines: LogLines
) -> None:
    client = authenticated_client(owner, company)
    response = client.get("/probe/log", headers={REQUEST_ID_HEADER: "req-1"})
    assert response.status_code == 200

    lines = log_lines()
    view_line = _line(lines, "stock_counted")
    assert view_line["request_id"] == "req-1"
    assert view_line["method"] == "GET"
    assert view_line["path"] == "/probe/log"
    assert view_line["company_id"] == company.pk
    assert view_line["user_id"] == owner.pk
    assert view_line["units"] == 3
    assert view_line["level"] == "info"
    assert "timestamp" in view_line

    access = _line(lines, "request_finished")
    assert access["logger"] == "pasar.access"
    assert access["request_id"] == "req-1"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
    assert (access["user_id"], access["company_id"]) == (owner.pk, company.pk)


def test_anonymous_access_line_has_no_user(log_lines: LogLines) -> None:
    Client().get("/probe/log")
    access = _line(log_lines(), "request_finished")
    assert access["user_id"] is None
    assert access["company_id"] is None


def test_plain_logging_calls_carry_the_request_context(log_lines: LogLines) -> None:
    structlog.contextvars.bind_contextvars(request_id="from-context")
    try:
        logging.getLogger("tests.stdlib").warning("courier slow", extra={"courier": "ninjavan"})
    finally:
        structlog.contextvars.clear_contextvars()
    line = _line(log_lines(), "courier slow")
    assert line["request_id"] == "from-context"
    assert line["courier"] == "ninjavan"
    assert line["level"] == "warning"


def test_probe_access_lines_are_debug_only(log_lines: LogLines) -> None:
    Client().get("/healthz")
    assert not [line for line in log_lines() if line["event"] == "request_finished"]


# -- readiness ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_checks_the_database(settings: Any) -> None:
    settings.REDIS_URL = ""
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


class _UnreachableDatabase:
    def cursor(self) -> Any:
        raise DatabaseError("connection refused")


def test_readyz_is_503_naming_the_database_when_it_is_down(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = ""
    monkeypatch.setattr("pasar.core.views.connection", _UnreachableDatabase())
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "failed"}}


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_it_is_unreachable(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "failed"}


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_pings_redis_when_configured(settings: Any, redis_url: str) -> None:
    settings.REDIS_URL = redis_url
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


# -- metrics --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_latency_is_labelled_by_route_not_by_path() -> None:
    labels = {"route": "probe/orders/<int:order_number>", "method": "GET", "status": "200"}
    before = _metric("pasar_http_request_duration_seconds_count", labels)
    client = Client()
    client.get("/probe/orders/7")
    client.get("/probe/orders/8")

    scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape["Content-Type"].startswith("text/plain")
    text = scrape.content.decode()
    assert _metric("pasar_http_request_duration_seconds_count", labels) == before + 2
    assert "probe/orders/7" not in text
    routes = {
        sample.labels.get("route")
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert "probe/orders/<int:order_number>" in routes


@pytest.mark.django_db
def test_database_statements_per_request_are_counted() -> None:
    labels = {"route": "probe/orders/<int:order_number>", "method": "GET"}
    count_before = _metric("pasar_http_request_db_queries_count", labels)
    sum_before = _metric("pasar_http_request_db_queries_sum", labels)
    Client().get("/probe/orders/7")
    assert _metric("pasar_http_request_db_queries_count", labels) == count_before + 1
    assert _metric("pasar_http_request_db_queries_sum", labels) == sum_before + 3


def test_unknown_paths_share_one_series() -> None:
    labels = {"route": "<unmatched>", "method": "GET", "status": "404"}
    before = _metric("pasar_http_request_duration_seconds_count", labels)
    Client().get("/no/such/page-1")
    Client().get("/no/such/page-2")
    assert _metric("pasar_http_request_duration_seconds_count", labels) == before + 2


@celery_app.task(name="tests.observability.count_stock")
def _count_stock() -> int:
    return 3


@celery_app.task(name="tests.observability.call_courier")
def _call_courier() -> None:
    raise ConnectionError("courier API down")


@celery_app.task(
    name="tests.observability.sync_marketplace", bind=True, max_retries=1, default_retry_delay=0
)
def _sync_marketplace(task: Any) -> str:
    if task.request.retries == 0:
        raise task.retry()
    return "synced"


def test_celery_task_outcomes_are_counted() -> None:
    def outcome(task: Any, name: str) -> float:
        return _metric("pasar_celery_tasks_total", {"task": task.name, "outcome": name})

    before = {
        "success": outcome(_count_stock, "success"),
        "failure": outcome(_call_courier, "failure"),
        "retry": outcome(_sync_marketplace, "retry"),
        "retried_success": outcome(_sync_marketplace, "success"),
    }
    _count_stock.apply()
    _call_courier.apply(throw=False)
    _sync_marketplace.apply(throw=False)

    assert outcome(_count_stock, "success") == before["success"] + 1
    assert outcome(_call_courier, "failure") == before["failure"] + 1
    assert outcome(_sync_marketplace, "retry") == before["retry"] + 1
    assert outcome(_sync_marketplace, "success") == before["retried_success"] + 1


def test_task_log_lines_carry_the_task(log_lines: LogLines) -> None:
    @celery_app.task(name="tests.observability.log_inside_task")
    def log_inside_task() -> None:
        structlog.get_logger("tests.task").info("relayed")

    log_inside_task.apply()
    line = _line(log_lines(), "relayed")
    assert line["task"] == "tests.observability.log_inside_task"
    assert line["task_id"]
    assert "task" not in structlog.contextvars.get_contextvars()


def test_metrics_of_several_processes_are_summed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What gunicorn workers and Celery prefork children do with PROMETHEUS_MULTIPROC_DIR."""
    count_one_task = (
        "import django; django.setup();"
        "from pasar.core import observability;"
        "observability.CELERY_TASKS.labels('tests.multiprocess', 'success').inc()"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pasar.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    for _ in range(2):
        subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", count_one_task], cwd=ROOT, env=env, check=True, timeout=60
        )

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = Client().get("/metrics")
    families = {
        family.name: family for family in text_string_to_metric_families(response.content.decode())
    }
    samples = {
        sample.labels["task"]: sample.value
        for sample in families["pasar_celery_tasks"].samples
        if sample.name == "pasar_celery_tasks_total"
    }
    assert samples == {"tests.multiprocess": 2.0}
