"""The merchant's back office: the home page with its set-up checklist, and the team page."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from pasar.backoffice.audit_display import audit_link, audit_title, audit_value
from pasar.backoffice.forms import InvitationForm, RoleChangeForm
from pasar.backoffice.selectors import setup_checklist
from pasar.core.audit import audit_entries, audit_filter_choices
from pasar.core.audit_api import AuditLogQuery
from pasar.core.errors import DomainError
from pasar.inventory.selectors import location_list
from pasar.tenancy import selectors, services
from pasar.tenancy.models import Invitation, Role
from pasar.tenancy.permissions import acting_company, can, company_required, roles_grantable_by


@require_GET
@company_required("backoffice.view")
def home(request: HttpRequest) -> HttpResponse:
    company = acting_company(request)
    role = request.membership.role  # type: ignore[attr-defined]
    checklist = setup_checklist(company=company, role=role)
    return render(
        request,
        "backoffice/home.html",
        {
            "company": company,
            "locations": list(location_list(company=company)),
            "checklist": checklist,
            "checklist_done": all(step.done for step in checklist),
        },
    )


def _team_page(request: HttpRequest, *, invite_form: InvitationForm | None = None) -> HttpResponse:
    role = request.membership.role  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "members": selectors.team_members(company=acting_company(request)),
        "open_invitations": selectors.open_invitations(company=acting_company(request)),
        "invite_form": invite_form or InvitationForm(),
        "can_manage_members": can(role, "membership.manage"),
        "can_invite": can(role, "invitation.manage"),
        "roles": Role.choices,
        "grantable_roles": [r.value for r in roles_grantable_by(role)],
        "invitation_days": settings.INVITATION_TTL.days,
    }
    return render(request, "backoffice/team.html", context)


@require_GET
@company_required("membership.view")
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request)


@require_POST
@company_required("invitation.manage")
def team_invite(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _token = services.invitation_create(
                company=acting_company(request),
                invited_by=request.user,  # type: ignore[arg-type]
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            days = settings.INVITATION_TTL.days
            messages.success(
                request, f"Invitation sent to {invitation.email}. The link works for {days} days."
            )
            return redirect("backoffice:team")
    return _team_page(request, invite_form=form)


def _refusal(request: HttpRequest, error: DomainError) -> HttpResponse:
    messages.error(request, error.message)
    return redirect("backoffice:team")


@require_POST
@company_required("membership.manage")
def member_change_role(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    membership = selectors.team_member(company=acting_company(request), public_id=public_id)
    if membership is None:
        raise Http404("No such member of this company.")
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles in the list.")
        return redirect("backoffice:team")
    try:
        services.membership_change_role(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=request.user,  # type: ignore[arg-type]
        )
    except DomainError as error:
        return _refusal(request, error)
    label = Role(form.cleaned_data["role"]).label.lower()
    messages.success(request, f"{membership.user.email} is now {label}.")
    return redirect("backoffice:team")


@require_POST
@company_required("membership.manage")
def member_remove(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    membership = selectors.team_member(company=acting_company(request), public_id=public_id)
    if membership is None:
        raise Http404("No such member of this company.")
    try:
        services.membership_remove(membership=membership, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        return _refusal(request, error)
    messages.success(request, f"{membership.user.email} no longer has access to this company.")
    return redirect("backoffice:team")


@require_POST
@company_required("invitation.manage")
def invitation_revoke(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    invitation = get_object_or_404(Invitation, public_id=public_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        return _refusal(request, error)
    messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect("backoffice:team")


@require_GET
@company_required("audit.view")
def audit_log(request: HttpRequest) -> HttpResponse:
    """The company's audit log, newest first, with the same filters as the audit-log API."""
    company = acting_company(request)
    filters = {
        name: value
        for name in AuditLogQuery().get_fields()
        if (value := request.GET.get(name, "").strip())
    }
    query = AuditLogQuery(data=filters)
    page = None
    if query.is_valid():
        entries = audit_entries(company=company, **query.validated_data)
        page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "backoffice/audit_log.html",
        {
            "page": page,
            "rows": [
                # (field, before, after) triples: a field called "items" must not confuse the
                # template's dictionary lookups.
                {
                    "entry": entry,
                    "title": audit_title(entry.action),
                    "link": audit_link(entry.object_type, entry.object_id),
                    "changes": [
                        (
                            name.replace("_", " "),
                            None if before is None else audit_value(before),
                            audit_value(after),
                        )
                        for name, (before, after) in entry.changes.items()
                    ],
                }
                for entry in page or ()
            ],
            "filters": filters,
            "filter_errors": [error for errors in query.errors.values() for error in errors],
            "choices": audit_filter_choices(company=company),
        },
    )
