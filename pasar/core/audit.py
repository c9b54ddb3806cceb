"""The audit log: who did what to which object, append-only and hash-chained per company.

Each company has its own chain of entries (company NULL is the platform's chain). An entry's
hash covers its whole content and the hash of the entry before it, so changing, deleting or
reordering an entry breaks the chain, and `manage.py verify_audit_chain` reports where. The
app's database role may only insert into the table (see `AuditEntry.rls_revoked_privileges`).
docs/audit.md says what the chain proves and what it cannot.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain, groupby
from operator import attrgetter
from typing import Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from pasar.core import request_context
from pasar.core.models import AuditEntry
from pasar.core.tenant import current_company_id, current_user_id, id_of, record_scope

GENESIS_HASH = "0" * 64
PLATFORM_CHAIN = "platform"
PLATFORM_ACCESS = "platform.access"


# -- writing --------------------------------------------------------------------------------


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    changes: Mapping[str, list[Any]] | None = None,
    actor: models.Model | None = None,
    company: models.Model | int | None = None,
) -> AuditEntry:
    """Append one entry to the company's chain, in the caller's transaction.

    `company` defaults to the current tenant context (none: the platform chain), `actor` to the
    context's user; the request id and client IP come from the request context. `changes` is
    {field: [before, after]}, usually from audit_changes().
    """
    changes = changes or {}
    if not all(
        isinstance(change, list | tuple) and len(change) == 2 for change in changes.values()
    ):
        raise ValueError("An audit entry's changes map each field to [before, after].")
    company_id = id_of(company) if company is not None else current_company_id()
    return _append(
        company_id=company_id,
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=_object_id(obj) if obj is not None else "",
        object_label=str(obj) if obj is not None else "",
        changes=changes,
    )


def audit_changes(
    before: models.Model | Mapping[str, Any], after: models.Model, fields: Iterable[str]
) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed, as plain JSON values.

    `before` is a snapshot taken before the change: a dict of field values or a copy of the
    instance. Related objects are named by their public id.
    """
    changes: dict[str, list[Any]] = {}
    for field in fields:
        old = before[field] if isinstance(before, Mapping) else getattr(before, field)
        new = getattr(after, field)
        if old != new:
            changes[field] = [_plain(old), _plain(new)]
    return json_safe(changes)


def audit_platform_access(*, reason: str, actor: models.Model | None) -> AuditEntry:
    """Record on the platform chain that someone lowered the walls between companies, and why."""
    return _append(
        company_id=None,
        actor=actor,
        action=PLATFORM_ACCESS,
        object_type="",
        object_id="",
        object_label=reason,
        changes={},
        actor_from_context=False,
    )


def json_safe(value: Any) -> Any:
    """The value as plain JSON types: decimals, UUIDs and dates become strings."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False))


def _append(
    *,
    company_id: int | None,
    actor: models.Model | None,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str,
    changes: Mapping[str, Any],
    actor_from_context: bool = True,
) -> AuditEntry:
    actor_id, actor_label = _actor(actor, from_context=actor_from_context)
    entry = AuditEntry(
        company_id=company_id,
        actor_id=actor_id,
        actor_label=_fit(actor_label, "actor_label"),
        action=_fit(action, "action"),
        object_type=_fit(object_type, "object_type"),
        object_id=_fit(object_id, "object_id"),
        object_label=_fit(object_label, "object_label"),
        changes=json_safe(dict(changes)),
        request_id=_fit(request_context.request_id.get(), "request_id"),
        ip_address=_valid_ip(request_context.client_ip.get()),
    )
    with record_scope(company_id, reason="append to the platform audit chain"):
        # Two appends to one chain at once would both read the same head and fork it; the
        # lock makes them take turns until the outer transaction ends.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"pasar.audit:{company_id or PLATFORM_CHAIN}"],
            )
        head = (
            AuditEntry.objects.filter(company=company_id)
            .order_by("-sequence")
            .values_list("sequence", "entry_hash")
            .first()
        )
        last_sequence, entry.previous_hash = head or (0, GENESIS_HASH)
        entry.sequence = last_sequence + 1
        entry.created_at = timezone.now()
        entry.entry_hash = entry_hash(entry)
        entry.save(force_insert=True)
    return entry


def _actor(actor: models.Model | None, *, from_context: bool) -> tuple[int | None, str]:
    if actor is None and from_context and (user_id := current_user_id()) is not None:
        actor = get_user_model()._default_manager.filter(pk=user_id).first()
    if actor is None or actor.pk is None:
        return None, ""
    return int(actor.pk), str(actor)


def _object_id(obj: models.Model) -> str:
    # Sequential ids never leave the server; the public id is what people can look up.
    return str(getattr(obj, "public_id", None) or obj.pk)


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return _object_id(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return value


def _fit(value: str, name: str) -> str:
    field = AuditEntry._meta.get_field(name)
    assert isinstance(field, models.CharField)
    return value[: field.max_length]


def _valid_ip(value: str | None) -> str | None:
    """The address as PostgreSQL's inet type gives it back, or None when it is not one."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.split("%", 1)[0]))
    except ValueError:
        return None


# -- the hash chain -------------------------------------------------------------------------


