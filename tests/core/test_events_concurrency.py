"""Two relays at the same instant still deliver each event to each handler exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connections

import tests.core.topics  # noqa: F401  (declares the topics published here)
from pasar.core import events
from pasar.core.events import relay_pending, subscribe
from pasar.core.models import EventDelivery, OutboxEvent
from pasar.core.tenant import system_access
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 200


@pytest.fixture(autouse=True)
def subscriptions(monkeypatch) -> dict:
    events.discover_handlers()
    registry: dict = {}
    monkeypatch.setattr(events, "_subscriptions", registry)
    return registry


class SideEffects:
    """What the handlers did, counted across threads: (handler, event id) -> runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: Counter[tuple[str, int]] = Counter()
        self.by_thread: Counter[str] = Counter()

    def record(self, handler: str, event: OutboxEvent) -> None:
        with self.lock:
            self.runs[handler, event.pk] += 1
            self.by_thread[threading.current_thread().name] += 1


def run_at_once(work: Callable[[], object], count: int = 2) -> list[BaseException]:
    """Start `count` threads at one barrier, each on its own database connection."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, name=f"relay-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def outbox_with(count: int) -> list[OutboxEvent]:
    """Pending events as publish() leaves them, written directly so no commit-time relay runs
    before the race starts. Half belong to each of two companies."""
    companies = [CompanyFactory(), CompanyFactory()]
    with system_access(reason="test: fill the outbox"):
        return OutboxEvent.objects.bulk_create(
            OutboxEvent(company=companies[n % 2], topic="test_order.placed", payload={"n": n})
            for n in range(count)
        )


def test_two_relays_racing_deliver_each_event_to_each_handler_once() -> None:
    effects = SideEffects()

    @subscribe("test_order.placed")
    def reserve_stock(event: OutboxEvent) -> None:
        time.sleep(0.001)  # long enough for the other relay to be working at the same time
        effects.record("reserve_stock", event)

    @subscribe("*")
    def notify_webhooks(event: OutboxEvent) -> None:
        effects.record("notify_webhooks", event)

    outbox = outbox_with(EVENTS)

    def relay_until_empty() -> None:
        while relay_pending(limit=10):
            pass

    assert run_at_once(relay_until_empty) == []

    ids = {event.pk for event in outbox}
    assert set(effects.runs) == {
        (handler, pk) for handler in ("reserve_stock", "notify_webhooks") for pk in ids
    }
    assert set(effects.runs.values()) == {1}, "some handler ran twice for one event"
    assert EventDelivery.objects.count() == 2 * EVENTS
    with system_access(reason="test: read the outbox"):
        assert not OutboxEvent.objects.filter(relayed_at__isnull=True).exists()
    assert len(effects.by_thread) == 2, "both relays should have taken a share of the work"


def test_the_delivery_record_alone_stops_a_second_run() -> None:
    """Even two relays handed the same event without the row lock run its handler once: the
    second one's delivery record waits for the first and then clashes with it."""
    effects = SideEffects()

    @subscribe("test_order.placed")
    def confirm_order(event: OutboxEvent) -> None:
        time.sleep(0.2)  # hold the first delivery open while the second one arrives
        effects.record("confirm_order", event)

    [event] = outbox_with(1)
    results: list[bool] = []

    def relay_without_lock() -> None:
        with system_access(reason="test: relay one event"):
            results.append(events._relay(OutboxEvent.objects.get(pk=event.pk)))

    assert run_at_once(relay_without_lock) == []

    assert effects.runs == Counter({("confirm_order", event.pk): 1})
    assert results == [True, True]
    assert EventDelivery.objects.filter(event=event).count() == 1
