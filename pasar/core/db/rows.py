"""Model instances and pages of rows from statements written out by hand, for the few hot
paths where building the query through the ORM costs more than the query (the request's
identity, reservations, product list pages).

Column lists come from the models, never from input, so the statements built with them are
safe to format.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Model


def columns(model: type[Model], alias: str) -> tuple[list[str], str]:
    """The model's field names, and its columns as `alias."column", ...`, in the same order."""
    fields = [field.attname for field in model._meta.concrete_fields]
    listed = ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)
    return fields, listed


def loaded[M: Model](model: type[M], fields: list[str], row: Any) -> M:
    """An instance from a row holding `fields` (from `columns`), as the ORM would load it:
    values a field reads itself (JSON arrives as text) go through its `from_db_value`."""
    readers = _readers(model, tuple(fields))
    if readers:
        row = list(row)
        for at, read in readers:
            row[at] = read(row[at], None, connection)
    return model.from_db(connection.alias, fields, row)


@functools.cache
def _readers(model: type[Model], fields: tuple[str, ...]) -> list[tuple[int, Callable[..., Any]]]:
    by_name = {field.attname: field for field in model._meta.concrete_fields}
    found = [(at, getattr(by_name[name], "from_db_value", None)) for at, name in enumerate(fields)]
    return [(at, read) for at, read in found if read is not None]


def partial[M: Model](model: type[M], **values: Any) -> M:
    """An instance loaded with these fields only, the rest deferred as `.only()` leaves them.
    (from_db takes the values in the model's field order, whatever order they came in.)"""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


class CountedPage:
    """A statement's rows for Django's Paginator, a page in one round trip: the statement
    reads the page and its total together (`count(*) OVER ()` as its last column), where the
    Paginator would send a count and then the page.

    `sql` takes the parameters `params` plus `limit` and `offset`; `offset` is the page the
    caller expects to be asked for. A page beyond the last reads the total on its own.
    `decode` maps a column's position to the function that reads its value (jsonb arrives as
    text).
    """

    def __init__(
        self,
        sql: str,
        params: dict[str, Any],
        *,
        offset: int,
        limit: int,
        decode: dict[int, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.sql = sql
        self.params = params
        self.decode = decode or {}
        self.expected = (offset, limit)
        self.read: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
        self.total: int | None = None

    def _rows(self, offset: int, limit: int) -> list[tuple[Any, ...]]:
        if (offset, limit) not in self.read:
            with connection.cursor() as cursor:
                cursor.execute(self.sql, {**self.params, "offset": offset, "limit": limit})
                found = cursor.fetchall()
            if found:
                self.total = found[0][-1]
            self.read[offset, limit] = [self._decoded(row[:-1]) for row in found]
        return self.read[offset, limit]

    def _decoded(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.decode:
            return row
        return tuple(
            value if value is None or at not in self.decode else self.decode[at](value)
            for at, value in enumerate(row)
        )

    def count(self) -> int:
        if self.total is None:
            self._rows(*self.expected)
        if self.total is None and self.expected[0] > 0:
            self._rows(0, 1)  # past the last page: the first row carries the total
        return self.total or 0

    def __getitem__(self, page: slice) -> list[tuple[Any, ...]]:
        offset = page.start or 0
        return self._rows(offset, page.stop - offset)
