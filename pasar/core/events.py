"""Outbox events: a state change announces itself in the same transaction that makes it.

`publish()` writes an OutboxEvent row beside the change, so the event exists if and only if
the change committed. The relay (`relay_pending()`, run by the Celery task
`pasar.core.tasks.relay_outbox`, `manage.py relay_events` and, where no worker runs, a thread of
the publishing process) hands each event to every handler subscribed to its topic, once per
handler: an EventDelivery row, unique per event and handler, is written in the same savepoint
as the handler's own work. docs/events.md explains how a context publishes and subscribes.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import close_old_connections, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from pasar.core.audit import json_safe
from pasar.core.event_contracts import contract
from pasar.core.models import EventDelivery, OutboxEvent
from pasar.core.tenant import (
    current_company_id,
    id_of,
    record_scope,
    system_access,
    tenant_context,
)

logger = structlog.get_logger(__name__)

Handler = Callable[[OutboxEvent], None]
ALL_TOPICS = "*"
MAX_ATTEMPTS = 10
RETRY_BASE_DELAY = timedelta(seconds=10)
RETRY_MAX_DELAY = timedelta(hours=1)
# How often the in-process relay looks for due retries between commits: beat's schedule.
BACKGROUND_RELAY_INTERVAL_S = 5.0
# How long it lets commits gather after a wake, so that a burst of them shares one pass.
BACKGROUND_RELAY_GATHER_S = 0.1
# How long a process that is exiting waits for its in-process relay to finish.
BACKGROUND_RELAY_EXIT_WAIT_S = 5.0


@dataclass(frozen=True)
class Subscription:
    name: str
    handler: Handler


# topic -> {handler name: subscription}. Delivery records name handlers by dotted path, so a
# handler keeps its name from one deploy to the next.
_subscriptions: dict[str, dict[str, Subscription]] = {}


def publish(
    topic: str, payload: dict[str, Any], *, company: models.Model | int | None = None
) -> OutboxEvent:
    """Record an event in the current transaction; handlers see it after the commit.

    The topic must be declared (`pasar.core.event_contracts.declare`) and the payload of its
    declared shape: anything else raises before a row is written.

    `company` defaults to the current tenant context (none: a platform event). The payload is
    stored as JSON: decimals, UUIDs and dates become strings.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(
            "publish() must run inside the transaction that makes the change it announces."
        )
    declared = contract(topic)
    declared.check(payload)
    company_id = current_company_id() if company is None else id_of(company)
    event = OutboxEvent(
        company_id=company_id, topic=topic, version=declared.version, payload=json_safe(payload)
    )
    if company_id is not None and company_id == current_company_id():
        # Already in the company's context (a service's transaction): a plain insert. The
        # savepoint that record_scope adds would cost two round trips, perhaps while the
        # caller holds row locks.
        event.save(force_insert=True)
    else:
        with record_scope(company_id, reason="publish a platform event"):
            event.save(force_insert=True)
    # Deliver soon after the commit rather than at the next scheduled relay: with a worker
    # this queues a relay task; without one, a thread of this process relays (see
    # relays_in_background()). A failure is only logged: the next relay picks the event up.
    transaction.on_commit(_relay_soon, robust=True)
    return event


def withdraw(event: OutboxEvent) -> None:
    """Take back an event published earlier in this transaction, for a change that in the
    end was not made (a caller that saves a savepoint's round trips by publishing early)."""
    OutboxEvent.objects.filter(pk=event.pk, relayed_at__isnull=True).delete()


def subscribe(topic: str) -> Callable[[Handler], Handler]:
    """Register an idempotent handler for a topic ("*" for every topic).

        @subscribe("company.created")
        def send_welcome_email(event: OutboxEvent) -> None: ...

    Handlers live in a context's `handlers.py`, which the relay imports.
    """

    def register(handler: Handler) -> Handler:
        name = f"{handler.__module__}.{handler.__qualname__}"
        _subscriptions.setdefault(topic, {})[name] = Subscription(name, handler)
        return handler

    return register


def subscriptions_for(topic: str) -> list[Subscription]:
    return [
        *_subscriptions.get(topic, {}).values(),
        *(_subscriptions.get(ALL_TOPICS, {}).values() if topic != ALL_TOPICS else ()),
    ]


@functools.cache
def discover_handlers() -> None:
    """Import every installed app's `handlers` module (once), so its @subscribe calls register."""
    autodiscover_modules("handlers")


