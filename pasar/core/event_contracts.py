"""Event contracts: every topic is declared once, by the context that publishes it, with its
version and the shape of its payload; `publish()` refuses an undeclared topic or a payload of
another shape.

A context declares its topics in its own `events.py`:

    class ReservationPayload(TypedDict):
        reservation: UUID
        channel: str
        expires_at: datetime

    RESERVATION_CREATED = declare(
        "reservation.created", ReservationPayload, description="Units are held for a buyer."
    )

and publishes with the constant: `publish(RESERVATION_CREATED, {...})`. docs/events.md lists
every declared topic (`topics_table()`; a test keeps the two in step).
"""

from __future__ import annotations

import functools
import re
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NotRequired, Required, get_args, get_origin, get_type_hints
from uuid import UUID

from django.utils.module_loading import autodiscover_modules

# <thing>.<what happened>: lower case, the thing in the singular, the event in the past.
TOPIC_NAME = re.compile(r"[a-z][a-z_]*\.[a-z][a-z_]*")
# What a payload value may be before it is stored as JSON (public ids, amounts and times may
# also arrive as the text they are stored as).
_ACCEPTED: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    bool: (bool,),
    UUID: (UUID, str),
    Decimal: (Decimal, str, int),
    datetime: (datetime, str),
    date: (date, str),
    list: (list, tuple),
    dict: (dict,),
}


class UndeclaredTopic(LookupError):
    pass


class InvalidEventPayload(ValueError):
    pass


@dataclass(frozen=True)
class Topic:
    name: str
    version: int
    payload: type
    description: str
    declared_in: str

    @functools.cached_property
    def fields(self) -> dict[str, tuple[Any, bool]]:
        """Each field's type and whether it must be present (read once per topic)."""
        # Read from the hints, not __required_keys__, which postponed annotations leave wrong.
        hints = get_type_hints(self.payload, include_extras=True)
        total = getattr(self.payload, "__total__", True)
        return {name: (_bare(hint), _required(hint, total)) for name, hint in hints.items()}

    def check(self, payload: dict[str, Any]) -> None:
        fields = self.fields
        problems = [
            f"'{name}' is missing"
            for name, (_, needed) in fields.items()
            if needed and name not in payload
        ]
        problems += [f"'{name}' is not part of it" for name in payload if name not in fields]
        for name, value in payload.items():
            if name in fields and not _fits(value, fields[name][0]):
                problems.append(
                    f"'{name}' is {type(value).__name__}, not {_label(fields[name][0])}"
                )
        if problems:
            raise InvalidEventPayload(
                f"A {self.name} payload (version {self.version}): " + "; ".join(problems) + "."
            )


_topics: dict[str, Topic] = {}


def declare(name: str, payload: type, *, description: str, version: int = 1) -> str:
    """Declare a topic; returns its name. A name declared twice, or not of the form
    <thing>.<what happened>, is a programming error and raises at import."""
    if not TOPIC_NAME.fullmatch(name):
        raise ValueError(f"A topic is <thing>.<what happened> in lower case, not {name!r}.")
    module = payload.__module__
    earlier = _topics.get(name)
    if earlier is not None and (earlier.payload, earlier.version) != (payload, version):
        raise ValueError(f"The topic {name} is already declared in {earlier.declared_in}.")
    _topics[name] = Topic(name, version, payload, description.strip(), module)
    return name


def contract(name: str) -> Topic:
    try:
        return _topics[name]
    except KeyError:
        raise UndeclaredTopic(
            f"No context declares the topic {name!r}; declare it in the publisher's events.py."
        ) from None


def declared_topics() -> dict[str, Topic]:
    """Every topic, once each context's `events` module is loaded."""
    autodiscover_modules("events")
    return dict(sorted(_topics.items()))


def topics_table() -> str:
    """The Markdown table of every declared topic that docs/events.md holds."""
    lines = ["| topic | version | published by | payload | when |", "|---|---:|---|---|---|"]
    for topic in declared_topics().values():
        fields = ", ".join(
            f"`{name}`" + ("" if needed else " (optional)")
            for name, (_, needed) in topic.fields.items()
        )
        context = topic.declared_in.removeprefix("pasar.").removesuffix(".events")
        lines.append(
            f"| `{topic.name}` | {topic.version} | {context} | {fields} | {topic.description} |"
        )
    return "\n".join(lines) + "\n"


def _bare(hint: Any) -> Any:
    """The type inside Required[...] / NotRequired[...]."""
    while get_origin(hint) in (Required, NotRequired):
        hint = get_args(hint)[0]
    return hint


def _required(hint: Any, total: bool) -> bool:
    origin = get_origin(hint)
    if origin is NotRequired:
        return False
    return True if origin is Required else total


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, option) for option in get_args(hint))
    if hint is type(None):
        return value is None
    accepted = _ACCEPTED.get(origin or hint)
    if accepted is None:
        return True  # a shape this check does not know: the type checker's business
    if isinstance(value, bool) and bool not in accepted:
        return False
    return isinstance(value, accepted)


def _label(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))
