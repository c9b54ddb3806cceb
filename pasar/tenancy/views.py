"""Pages for joining Pasar: sign up, sign in and out, set up a company, switch between
companies and accept an invitation. Each page checks the form and calls one service."""

from __future__ import annotations

import uuid

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from pasar.core.errors import DomainError
from pasar.core.observability import client_ip
from pasar.core.security import lockout_response, next_url
from pasar.tenancy import selectors, services
from pasar.tenancy.forms import (
    CompanyOnboardingForm,
    CompanyProfileForm,
    LoginForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    SignupForm,
)
from pasar.tenancy.middleware import SESSION_COMPANY_KEY
from pasar.tenancy.models import Company, Role
from pasar.tenancy.permissions import acting_company, company_required, request_can

WRONG_CREDENTIALS = "That email and password do not match an account. Check both and try again."


def _act_for(request: HttpRequest, company: Company) -> None:
    """Make this company the one the next pages act for."""
    request.session[SESSION_COMPANY_KEY] = str(company.public_id)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    after = next_url(request)
    if request.user.is_authenticated:
        return redirect(after or settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(after or "tenancy:onboarding_company")
    return render(request, "tenancy/signup.html", {"form": form, "next": after})


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    after = next_url(request)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(after or settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        # Checked before authenticating: another failure during a lockout would restart it.
        if AxesProxyHandler.is_locked(request, credentials=get_credentials(email)):
            return lockout_response(request)
        # authenticate(request=...) lets axes count a failure against this email and address.
        user = authenticate(request=request, email=email, password=form.cleaned_data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):  # this failure reached the limit
                return lockout_response(request)
            form.add_error(None, WRONG_CREDENTIALS)
        else:
            login(request, user)
            return redirect(after or settings.LOGIN_REDIRECT_URL)
    return render(request, "tenancy/login.html", {"form": form, "next": after})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You have signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def onboarding_company(request: HttpRequest) -> HttpResponse:
    form = CompanyOnboardingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            company = services.company_onboard(
                owner=request.user,  # type: ignore[arg-type]
                **form.cleaned_data,
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            _act_for(request, company)
            messages.success(request, f"{company.legal_name} is on Pasar. Now add where you sell.")
            return redirect("inventory:onboarding_location")
    return render(request, "tenancy/onboarding_company.html", {"form": form})


@login_required
@require_POST
def switch_company(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_for(
        user=request.user,  # type: ignore[arg-type]
        company_public_id=request.POST.get("company", ""),
    )
    if membership is None:
        raise PermissionDenied("You are not a member of that company.")
    _act_for(request, membership.company)
    messages.success(request, f"You are now working in {membership.company.legal_name}.")
    return redirect(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def invitation_accept(
    request: HttpRequest, company_public_id: uuid.UUID, token: str
) -> HttpResponse:
    come_back = urlencode({"next": request.path})
    context = {
        "login_url": f"{reverse('tenancy:login')}?{come_back}",
        "signup_url": f"{reverse('tenancy:signup')}?{come_back}",
    }
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.invitation_accept(
                company_public_id=str(company_public_id),
                token=token,
                user=request.user,
            )
        except DomainError as error:
            context["error"] = error.message
            return render(request, "tenancy/invitation_accept.html", context, status=error.status)
        _act_for(request, membership.company)
        messages.success(
            request,
            f"Welcome to {membership.company.legal_name}. "
            f"You joined as {Role(membership.role).label.lower()}.",
        )
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "tenancy/invitation_accept.html", context)


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(
            email=form.cleaned_data["email"], client_address=client_ip(request)
        )
        # The same answer whether or not the email has an account.
        return render(
            request, "tenancy/password_reset_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "tenancy/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    valid = services.password_reset_user(uidb64=uidb64, token=token) is not None
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and valid and form.is_valid():
        try:
            services.password_reset_confirm(
                uidb64=uidb64, token=token, new_password=form.cleaned_data["new_password"]
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Your password is changed. Sign in with the new one.")
            return redirect("tenancy:login")
    return render(
        request,
        "tenancy/password_reset_confirm.html",
        {"form": form, "valid": valid},
        status=200 if valid and not form.errors else 400,
    )


@require_http_methods(["GET"])
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.email_verify(token=token)
    except DomainError as error:
        return render(request, "tenancy/email_verified.html", {"error": error}, status=400)
    return render(request, "tenancy/email_verified.html", {"verified": user})


@login_required
@require_POST
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    services.email_verification_send(user=request.user)  # type: ignore[arg-type]
    messages.success(request, f"We sent a new confirmation link to {request.user.email}.")  # type: ignore[union-attr]
    return redirect(next_url(request) or settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
@company_required("company.view")
def company_settings(request: HttpRequest) -> HttpResponse:
    """The company's details after onboarding; managers change them (company.update)."""
    company = acting_company(request)
    may_change = request_can(request, "company.update")
    initial = {name: getattr(company, name) for name in services.UPDATABLE_COMPANY_FIELDS}
    form = CompanyProfileForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if form.is_valid():
            changed = {
                name: value
                for name, value in form.cleaned_data.items()
                if value is not None and value != initial.get(name)
            }
            try:
                services.company_update(
                    company=company,
                    actor=request.user,  # type: ignore[arg-type]
                    **changed,
                )
            except DomainError as error:
                form.add_service_error(error)
            else:
                messages.success(request, "The company's details are saved.")
                return redirect("tenancy:company_settings")
    return render(
        request,
        "tenancy/company_settings.html",
        {"form": form, "company": company, "may_change": may_change},
        status=400 if form.is_bound else 200,
    )
