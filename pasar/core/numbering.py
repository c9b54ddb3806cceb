"""Gapless document numbers per company: GRN-000001, SO-000001, INV-000001.

Each kind of document has a prefix of its own, claimed once by the context that issues it
(`register`, in its models module, so every claim is made at start-up): no two kinds share a
series. `next_number` takes the next number in the
document's own transaction: the sequence row stays locked until that transaction ends, so two
documents never share a number, and a document rolled back gives its number back (no gap). Tax
invoices and credit notes must be numbered this way (IRAS: a unique, sequential number).
"""

from __future__ import annotations

from django.db import connection, models

from pasar.core.tenant import id_of

PREFIX_LENGTH = 8
_registered: dict[str, str] = {}

NEXT_NUMBER_SQL = """
INSERT INTO core_documentsequence (company_id, prefix, last_number)
VALUES (%s, %s, 1)
ON CONFLICT (company_id, prefix)
DO UPDATE SET last_number = core_documentsequence.last_number + 1
RETURNING last_number
"""


class UnknownPrefix(LookupError):
    pass


def register(prefix: str, document: str) -> str:
    """Claim `prefix` for one kind of document (e.g. "GRN", "goods receipt"); returns it.
    Claiming a prefix another kind holds is a programming error and raises at import."""
    if not (prefix.isascii() and prefix.isupper() and prefix.isalpha()):
        raise ValueError(f"A document prefix is upper-case letters, not {prefix!r}.")
    if len(prefix) > PREFIX_LENGTH:
        raise ValueError(f"A document prefix has at most {PREFIX_LENGTH} letters.")
    holder = _registered.setdefault(prefix, document)
    if holder != document:
        raise ValueError(f"The prefix {prefix} already numbers {holder}, not {document}.")
    return prefix


def registered() -> dict[str, str]:
    """Every prefix and the document it numbers."""
    return dict(_registered)


def next_number(*, company: models.Model | int, prefix: str, width: int = 6) -> str:
    """The company's next number for `prefix`, e.g. "GRN-000001": one statement, in the
    caller's transaction and tenant context (the company's rows only)."""
    if prefix not in _registered:
        raise UnknownPrefix(f"No document is numbered {prefix}; register the prefix first.")
    with connection.cursor() as cursor:
        cursor.execute(NEXT_NUMBER_SQL, [id_of(company), prefix])
        (number,) = cursor.fetchone()
    return f"{prefix}-{number:0{width}d}"