def relay_pending(limit: int = 100) -> int:
    """Deliver up to `limit` pending events to their handlers; returns how many completed.

    Events are taken in id order with FOR UPDATE SKIP LOCKED, so relays running at the same
    time share the work instead of repeating it. A handler that fails leaves the event pending
    for a later retry (with backoff) without undoing the other handlers; after MAX_ATTEMPTS
    the event is set aside as dead, visible in the admin.
    """
    discover_handlers()
    completed = 0
    # A platform job, not a person: see system_access() and docs/events.md.
    with system_access(reason="outbox relay"):
        now = timezone.now()
        events = list(
            OutboxEvent.objects.filter(relayed_at__isnull=True, dead_at__isnull=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("id")
            .select_for_update(skip_locked=True)[:limit]
        )
        heard = [event for event in events if subscriptions_for(event.topic)]
        if len(heard) < len(events):
            # The rest have no handler to run: relayed as they are, in one statement.
            unheard = {event.pk for event in events} - {event.pk for event in heard}
            completed += OutboxEvent.objects.filter(pk__in=unheard).update(relayed_at=now)
    # Each event in a transaction of its own: the rows its handlers lock (stock levels, an
    # order) are held for that event only, never across a batch, where two relays and the
    # checkouts would lock the same rows in different orders.
    for event in heard:
        with system_access(reason="outbox relay"):
            claimed = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(pk=event.pk, relayed_at__isnull=True, dead_at__isnull=True)
                .first()
            )
            if claimed is not None:  # else another relay has it, or had it meanwhile
                completed += _relay(claimed)
    if events:
        logger.info("outbox.relayed", events=len(events), completed=completed)
    return completed


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay stands after a batch: events handed to the handler now, events it had
    already had, events whose handling failed (retried by the next replay), the last event."""

    delivered: int
    already: int
    failed: int
    last_event_id: int


def replay_events(*, handler: str, since: datetime, batch: int = 200) -> Iterator[ReplayProgress]:
    """Hand a handler every kept event of its topics written since `since`, in id order, as
    if it had been subscribed then; yields the progress after each batch.

    For a context that starts listening later (the books, turned on after months of sales).
    Idempotent per handler: an event the handler already had (its delivery record exists) is
    skipped, so a replay can be stopped and run again. Each batch is its own transaction.
    """
    discover_handlers()
    topics = [topic for topic, named in _subscriptions.items() if handler in named]
    if not topics:
        raise LookupError(f"No handler is subscribed under the name {handler!r}.")
    subscription = _subscriptions[topics[0]][handler]
    delivered = already = failed = 0
    last_id = 0
    while True:
        with system_access(reason=f"replay events to {handler}"):
            events = OutboxEvent.objects.filter(id__gt=last_id, created_at__gte=since)
            if ALL_TOPICS not in topics:
                events = events.filter(topic__in=topics)
            chunk = list(events.order_by("id")[:batch])
            if not chunk:
                return
            had = set(
                EventDelivery.objects.filter(event__in=chunk, handler=handler).values_list(
                    "event_id", flat=True
                )
            )
            for event in chunk:
                if event.pk in had:
                    already += 1
                elif _deliver(event, subscription) is None:
                    delivered += 1
                else:
                    failed += 1
            last_id = chunk[-1].pk
        yield ReplayProgress(delivered, already, failed, last_id)


def event_retry(*, events: models.QuerySet[OutboxEvent]) -> int:
    """Give dead or waiting events a fresh set of attempts at the next relay."""
    with transaction.atomic():
        return events.filter(relayed_at__isnull=True).update(
            dead_at=None, attempts=0, next_attempt_at=None, last_error=""
        )


def _relay(event: OutboxEvent) -> bool:
    """Run every handler that has not yet had this event; True when none is left."""
    delivered = set(event.deliveries.values_list("handler", flat=True))
    failures = []
    for subscription in subscriptions_for(event.topic):
        if subscription.name in delivered:
            continue
        error = _deliver(event, subscription)
        if error is not None:
            failures.append(f"{subscription.name}: {error!r}")

    now = timezone.now()
    if not failures:
        event.relayed_at = now
        event.save(update_fields=["relayed_at"])
        return True
    event.attempts += 1
    event.last_error = "\n".join(failures)
    if event.attempts >= MAX_ATTEMPTS:
        event.dead_at = now
        logger.error("outbox.event_dead", event_id=str(event.public_id), topic=event.topic)
    else:
        event.next_attempt_at = now + min(
            RETRY_BASE_DELAY * 2 ** (event.attempts - 1), RETRY_MAX_DELAY
        )
    event.save(update_fields=["attempts", "last_error", "dead_at", "next_attempt_at"])
    return False


# The delivery record, unless the handler has one already (another relay, or a replay, had
# the event): one statement where a savepoint around an insert would take three.
RECORD_DELIVERY_SQL = """
INSERT INTO core_eventdelivery (event_id, handler, delivered_at) VALUES (%s, %s, %s)
ON CONFLICT (event_id, handler) DO NOTHING RETURNING id
"""


def _deliver(event: OutboxEvent, subscription: Subscription) -> Exception | None:
    """One handler and its delivery record in one savepoint: both commit, or neither.

    Called under system_access (the relay, a replay): entering the event's company opens the
    savepoint, and the handler's block is all or nothing, so the contexts it opens take no
    savepoints of their own (see tenant_context).
    """
    scope = (
        tenant_context(event.company_id, all_or_nothing=True)
        if event.company_id is not None
        else transaction.atomic()
    )
    try:
        with scope:
            with connection.cursor() as cursor:
                cursor.execute(RECORD_DELIVERY_SQL, [event.pk, subscription.name, timezone.now()])
                if cursor.fetchone() is None:
                    return None  # unique per event and handler: it was delivered already
            subscription.handler(event)
    except Exception as error:  # one handler's failure must not stop the relay
        logger.warning(
            "outbox.handler_failed",
            event_id=str(event.public_id),
            topic=event.topic,
            handler=subscription.name,
            exc_info=True,
        )
        return error
    return None


def relays_in_background() -> bool:
    """Whether commits hand their relay to a thread of this process rather than a task.

    True where no broker carries tasks to a worker (no REDIS_URL: `make demo`, `make bench`),
    so that a request does not run the relay itself before it answers. Tests (PASAR_ENV=test)
    keep the eager task, run inline: they see its effects as soon as the commit is done.
    """
    return not settings.REDIS_URL and settings.PASAR_ENV != "test"


class BackgroundRelay:
    """One daemon thread per process that relays the outbox when woken, and every
    BACKGROUND_RELAY_INTERVAL_S seconds once started (as beat would: due retries go out).

    Commits made close together share one pass instead of each paying for its own. The thread
    starts on the first wake; a process that exits waits up to BACKGROUND_RELAY_EXIT_WAIT_S
    for the pass in hand, and anything left stays pending for the next relay, as a relay
    that fails leaves it.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._woken = False
        self._relaying = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._condition:
            self._woken = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pasar-outbox-relay", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until no wake is outstanding and no pass runs; False if `timeout` ran out."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._woken and not self._relaying, timeout=timeout
            )

    def stop(self, timeout: float) -> bool:
        """Finish the pass in hand and end the thread; False if it is still running."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self) -> None:
        try:
            while self._next_pass():
                try:
                    self._relay_all()
                except Exception:  # the thread outlives a failed pass: the next one retries
                    logger.exception("outbox.background_relay_failed")
                finally:
                    with self._condition:
                        self._relaying = False
                        self._condition.notify_all()
        finally:
            connection.close()

    def _next_pass(self) -> bool:
        """Wait for a wake or the interval; False when the thread is to stop."""
        with self._condition:
            woken = self._condition.wait_for(
                lambda: self._woken or self._stopping, timeout=BACKGROUND_RELAY_INTERVAL_S
            )
        if woken and not self._stopping:
            time.sleep(BACKGROUND_RELAY_GATHER_S)
        with self._condition:
            if self._stopping:
                self._woken = False
                return False
            self._woken = False
            self._relaying = True
            return True

    @staticmethod
    def _relay_all(limit: int = 100) -> None:
        # Like a request, the thread drops a connection that broke or outlived CONN_MAX_AGE.
        close_old_connections()
        try:
            while relay_pending(limit=limit) == limit:
                pass
        finally:
            close_old_connections()


background_relay = BackgroundRelay()


def _forget_background_relay() -> None:
    # A forked child (a gunicorn worker) has no copy of the parent's thread: it starts its own.
    global background_relay
    background_relay = BackgroundRelay()


def _finish_background_relay() -> None:
    if background_relay.started:
        background_relay.wait_until_idle(BACKGROUND_RELAY_EXIT_WAIT_S)


os.register_at_fork(after_in_child=_forget_background_relay)
atexit.register(_finish_background_relay)


def _relay_soon() -> None:
    if relays_in_background():
        background_relay.wake()
        return
    from pasar.core.tasks import relay_outbox  # the task module imports this one

    relay_outbox.delay()  # a worker's queue; inline where tasks run eagerly (tests)