def entry_hash(entry: AuditEntry) -> str:
    """sha256 over a canonical JSON of everything the entry says, and the previous hash."""
    content = {
        "company": entry.company_id,
        "sequence": entry.sequence,
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_label": entry.object_label,
        "changes": _canonical(entry.changes),
        "request_id": entry.request_id,
        "ip": entry.ip_address,
        "created_at": entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "previous_hash": entry.previous_hash,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """JSON as it reads back from jsonb, which keeps numbers as exact decimals: 2.0 may come
    back as 2.0 and 1e20 as 100000000000000000000, so whole floats hash as integers."""
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    return value


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    reason: str


@dataclass
class ChainReport:
    """What the walk found in one chain. `key` is "platform" or the company's public id."""

    key: str
    label: str
    entries: int = 0
    head_sequence: int = 0
    head_hash: str = GENESIS_HASH
    broken: ChainBreak | None = None


@dataclass(frozen=True)
class ChainAnchor:
    """A chain's head as seen by an earlier check, kept outside the database."""

    sequence: int
    entry_hash: str


def audit_chain_verify(
    *, company_public_id: str | None = None, anchors: Mapping[str, ChainAnchor] | None = None
) -> list[ChainReport]:
    """Recompute every chain (or one company's) and report the first broken entry in each.

    Needs platform access. With `anchors` from an earlier check, also reports a chain that lost
    entries at its end or was rewritten up to that anchor, which links alone cannot show.
    """
    anchors = anchors or {}
    entries = AuditEntry.objects.select_related("company").order_by(
        F("company_id").asc(nulls_first=True), "sequence"
    )
    if company_public_id is not None:
        entries = entries.filter(company__public_id=company_public_id)
    reports = [
        _walk_chain(run, anchors)
        for _, run in groupby(entries.iterator(chunk_size=2000), key=attrgetter("company_id"))
    ]
    seen = {report.key for report in reports}
    for key, anchor in anchors.items():
        if key not in seen and (company_public_id is None or key == company_public_id):
            reports.append(
                ChainReport(
                    key=key,
                    label=key,
                    broken=ChainBreak(
                        anchor.sequence,
                        f"the whole chain is gone; the last check saw {anchor.sequence} entries",
                    ),
                )
            )
    return reports


def _walk_chain(run: Iterator[AuditEntry], anchors: Mapping[str, ChainAnchor]) -> ChainReport:
    first = next(run)
    report = ChainReport(
        key=str(first.company.public_id) if first.company else PLATFORM_CHAIN,
        label=str(first.company) if first.company else "platform",
    )
    anchor = anchors.get(report.key)
    previous_hash = GENESIS_HASH
    for entry in chain([first], run):
        report.entries += 1
        if report.broken is None:
            report.broken = _check_entry(entry, report.head_sequence, previous_hash, anchor)
        report.head_sequence, report.head_hash = entry.sequence, entry.entry_hash
        previous_hash = entry.entry_hash
    if report.broken is None and anchor is not None and anchor.sequence > report.head_sequence:
        first_gone = report.head_sequence + 1
        gone = (
            f"entry #{first_gone} is"
            if first_gone == anchor.sequence
            else f"entries #{first_gone} to #{anchor.sequence} are"
        )
        report.broken = ChainBreak(first_gone, f"{gone} gone from the end; the last check saw them")
    return report


def _check_entry(
    entry: AuditEntry, previous_sequence: int, previous_hash: str, anchor: ChainAnchor | None
) -> ChainBreak | None:
    expected = previous_sequence + 1
    if entry_hash(entry) != entry.entry_hash:
        return ChainBreak(entry.sequence, "it was changed after it was written")
    if entry.sequence != expected:
        missing = (
            f"entry #{expected} is"
            if entry.sequence == expected + 1
            else f"entries #{expected} to #{entry.sequence - 1} are"
        )
        return ChainBreak(entry.sequence, f"{missing} missing before it")
    if entry.previous_hash != previous_hash:
        return ChainBreak(
            entry.sequence, f"it does not link to entry #{previous_sequence}, which was replaced"
        )
    if (
        anchor is not None
        and entry.sequence == anchor.sequence
        and entry.entry_hash != anchor.entry_hash
    ):
        return ChainBreak(
            entry.sequence, "it is not the entry the last check saw: the chain was rewritten"
        )
    return None


# -- reading --------------------------------------------------------------------------------


def audit_entries(
    *,
    company: models.Model | int,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry]:
    """One company's entries, newest first. `actor` matches part of the recorded email; the
    dates are Singapore calendar days, both included."""
    entries = AuditEntry.objects.filter(company_id=id_of(company)).select_related("actor")
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if date_from is not None:
        entries = entries.filter(created_at__gte=_start_of_day(date_from))
    if date_to is not None:
        entries = entries.filter(created_at__lt=_start_of_day(date_to + timedelta(days=1)))
    return entries.order_by("-sequence")


def audit_filter_choices(*, company: models.Model | int) -> dict[str, list[str]]:
    """The actions and object types that occur in a company's log, for filter menus."""
    entries = AuditEntry.objects.filter(company_id=id_of(company)).order_by()
    return {
        "actions": sorted(set(entries.values_list("action", flat=True).distinct())),
        "object_types": sorted(
            set(entries.filter(~Q(object_type="")).values_list("object_type", flat=True).distinct())
        ),
    }


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())
