"""Model instances from statements written out by hand, for the few hot paths where building
the query through the ORM costs more than the query (the request's identity, reservations).

Column lists come from the models, never from input, so the statements built with them are
safe to format.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Model


def columns(model: type[Model], alias: str) -> tuple[list[str], str]:
    """The model's field names, and its columns as `alias."column", ...`, in the same order."""
    fields = [field.attname for field in model._meta.concrete_fields]
    listed = ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)
    return fields, listed


def loaded[M: Model](model: type[M], fields: list[str], row: Any) -> M:
    """An instance from a row holding `fields` (from `columns`), as the ORM would load it."""
    return model.from_db(connection.alias, fields, row)


def partial[M: Model](model: type[M], **values: Any) -> M:
    """An instance loaded with these fields only, the rest deferred as `.only()` leaves them.
    (from_db takes the values in the model's field order, whatever order they came in.)"""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])
