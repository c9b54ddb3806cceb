"""The chart of accounts as a company edits it: new accounts, new names, archiving. An account
that was posted to keeps its code and kind (its history reads by them) and is archived, never
deleted; the accounts postings find by role cannot be archived."""

from __future__ import annotations

from django.db.models import ProtectedError
from django.utils import timezone

from pasar.core.audit import audit_record
from pasar.core.errors import Conflict, DomainError
from pasar.core.tenant import id_of, tenant_context
from pasar.ledger.models import Account, AccountKind, JournalLine
from pasar.tenancy.models import Company, User


def account_create(
    *, company: Company | int, code: str, name: str, kind: str, actor: User
) -> Account:
    code, name = code.strip(), name.strip()
    if not (code.isdigit() and 3 <= len(code) <= 10):
        raise DomainError("An account code is 3 to 10 digits.", code="invalid_account_code")
    if not name:
        raise DomainError("An account needs a name.", code="name_required")
    if kind not in AccountKind.values:
        raise DomainError(
            f"An account is one of: {', '.join(AccountKind.values)}.", code="invalid_kind"
        )
    with tenant_context(company, all_or_nothing=True):
        if Account.objects.filter(code=code).exists():
            raise Conflict(f"The chart already has an account {code}.", code="account_exists")
        account = Account.objects.create(
            company_id=id_of(company),
            code=code,
            name=name[:100],
            kind=kind,
            created_at=timezone.now(),
        )
        audit_record(action="ledger.account_created", obj=account, actor=actor)
    return account


def account_update(
    *,
    company: Company | int,
    account: Account,
    actor: User,
    name: str | None = None,
    archived: bool | None = None,
) -> Account:
    """Rename an account, or archive it (no new postings) or bring it back."""
    with tenant_context(company, all_or_nothing=True):
        changed = []
        if name is not None:
            if not name.strip():
                raise DomainError("An account needs a name.", code="name_required")
            account.name = name.strip()[:100]
            changed.append("name")
        if archived is not None and archived != account.is_archived:
            if archived and account.role:
                raise Conflict(
                    f"{account} is where the books post {account.role.replace('_', ' ')}: "
                    "it cannot be archived.",
                    code="account_in_use_by_postings",
                )
            account.is_archived = archived
            changed.append("is_archived")
        if changed:
            account.save(update_fields=changed)
            audit_record(action="ledger.account_changed", obj=account, actor=actor)
    return account


def account_delete(*, company: Company | int, account: Account, actor: User) -> None:
    """Delete an account nothing was ever posted to; one with postings is archived instead."""
    with tenant_context(company, all_or_nothing=True):
        if account.role or JournalLine.objects.filter(account=account).exists():
            raise Conflict(
                f"{account} has postings or is used by them: archive it instead.",
                code="account_in_use",
            )
        audit_record(action="ledger.account_deleted", obj=account, actor=actor)
        try:
            account.delete()
        except ProtectedError as error:  # a bill line names it
            raise Conflict(
                f"{account} is in use: archive it instead.", code="account_in_use"
            ) from error
