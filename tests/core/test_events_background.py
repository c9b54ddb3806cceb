"""Without a broker, outside tests, a thread of the process relays what a commit published."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import tests.core.topics  # noqa: F401  (declares the topics published here)
from pasar.core import events
from pasar.core.events import BackgroundRelay, publish, relays_in_background, subscribe
from pasar.core.models import OutboxEvent
from pasar.core.tenant import system_access, tenant_context
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 10.0


@pytest.fixture(autouse=True)
def subscriptions(monkeypatch) -> dict:
    events.discover_handlers()
    registry: dict = {}
    monkeypatch.setattr(events, "_subscriptions", registry)
    return registry


@pytest.fixture
def embedded_default(settings) -> None:
    """The demo's and the benchmark's configuration: no Redis, not a test run."""
    settings.PASAR_ENV = "development"
    settings.REDIS_URL = ""


@pytest.fixture
def relay(monkeypatch, embedded_default) -> Iterator[BackgroundRelay]:
    fresh = BackgroundRelay()
    monkeypatch.setattr(events, "background_relay", fresh)
    yield fresh
    assert fresh.stop(WAIT_S), "the relay thread did not stop"


def pending_count() -> int:
    with system_access(reason="test: read the outbox"):
        return OutboxEvent.objects.filter(relayed_at__isnull=True).count()


def test_tests_relay_inline_and_a_broker_gets_a_task(settings) -> None:
    settings.REDIS_URL = ""
    assert not relays_in_background(), "PASAR_ENV=test keeps the eager inline relay"
    settings.PASAR_ENV = "development"
    assert relays_in_background()
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert not relays_in_background(), "with a broker, a worker relays"


def test_the_commit_hands_the_relay_to_the_background_thread(relay: BackgroundRelay) -> None:
    company = CompanyFactory()
    ran_on: list[str] = []

    @subscribe("test_company.created")
    def welcome(event: OutboxEvent) -> None:
        ran_on.append(threading.current_thread().name)

    with tenant_context(company):
        publish("test_company.created", {})
    assert relay.wait_until_idle(WAIT_S)

    assert ran_on == ["pasar-outbox-relay"]
    assert pending_count() == 0


def test_commits_close_together_share_a_pass(relay: BackgroundRelay, monkeypatch) -> None:
    company = CompanyFactory()
    passes: list[int] = []
    relay_pending = events.relay_pending

    def counted(limit: int = 100) -> int:
        completed = relay_pending(limit=limit)
        passes.append(completed)
        return completed

    monkeypatch.setattr(events, "relay_pending", counted)
    for _ in range(5):
        with tenant_context(company):
            publish("test_stock.counted", {})
    assert relay.wait_until_idle(WAIT_S)

    assert sum(passes) == 5
    assert len(passes) < 5
    assert pending_count() == 0


def test_a_failed_pass_leaves_the_events_for_the_next(relay: BackgroundRelay, monkeypatch) -> None:
    company = CompanyFactory()
    relay_pending = events.relay_pending
    failures = [ConnectionError("the database went away")]

    def flaky(limit: int = 100) -> int:
        if failures:
            raise failures.pop()
        return relay_pending(limit=limit)

    monkeypatch.setattr(events, "relay_pending", flaky)
    with tenant_context(company):
        publish("test_stock.counted", {})
    assert relay.wait_until_idle(WAIT_S)
    assert pending_count() == 1, "the failed pass relayed nothing and lost nothing"

    with tenant_context(company):
        publish("test_stock.counted", {})
    assert relay.wait_until_idle(WAIT_S)
    assert pending_count() == 0, "the thread outlived the failure and relayed both"


def test_a_rolled_back_change_wakes_no_relay(relay: BackgroundRelay) -> None:
    company = CompanyFactory()

    def failing_change() -> None:
        with tenant_context(company):
            publish("test_stock.counted", {})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()

    assert not relay.started
    assert pending_count() == 0
