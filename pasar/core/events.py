"""Outbox events: a state change announces itself in the same transaction that makes it.

`publish()` writes an OutboxEvent row beside the change, so the event exists if and only if
the change committed. The relay (`relay_pending()`, run by the Celery task
`pasar.core.tasks.relay_outbox` and `manage.py relay_events`) hands each event to every
handler subscribed to its topic, once per handler: an EventDelivery row, unique per event and
handler, is written in the same savepoint as the handler's own work. docs/events.md explains
how a context publishes and subscribes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from pasar.core.audit import json_safe
from pasar.core.models import EventDelivery, OutboxEvent
from pasar.core.tenant import current_company_id, record_scope, system_access, tenant_context

logger = structlog.get_logger(__name__)

Handler = Callable[[OutboxEvent], None]
ALL_TOPICS = "*"
MAX_ATTEMPTS = 10
RETRY_BASE_DELAY = timedelta(seconds=10)
RETRY_MAX_DELAY = timedelta(hours=1)


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

    `company` defaults to the current tenant context (none: a platform event). The payload is
    stored as JSON: decimals, UUIDs and dates become strings.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(
            "publish() must run inside the transaction that makes the change it announces."
        )
    company_id = current_company_id() if company is None else _pk(company)
    with record_scope(company_id, reason="publish a platform event"):
        event = OutboxEvent.objects.create(
            company_id=company_id, topic=topic, payload=json_safe(payload)
        )
    # Deliver soon after the commit rather than at the next scheduled relay: with a worker
    # this queues a relay task, in the embedded default (no Redis) it relays right here.
    # A failure is only logged: the scheduled relay picks the event up anyway.
    transaction.on_commit(_relay_soon, robust=True)
    return event


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
        for event in events:
            completed += _relay(event)
    if events:
        logger.info("outbox.relayed", events=len(events), completed=completed)
    return completed


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


def _deliver(event: OutboxEvent, subscription: Subscription) -> Exception | None:
    """One handler in one savepoint with its delivery record: both commit, or neither."""
    scope = (
        tenant_context(event.company_id)
        if event.company_id is not None
        else contextlib.nullcontext()
    )
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    EventDelivery.objects.create(event=event, handler=subscription.name)
            except IntegrityError:
                return None  # unique per event and handler: another relay has delivered it
            with scope:
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


def _relay_soon() -> None:
    from pasar.core.tasks import relay_outbox  # the task module imports this one

    relay_outbox.delay()


def _pk(company: models.Model | int) -> int:
    return company if isinstance(company, int) else int(company.pk)
