"""Work that must run with no database transaction open: calls to other systems.

A provider that is called inside a transaction can take money while the record of asking is
still uncommitted (and is lost with a rollback), and every row the transaction locked stays
locked for as long as the provider takes to answer. So such calls go: record and commit, call
with no transaction open, record the answer in a new transaction.

- `ensure_no_transaction(what)` raises `TransactionOpen` when a transaction is open; services
  call it right before they call out.
- Each signed-in request normally runs inside one transaction (the tenant middleware). A view
  that calls out is marked `@no_request_transaction`: the middleware then checks the member
  in a short transaction of its own and runs the view with none open; the view's services and
  reads open their own short `tenant_context` transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

NO_REQUEST_TRANSACTION = "pasar_no_request_transaction"


class TransactionOpen(RuntimeError):
    """Something that must not run inside a database transaction was called inside one."""


def transaction_open() -> bool:
    """Whether a transaction is open. The one a test case wraps around each test does not
    count: it stands in for the database itself, where everything else has committed."""
    if not connection.in_atomic_block:
        return False
    blocks = connection.atomic_blocks
    return not blocks or any(not getattr(block, "_from_testcase", False) for block in blocks)


def ensure_no_transaction(what: str) -> None:
    if transaction_open():
        raise TransactionOpen(
            f"{what} must run with no database transaction open: commit what was recorded "
            "first, and mark a view that does this with @no_request_transaction."
        )


def no_request_transaction[V: Callable[..., Any]](view: V) -> V:
    """Run this view with no request-wide transaction (a function view or an APIView class)."""
    setattr(view, NO_REQUEST_TRANSACTION, True)
    return view


def wants_no_request_transaction(view: Callable[..., Any]) -> bool:
    """Whether a resolved view (a function, or what as_view() made) was marked."""
    candidates = (view, getattr(view, "view_class", None), getattr(view, "cls", None))
    return any(getattr(c, NO_REQUEST_TRANSACTION, False) for c in candidates if c is not None)
