"""Outbox events: written with the change, relayed to each subscribed handler once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

import tests.core.topics  # noqa: F401  (declares the topics published here)
from pasar.core import events
from pasar.core.events import (
    MAX_ATTEMPTS,
    event_retry,
    publish,
    relay_pending,
    subscribe,
    subscriptions_for,
)
from pasar.core.models import AuditEntry, EventDelivery, OutboxEvent
from pasar.core.tasks import relay_outbox
from pasar.core.tenant import (
    TenantNotSet,
    current_company_id,
    system_access,
    tenant_context,
    user_context,
)
from pasar.inventory.models import Location
from tests.factories import LocationFactory, UserFactory


@pytest.fixture(autouse=True)
def subscriptions(monkeypatch) -> dict:
    """Each test subscribes its own handlers; the apps' handlers are imported first and kept
    out of the way, so their registrations survive the test."""
    events.discover_handlers()
    registry: dict = {}
    monkeypatch.setattr(events, "_subscriptions", registry)
    return registry


def all_events() -> list[OutboxEvent]:
    with system_access(reason="test: read the outbox"):
        return list(OutboxEvent.objects.order_by("id"))


def delivered(event: OutboxEvent) -> list[str]:
    return sorted(EventDelivery.objects.filter(event=event).values_list("handler", flat=True))


# -- publishing -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_publish_writes_the_event_in_the_current_transaction_for_the_current_company(
    company,
) -> None:
    with tenant_context(company):
        event = publish(
            "test_order.placed",
            {
                "total": Decimal("12.30"),
                "order": uuid.UUID(int=7),
                "at": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
            },
        )

    [stored] = all_events()
    assert stored.pk == event.pk
    assert stored.company_id == company.pk
    assert stored.topic == "test_order.placed"
    assert stored.payload == {
        "total": "12.30",
        "order": "00000000-0000-0000-0000-000000000007",
        "at": "2026-05-01T09:30:00Z",
    }
    assert stored.status == "pending"


@pytest.mark.django_db
def test_an_event_disappears_with_a_change_that_rolls_back(company) -> None:
    def place_order_then_fail() -> None:
        with tenant_context(company):
            publish("test_order.placed", {"order": "SO-000001"})
            raise RuntimeError("payment declined")

    with pytest.raises(RuntimeError):
        place_order_then_fail()
    assert all_events() == []


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        publish("test_order.placed", {})


@pytest.mark.django_db
def test_outside_any_company_the_event_is_a_platform_event() -> None:
    with transaction.atomic():
        event = publish("test_user.registered", {"user": "someone"})
    assert event.company_id is None
    assert [stored.pk for stored in all_events()] == [event.pk]


@pytest.mark.django_db
def test_onboarding_publishes_for_the_new_company_from_the_users_context(company) -> None:
    with user_context(UserFactory(password=None)):
        event = publish("test_company.created", {}, company=company)
    assert all_events()[0].company_id == company.pk == event.company_id


@pytest.mark.django_db
def test_a_company_cannot_publish_another_companys_event(company, other_company) -> None:
    with tenant_context(company), pytest.raises(TenantNotSet):
        publish("test_company.updated", {}, company=other_company)


def test_handlers_are_registered_by_dotted_name_and_star_matches_every_topic() -> None:
    @subscribe("test_company.created")
    def send_welcome_email(event: OutboxEvent) -> None:
        pass

    @subscribe("*")
    def forward_to_webhooks(event: OutboxEvent) -> None:
        pass

    names = [subscription.name for subscription in subscriptions_for("test_company.created")]
    assert names == [
        f"{__name__}.test_handlers_are_registered_by_dotted_name_and_star_matches_every_topic"
        ".<locals>.send_welcome_email",
        f"{__name__}.test_handlers_are_registered_by_dotted_name_and_star_matches_every_topic"
        ".<locals>.forward_to_webhooks",
    ]
    assert [s.handler for s in subscriptions_for("test_payment.captured")] == [forward_to_webhooks]


# -- relaying -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_relay_hands_each_event_to_each_handler_once(company) -> None:
    seen: list[tuple[str, str]] = []

    @subscribe("test_company.created")
    def welcome(event: OutboxEvent) -> None:
        seen.append(("welcome", event.topic))

    @subscribe("*")
    def webhooks(event: OutboxEvent) -> None:
        seen.append(("webhooks", event.topic))

    with tenant_context(company):
        publish("test_company.created", {"company": str(company.public_id)})
        publish("test_company.updated", {"company": str(company.public_id)})

    assert relay_pending() == 2
    assert relay_pending() == 0

    assert sorted(seen) == [
        ("webhooks", "test_company.created"),
        ("webhooks", "test_company.updated"),
        ("welcome", "test_company.created"),
    ]
    created, updated = all_events()
    assert len(delivered(created)) == 2
    assert len(delivered(updated)) == 1
    assert created.status == updated.status == "relayed"


@pytest.mark.django_db
def test_an_event_nobody_listens_to_is_simply_relayed(company) -> None:
    with tenant_context(company):
        publish("test_nobody.listened", {})
    assert relay_pending() == 1
    assert all_events()[0].relayed_at is not None


@pytest.mark.django_db
def test_a_handler_acts_inside_the_events_company(company, other_company) -> None:
    LocationFactory(company=company, name="Main store")
    LocationFactory(company=other_company, name="Elsewhere")
    seen: list[tuple[int | None, list[str]]] = []

    @subscribe("test_stock.counted")
    def check(event: OutboxEvent) -> None:
        seen.append((current_company_id(), list(Location.objects.values_list("name", flat=True))))

    with tenant_context(company):
        publish("test_stock.counted", {})
    relay_pending()

    assert seen == [(company.pk, ["Main store"])]


@pytest.mark.django_db
def test_a_failing_handler_is_retried_later_without_repeating_the_others(company) -> None:
    calls = {"ledger": 0, "email": 0}

    @subscribe("test_payment.captured")
    def post_to_ledger(event: OutboxEvent) -> None:
        calls["ledger"] += 1
        LocationFactory(company=company, name="written by the ledger handler")

    @subscribe("test_payment.captured")
    def email_receipt(event: OutboxEvent) -> None:
        calls["email"] += 1
        # Its own writes roll back with its failed delivery.
        Location.objects.create(company=company, name="half-written receipt")
        if calls["email"] == 1:
            raise ConnectionError("mail server unavailable")

    with tenant_context(company):
        publish("test_payment.captured", {"amount": "10.00"})

    assert relay_pending() == 0
    [event] = all_events()
    assert event.status == "pending"
    assert event.attempts == 1
    assert "mail server unavailable" in event.last_error
    assert event.next_attempt_at is not None
    assert event.next_attempt_at > timezone.now()
    assert delivered(event) == [f"{__name__}.{post_to_ledger.__qualname__}"]
    with tenant_context(company):
        assert not Location.objects.filter(name="half-written receipt").exists()

    assert relay_pending() == 0, "not before its retry time"
    with system_access(reason="test: time passes"):
        OutboxEvent.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    assert relay_pending() == 1
    assert calls == {"ledger": 1, "email": 2}
    [event] = all_events()
    assert event.status == "relayed"
    assert len(delivered(event)) == 2


@pytest.mark.django_db
def test_retries_back_off_and_stop_at_the_cap(company) -> None:
    @subscribe("test_courier.booked")
    def always_fails(event: OutboxEvent) -> None:
        raise TimeoutError("courier API down")

    with tenant_context(company):
        publish("test_courier.booked", {})

    delays = []
    for _ in range(MAX_ATTEMPTS):
        before = timezone.now()
        relay_pending()
        [event] = all_events()
        if event.next_attempt_at is not None and event.dead_at is None:
            delays.append(event.next_attempt_at - before)
        with system_access(reason="test: time passes"):
            OutboxEvent.objects.filter(dead_at__isnull=True).update(next_attempt_at=None)

    [event] = all_events()
    assert event.attempts == MAX_ATTEMPTS
    assert event.status == "dead"
    assert delays == sorted(delays)
    assert delays[-1] <= events.RETRY_MAX_DELAY + timedelta(seconds=1)
    assert relay_pending() == 0, "a dead event is left alone"

    with system_access(reason="test: operator retries"):
        assert event_retry(events=OutboxEvent.objects.all()) == 1
    [event] = all_events()
    assert (event.status, event.attempts) == ("pending", 0)


@pytest.mark.django_db
def test_a_handler_with_a_delivery_record_is_not_run_again(company) -> None:
    calls = []

    @subscribe("test_company.created")
    def welcome(event: OutboxEvent) -> None:
        calls.append(event.pk)

    with tenant_context(company):
        event = publish("test_company.created", {})
    EventDelivery.objects.create(event=event, handler=f"{__name__}.{welcome.__qualname__}")

    assert relay_pending() == 1
    assert calls == []


@pytest.mark.django_db
def test_relay_takes_events_in_order_up_to_the_limit(company) -> None:
    seen: list[int] = []

    @subscribe("*")
    def record(event: OutboxEvent) -> None:
        seen.append(event.payload["n"])

    with tenant_context(company):
        for n in range(5):
            publish("test_clock.ticked", {"n": n})

    assert relay_pending(limit=3) == 3
    assert relay_pending(limit=3) == 2
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.django_db
def test_a_platform_event_reaches_its_handlers() -> None:
    seen = []

    @subscribe("test_user.registered")
    def welcome(event: OutboxEvent) -> None:
        seen.append(event.payload["user"])

    with system_access(reason="test: platform event"):
        publish("test_user.registered", {"user": "someone@example.com"})

    assert relay_pending() == 1
    assert seen == ["someone@example.com"]


@pytest.mark.django_db
def test_relaying_writes_nothing_to_the_audit_log(company) -> None:
    with tenant_context(company):
        publish("test_company.updated", {})
    with system_access(reason="test: count"):
        before = AuditEntry.objects.count()

    relay_pending()
    relay_pending()

    with system_access(reason="test: count"):
        assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_the_commit_starts_a_relay_so_the_demo_needs_no_worker(
    company, django_capture_on_commit_callbacks, settings
) -> None:
    seen = []

    @subscribe("test_company.created")
    def welcome(event: OutboxEvent) -> None:
        seen.append(event.pk)

    assert settings.CELERY_TASK_ALWAYS_EAGER, "tests run without a broker"
    with django_capture_on_commit_callbacks(execute=True), tenant_context(company):
        event = publish("test_company.created", {})

    assert seen == [event.pk]
    assert all_events()[0].status == "relayed"


@pytest.mark.django_db
def test_the_celery_task_and_the_command_relay(company) -> None:
    with tenant_context(company):
        publish("test_a.happened", {})
        publish("test_b.happened", {})
    assert relay_outbox.apply().get() == 2

    with tenant_context(company):
        publish("test_c.happened", {})
    out = StringIO()
    call_command("relay_events", stdout=out)
    assert "Relayed 1 event(s)." in out.getvalue()


@pytest.mark.django_db
def test_the_outbox_admin_is_read_only_but_can_retry(company, client) -> None:
    model_admin = admin_site._registry[OutboxEvent]
    staff = UserFactory(is_staff=True, is_superuser=True)
    with tenant_context(company):
        publish("test_company.created", {})
    client.force_login(staff)

    response = client.get("/admin/core/outboxevent/?status=pending")
    assert response.status_code == 200
    assert "test_company.created" in response.content.decode()
    assert not model_admin.has_change_permission(response.wsgi_request)
