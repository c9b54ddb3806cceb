"""Every topic is declared once with its payload's shape; publishing checks it; docs list the
topics from the declarations; a handler added later can be replayed the past, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import NotRequired, TypedDict
from uuid import UUID, uuid4

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from pasar.core import events as core_events
from pasar.core.event_contracts import (
    InvalidEventPayload,
    UndeclaredTopic,
    declare,
    declared_topics,
    topics_table,
)
from pasar.core.events import publish, relay_pending, replay_events, subscribe
from pasar.core.models import EventDelivery, OutboxEvent
from pasar.core.tenant import system_access, tenant_context


class Shipped(TypedDict):
    shipment: UUID
    parcels: int
    note: NotRequired[str | None]


SHIPPED = declare("test_shipment.sent", Shipped, description="A contract test's event.")


def outbox_count() -> int:
    with system_access(reason="test reads the outbox"):
        return OutboxEvent.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"parcels": 2}, "'shipment' is missing"),
        ({"shipment": uuid4(), "parcels": 2, "weight": 3}, "'weight' is not part of it"),
        ({"shipment": uuid4(), "parcels": "two"}, "'parcels' is str, not int"),
        ({"shipment": uuid4(), "parcels": True}, "'parcels' is bool, not int"),
        ({"shipment": 7, "parcels": 2}, "'shipment' is int, not UUID"),
    ],
)
def test_a_payload_of_another_shape_is_refused_and_nothing_is_written(
    company, payload: dict[str, object], problem: str
) -> None:
    before = outbox_count()
    with tenant_context(company), pytest.raises(InvalidEventPayload, match=problem):
        publish(SHIPPED, payload)
    assert outbox_count() == before


@pytest.mark.django_db
def test_an_undeclared_topic_is_refused(company) -> None:
    with tenant_context(company), pytest.raises(UndeclaredTopic):
        publish("shipment.lost", {})


@pytest.mark.django_db
def test_a_declared_event_is_stored_with_its_version(company) -> None:
    with tenant_context(company):
        event = publish(SHIPPED, {"shipment": uuid4(), "parcels": 2, "note": None})
    assert event.version == 1
    assert event.topic == "test_shipment.sent"


def test_topic_names_are_thing_dot_what_happened_and_declared_once() -> None:
    with pytest.raises(ValueError, match=r"<thing>\.<what happened>"):
        declare("Inventory.Stock.Changed", Shipped, description="x")
    with pytest.raises(ValueError, match="already declared"):
        declare("test_shipment.sent", Shipped, description="x", version=2)
    product_topics = {
        name for name, topic in declared_topics().items() if topic.declared_in.startswith("pasar.")
    }
    assert {"stock.changed", "stock.ran_low", "payment.captured", "company.created"} <= (
        product_topics
    )


def test_docs_list_every_topic_the_code_declares() -> None:
    table = topics_table()
    # The tests' own topics (named test_...) are declared only while tests run.
    ours = "\n".join(line for line in table.splitlines() if "`test_" not in line)
    docs = Path("docs/events.md").read_text()
    assert ours in docs, "docs/events.md is out of step: paste topics_table() (see its text)"


@pytest.mark.django_db(transaction=True)
def test_a_handler_added_later_is_replayed_the_past_once(company) -> None:
    with tenant_context(company):
        old = publish(SHIPPED, {"shipment": uuid4(), "parcels": 1})
    relay_pending()  # nobody listened then: relayed as it was, and kept
    with tenant_context(company), transaction.atomic():
        publish(SHIPPED, {"shipment": uuid4(), "parcels": 2})
    relay_pending()
    seen: list[int] = []

    @subscribe(SHIPPED)
    def count_parcels(event: OutboxEvent) -> None:
        seen.append(event.payload["parcels"])

    name = f"{count_parcels.__module__}.{count_parcels.__qualname__}"
    try:
        progress = list(replay_events(handler=name, since=old.created_at - timedelta(seconds=1)))
        again = list(replay_events(handler=name, since=old.created_at - timedelta(seconds=1)))
        later = list(replay_events(handler=name, since=timezone.now() + timedelta(hours=1)))
    finally:
        core_events._subscriptions[SHIPPED].pop(name)
    assert sorted(seen) == [1, 2]
    assert (progress[-1].delivered, progress[-1].already, progress[-1].failed) == (2, 0, 0)
    assert (again[-1].delivered, again[-1].already) == (0, 2)
    assert later == []
    with system_access(reason="test"):
        assert EventDelivery.objects.filter(handler=name).count() == 2


@pytest.mark.django_db
def test_the_replay_command_names_an_unknown_handler_and_a_bad_date() -> None:
    with pytest.raises(CommandError, match="No handler"):
        call_command("replay_events", handler="pasar.nowhere.handler", since="2026-01-01")
    with pytest.raises(CommandError, match="not a date"):
        call_command("replay_events", handler="x", since="yesterday")
