"""The tenant context: which company (and which user) the current transaction acts for.

Two walls keep companies apart:

1. `TenantModel.objects` filters every query by the current company and raises
   `TenantNotSet` when there is none, so forgetting the context fails loudly.
2. PostgreSQL row-level security (see `pasar.core.rls`) reads the same company from the
   transaction's signed context, so raw SQL and forgotten filters see nothing of another
   company's rows, and no setting the app role makes widens that.

`tenant_context()` opens a transaction and sets both; `platform_access()` is the explicit,
audited way for platform staff to work across companies.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction
from django.db.models.signals import class_prepared

from pasar.core import rls

if TYPE_CHECKING:
    from django.db.models import QuerySet


class TenantNotSet(RuntimeError):
    """A tenant model was queried outside any company context."""


@dataclass(frozen=True)
class TenantState:
    company_id: int | None = None
    user_id: int | None = None
    bypass: bool = False
    # Named for transactions still to come (between_transactions): not yet in any database
    # settings, so the next context must apply it even inside a test's wrapping transaction.
    pending: bool = False


_state: ContextVar[TenantState] = ContextVar(
    "pasar_tenant",
    default=TenantState(),  # noqa: B039 - a frozen dataclass, so sharing it is safe
)


def current_company_id() -> int | None:
    return _state.get().company_id


def current_user_id() -> int | None:
    return _state.get().user_id


def bypass_active() -> bool:
    return _state.get().bypass


def _apply(state: TenantState) -> None:
    """Make the open transaction act for this state in PostgreSQL, where RLS reads it.

    One statement: `pasar_enter` checks the signed request (see `pasar.core.rls`) and sets the
    transaction's proven context.
    """
    connection.ensure_connection()
    sql, params = rls.enter_statement(
        company_id=state.company_id,
        user_id=state.user_id,
        platform=state.bypass,
        backend_pid=connection.connection.info.backend_pid,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# Set by tenant_context(all_or_nothing=True) for the rest of that company's block.
_all_or_nothing: ContextVar[bool] = ContextVar("pasar_tenant_all_or_nothing", default=False)


@contextmanager
def _entered(state: TenantState, *, all_or_nothing: bool = False) -> Iterator[None]:
    previous = _state.get()
    nested = connection.in_atomic_block
    if nested and previous == state:
        # Already acting so in this transaction (a service called from a request): the
        # settings are in place, only the savepoint is needed, and not even that inside an
        # all-or-nothing block (an error there rolls the whole block back anyway).
        whole = _all_or_nothing.get()
        with transaction.atomic(savepoint=not whole):
            whole_token = _all_or_nothing.set(whole or all_or_nothing)
            try:
                yield
            finally:
                _all_or_nothing.reset(whole_token)
        return
    with transaction.atomic():
        _apply(state)
        token = _state.set(state)
        whole_token = _all_or_nothing.set(all_or_nothing)
        try:
            yield
        finally:
            _all_or_nothing.reset(whole_token)
            _state.reset(token)
        # A nested context shares the outer transaction: put the outer values back. (On an
        # exception the savepoint rollback already undoes the settings.)
        if nested:
            _apply(previous)


def tenant_rows(
    company: models.Model | int, sql: str, params: list[Any] | tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """The rows of one read-only statement (positional parameters) in the company's context.

    Outside any transaction it is one round trip: the context is entered by the same message
    as the statement, and PostgreSQL runs a message's statements as one transaction (where
    `tenant_context` sends BEGIN, the context, the statement and COMMIT). Inside the company's
    open context (whoever acts in it) it is the statement alone.
    """
    company_id = id_of(company)
    if connection.in_atomic_block:
        state = _state.get()
        if state.company_id == company_id and not state.bypass and not state.pending:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        with tenant_context(company_id), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    connection.ensure_connection()
    enter_sql, enter_params = rls.enter_statement(
        company_id=company_id,
        user_id=None,
        platform=False,
        backend_pid=connection.connection.info.backend_pid,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"{enter_sql}; {sql}", [*enter_params, *params])
        cursor.nextset()
        return cursor.fetchall()


def id_of(obj: models.Model | int) -> int:
    """The id of a row given as the row or as its id (services take either for a company)."""
    return obj if isinstance(obj, int) else int(obj.pk)


def _pk(obj: models.Model | int | None) -> int | None:
    return None if obj is None else id_of(obj)


@contextmanager
def tenant_context(
    company: models.Model | int,
    user: models.Model | int | None = None,
    *,
    all_or_nothing: bool = False,
) -> Iterator[None]:
    """Act for one company (and optionally one user) inside one transaction.

    Nested in a context of the same company and user, it is a savepoint, so that a caller can
    catch a service's error and go on. `all_or_nothing=True` says nobody inside does: an error
    anywhere in the block ends it, so the contexts opened inside for the same company and user
    take no savepoint (two round trips each). Code inside that catches an error and goes on
    must then open its own `transaction.atomic()` around what may fail.
    """
    company_id = _pk(company)
    if company_id is None:
        raise ValueError("tenant_context needs a saved company")
    state = TenantState(company_id=company_id, user_id=_pk(user))
    with _entered(state, all_or_nothing=all_or_nothing):
        yield


@contextmanager
def user_context(user: models.Model | int) -> Iterator[None]:
    """Act for a signed-in user before a company is chosen: they see their own memberships."""
    with _entered(TenantState(user_id=_pk(user))):
        yield


@contextmanager
def between_transactions(
    company: models.Model | int | None, user: models.Model | int | None = None
) -> Iterator[None]:
    """Name the company and user that transactions opened inside the block act for, with none
    open now: for work that calls another system and records before and after in short
    transactions of its own (`tenant_context` inside applies them)."""
    from pasar.core.transactions import ensure_no_transaction

    ensure_no_transaction("between_transactions()")
    token = _state.set(TenantState(company_id=_pk(company), user_id=_pk(user), pending=True))
    try:
        yield
    finally:
        _state.reset(token)


@contextmanager
def acting_as(*, user_id: int, company_id: int | None = None) -> Iterator[None]:
    """Record, until the block ends, that the open transaction acts for this user (and
    company).

    For a caller whose own statement already entered that context in this transaction (the
    tenant middleware's identity lookup, which saves a round trip per request that way).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("acting_as() needs the transaction that entered the user's context.")
    token = _state.set(TenantState(company_id=company_id, user_id=user_id))
    try:
        yield
    finally:
        _state.reset(token)


def switch_company(company: models.Model | int) -> None:
    """Inside an open context, act for this company (same user) until that context ends.

    Saves the savepoint a nested tenant_context() would cost; used once per request by the
    tenant middleware after it has checked the membership.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("switch_company() needs an open tenant or user context.")
    state = _state.get()
    switched = TenantState(company_id=_pk(company), user_id=state.user_id, bypass=state.bypass)
    _apply(switched)
    _state.set(switched)


@contextmanager
def platform_access(*, reason: str, actor: models.Model | None = None) -> Iterator[None]:
    """Cross-company access for platform staff and platform jobs. Every use is audited."""
    from pasar.core.audit import audit_platform_access

    with _entered(TenantState(user_id=_pk(actor), bypass=True)):
        audit_platform_access(reason=reason, actor=actor)
        yield


@contextmanager
def system_access(*, reason: str) -> Iterator[None]:
    """Cross-company access for the platform's own machinery, where no person acts.

    Not audited: the outbox relay runs every few seconds and would bury the platform's audit
    chain in its own entries. Its work leaves its own trail (event deliveries, logs), and
    `reason` says in the code why the wall is lowered. People use platform_access().
    """
    if not reason:
        raise ValueError("system_access needs a reason")
    with _entered(TenantState(bypass=True)):
        yield


@contextmanager
def record_scope(company: models.Model | int | None, *, reason: str) -> Iterator[None]:
    """A transaction in which the platform's own records about a company (audit entries,
    outbox events; company None: the platform's own) can be written from the caller's context.

    In that company's context, or under a bypass, it is a plain savepoint. From a user's
    context with no company yet (onboarding creates the company there) it enters the company's
    context; a platform record is written under system_access(reason). A company's context
    cannot write another company's records.
    """
    company_id = _pk(company)
    state = _state.get()
    if state.bypass or (company_id is not None and company_id == state.company_id):
        with transaction.atomic():
            yield
    elif state.company_id is not None:
        raise TenantNotSet("A record of one company cannot be written in another's context.")
    elif company_id is None:
        with system_access(reason=reason):
            yield
    else:
        with tenant_context(company_id, user=state.user_id):
            yield


class TenantManager(models.Manager):
    """Scopes every query to the current company; refuses to run without one."""

    def get_queryset(self) -> QuerySet[Any]:
        state = _state.get()
        queryset = super().get_queryset()
        if state.bypass:
            return queryset
        if state.company_id is None:
            raise TenantNotSet(
                f"{self.model.__name__} was queried outside a company context; "
                "wrap the work in tenant_context(company)."
            )
        return queryset.filter(company_id=state.company_id)


class TenantModel(models.Model):
    """Base of every row a company owns: carries company_id and is guarded by RLS."""

    company = models.ForeignKey("tenancy.Company", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()

    rls_protected = True

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        company_id = current_company_id()
        if self.company_id is None and company_id is not None:
            self.company_id = company_id
        elif company_id is not None and self.company_id != company_id:
            raise TenantNotSet("A row of one company cannot be saved in another's context.")
        super().save(*args, **kwargs)


class PublicIdMixin(models.Model):
    """The identifier shown outside the server; sequential ids never leave it.

    On a company's row it is unique within the company (a constraint on company and public
    id, added to every such model when its class is prepared, below), as every unique
    constraint of a tenant table starts with company_id for the scale-out plan that
    distributes tables by company; random UUIDs never meet in practice. Rows that belong to no
    company (users, companies) declare it unique outright.
    """

    public_id = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)

    class Meta:
        abstract = True


def is_public_id(value: Any) -> bool:
    """Whether `value` reads as a public id (a UUID): what outside input must be before a
    query looks it up, so that a malformed id finds nothing instead of failing."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _public_id_unique_per_company(sender: type[models.Model], **_: Any) -> None:
    if (
        issubclass(sender, PublicIdMixin)
        and issubclass(sender, TenantModel)
        and not sender._meta.abstract
    ):
        name = f"{sender._meta.model_name}_public_id_per_company"
        constraints = list(sender._meta.constraints)
        if not any(constraint.name == name for constraint in constraints):
            constraints.append(models.UniqueConstraint(fields=["company", "public_id"], name=name))
            sender._meta.constraints = constraints


class_prepared.connect(_public_id_unique_per_company)
