"""What happens to companies, people and shoppers: every write of the tenancy context.

Each service takes keyword arguments, runs in one transaction, records an audit entry and
publishes an outbox event for the change, and raises a DomainError (stable code, a sentence a
shop owner understands) for anything it refuses. Nothing is written when it refuses.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import ValidationError
from django.core.signing import BadSignature, TimestampSigner
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.text import slugify
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from pasar.core.audit import audit_changes, audit_record
from pasar.core.errors import Conflict, DomainError, Forbidden, InvalidToken, NotFound
from pasar.core.events import publish
from pasar.core.mail import mail_after_commit
from pasar.core.ratelimit import seconds_over_limit
from pasar.core.tenant import tenant_context, user_context
from pasar.tenancy import events, selectors
from pasar.tenancy.auth import tokens_for
from pasar.tenancy.models import (
    Company,
    GstPeriod,
    Invitation,
    Membership,
    Role,
    Shopper,
    User,
    normalise_uen,
)
from pasar.tenancy.permissions import can, roles_only_owners_grant

logger = structlog.get_logger(__name__)

# Words that end a Singapore legal name but say nothing about the shop.
LEGAL_SUFFIXES = frozenset({"pte", "ltd", "private", "limited", "llp", "lp", "inc", "co"})
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX_LENGTH = 60
GST_NUMBER_PATTERN = re.compile(r"^[A-Z0-9]{9,10}$")
UPDATABLE_COMPANY_FIELDS = frozenset(
    {
        "legal_name",
        "gst_registered",
        "gst_number",
        "gst_period",
        "gst_period_start_month",
        "address_line1",
        "address_line2",
        "postal_code",
        "shop_slug",
    }
)


# -- input checks shared by the services ---------------------------------------------------


def _invalid(field: str, message: str, code: str = "invalid") -> DomainError:
    return DomainError(
        message, code=code, status=400, details=[{"field": field, "code": code, "message": message}]
    )


def _taken(field: str, message: str, code: str) -> Conflict:
    return Conflict(
        message, code=code, details=[{"field": field, "code": code, "message": message}]
    )


def _from_validation_error(error: ValidationError) -> DomainError:
    """A model's ValidationError as one DomainError naming every field that is wrong."""
    details = [
        {"field": field, "code": "invalid", "message": message}
        for field, messages in error.message_dict.items()
        for message in messages
    ]
    message = details[0]["message"] if len(details) == 1 else "Some details are not valid."
    return DomainError(message, code="invalid", status=400, details=details)


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise _invalid("email", "Please enter a valid email address.", "invalid_email") from None
    return email


def _check_password_strength(password: str, *, person: Model) -> None:
    try:
        # The validators only read attributes such as email and full_name, which a shopper
        # has as well as a user.
        validate_password(password, user=person)  # type: ignore[arg-type]
    except ValidationError as error:
        raise DomainError(
            "That password is too weak: " + " ".join(error.messages),
            code="weak_password",
            status=400,
            details=[
                {"field": "password", "code": "weak_password", "message": message}
                for message in error.messages
            ],
        ) from None


def _check_role(role: str) -> Role:
    if role not in Role.values:
        choices = ", ".join(Role.values)
        raise _invalid("role", f"The role must be one of: {choices}.", "invalid_role")
    return Role(role)


def _role_of(user: User) -> Role | None:
    """The user's role in the current company; call inside that company's tenant context."""
    role = Membership.objects.filter(user=user).values_list("role", flat=True).first()
    return Role(role) if role is not None else None


def _require(role: Role | None, action: str) -> None:
    if not can(role, action):
        raise Forbidden("Your role in this company does not allow that.")


def _require_owner_for(role: Role | None, *roles: str) -> None:
    """Only an owner may hand out or take away the owner role."""
    if Role.OWNER in roles and role != Role.OWNER:
        raise Forbidden("Only an owner can grant or remove the owner role.", code="owner_only")


def _require_owner_to_grant(actor_role: Role | None, role: Role) -> None:
    """Roles that refund money or change where it is paid out are handed out by owners only."""
    if role in roles_only_owners_grant() and actor_role != Role.OWNER:
        raise Forbidden(
            f"Only an owner can give someone the {role.label.lower()} role: it can refund "
            "money or change where payments go.",
            code="owner_only",
        )


def _lock_owners() -> list[int]:
    """Lock the company's owner rows, in one order, before any other membership row.

    Every role change and removal starts here, so two managers acting at once queue up instead
    of each removing one of the last two owners (or deadlocking on each other's rows).
    """
    return list(
        Membership.objects.select_for_update()
        .filter(role=Role.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _refuse_losing_last_owner(membership: Membership, owners: list[int]) -> None:
    if owners == [membership.pk]:
        raise Conflict(
            "A company needs at least one owner. Make someone else an owner first.",
            code="last_owner",
        )


# -- people ---------------------------------------------------------------------------------


def _email_taken() -> Conflict:
    return _taken(
        "email",
        "An account with this email address already exists; sign in instead.",
        "email_taken",
    )


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """A new person who can sign in by email. Refuses a taken email or a weak password."""
    email = _clean_email(email)
    full_name = full_name.strip()
    if User.objects.filter(email=email).exists():
        raise _email_taken()
    _check_password_strength(password, person=User(email=email, full_name=full_name))
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create_user(email, password, full_name=full_name)
        except IntegrityError:
            raise _email_taken() from None
        audit_record(action="user.registered", obj=user, actor=user, company=None)
        email_verification_send(user=user)
    return user


def token_pair_issue(*, user: User, company_public_id: str | None = None) -> dict[str, str]:
    """Access and refresh tokens acting for the chosen company, else the user's first one.

    A user without a company yet gets tokens without one (enough to onboard a company).
    """
    with user_context(user):
        if company_public_id is None:
            membership = selectors.default_membership(user=user)
        else:
            membership = selectors.membership_for(
                user=user, company_public_id=str(company_public_id)
            )
            if membership is None:
                raise Forbidden("You are not a member of that company.", code="not_a_member")
        return tokens_for(user=user, company=membership.company if membership else None)


def token_pair_refresh(*, refresh: str) -> dict[str, str]:
    """A fresh pair for a refresh token, which stops working (rotation with a blacklist).

    The new tokens act for the same company as the old ones.
    """
    serializer = TokenRefreshSerializer(data={"refresh": refresh})
    try:
        with transaction.atomic():
            # Two refreshes of one token at once: the second waits here for the first to
            # commit its blacklisting, then finds the token blacklisted and is refused.
            jti = RefreshToken(refresh)[jwt_settings.JTI_CLAIM]  # type: ignore[arg-type]
            list(OutstandingToken.objects.select_for_update().filter(jti=jti))
            serializer.is_valid(raise_exception=True)
    except (TokenError, AuthenticationFailed, User.DoesNotExist):
        raise InvalidToken() from None
    return dict(serializer.validated_data)


# -- password reset and email verification ---------------------------------------------------

EMAIL_VERIFICATION_SALT = "pasar.email-verification"


def _reset_asked_too_often(kind: str, email: str, client_address: str | None) -> bool:
    """Whether reset links were asked for too often, for this email or from this address (both
    counted per hour): such a request is dropped quietly, with the same answer."""
    per_email = seconds_over_limit(
        f"{kind}:email:{hashlib.sha256(email.encode()).hexdigest()}",
        limit=settings.PASSWORD_RESET_EMAIL_LIMIT,
        window=3600,
    )
    per_address = seconds_over_limit(
        f"{kind}:address:{client_address or 'unknown'}",
        limit=settings.PASSWORD_RESET_ADDRESS_LIMIT,
        window=3600,
    )
    if per_email or per_address:
        logger.info("tenancy.reset_limited", kind=kind.split(":")[0], address=client_address)
        return True
    return False


def password_reset_request(*, email: str, client_address: str | None) -> None:
    """Mail a single-use link to reset the password of the account with this email, if there
    is one. The answer is the same either way, so nobody learns who has an account; repeated
    requests (per address and per email) are quietly dropped past the limit."""
    email = str(email or "").strip().lower()
    if _reset_asked_too_often("password-reset", email, client_address):
        return
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.public_id))
    token = default_token_generator.make_token(user)
    link = f"{settings.PASAR_BASE_URL.rstrip('/')}/password-reset/{uid}/{token}/"
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    mail_after_commit(
        to=user.email,
        template="tenancy/mail/password_reset",
        context={"link": link, "minutes": minutes},
    )


def password_reset_user(*, uidb64: str, token: str) -> User | None:
    """The person a reset link is for, while the link is still good (unused, not expired)."""
    try:
        public_id = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.get(public_id=public_id, is_active=True)
    except (ValueError, TypeError, ValidationError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, token) else None


def _reset_link_invalid() -> DomainError:
    return DomainError(
        "This reset link has expired or was already used. Ask for a new one.",
        code="reset_link_invalid",
        status=400,
    )


def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    """Set a new password through a reset link. The link stops working (the token is bound to
    the old password), every session and refresh token of the account ends, and the email is
    thereby shown to be the person's."""
    user = password_reset_user(uidb64=uidb64, token=token)
    if user is None:
        raise _reset_link_invalid()
    _check_password_strength(new_password, person=user)
    with transaction.atomic():
        user.set_password(new_password)
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
        user.save(update_fields=["password", "email_verified_at"])
        for outstanding in OutstandingToken.objects.filter(user=user):
            BlacklistedToken.objects.get_or_create(token=outstanding)
    return user


def email_verification_send(*, user: User) -> None:
    """Mail the person a link that proves the address is theirs (valid for 7 days)."""
    token = TimestampSigner(salt=EMAIL_VERIFICATION_SALT).sign(f"{user.public_id}:{user.email}")
    link = f"{settings.PASAR_BASE_URL.rstrip('/')}/verify-email/{token}/"
    mail_after_commit(
        to=user.email, template="tenancy/mail/email_verification", context={"link": link}
    )


def email_verify(*, token: str) -> User:
    """Mark the email in a verification link as the person's own."""
    try:
        value = TimestampSigner(salt=EMAIL_VERIFICATION_SALT).unsign(
            token, max_age=timedelta(days=7)
        )
        public_id, email = value.split(":", 1)
        user = User.objects.get(public_id=public_id, email=email, is_active=True)
    except (BadSignature, ValueError, ValidationError, User.DoesNotExist):
        raise DomainError(
            "This confirmation link has expired or is not valid. Sign in to get a new one.",
            code="verification_link_invalid",
            status=400,
        ) from None
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


# -- companies ------------------------------------------------------------------------------


def _clean_uen(uen: str) -> str:
    try:
        return normalise_uen(uen)
    except ValidationError as error:
        raise _invalid("uen", error.messages[0], "invalid_uen") from None


def _clean_gst_number(*, gst_registered: bool, gst_number: str) -> str:
    number = re.sub(r"[\s-]", "", gst_number or "").upper()
    if gst_registered and not number:
        raise _invalid(
            "gst_number",
            "A GST-registered company needs its GST registration number.",
            "gst_number_required",
        )
    if not gst_registered and number:
        raise _invalid(
            "gst_number",
            "Only a GST-registered company has a GST registration number; "
            "mark the company GST-registered or leave the number empty.",
            "gst_number_unexpected",
        )
    if number and not GST_NUMBER_PATTERN.match(number):
        raise _invalid(
            "gst_number",
            "A GST registration number has 9 or 10 letters and digits, "
            "for example M90312345A or your UEN.",
            "invalid_gst_number",
        )
    return number


def _check_period_start_month(month: int) -> None:
    if not (isinstance(month, int) and 1 <= month <= 12):
        raise _invalid(
            "gst_period_start_month",
            "The month the first GST period starts is a number from 1 to 12.",
            "invalid_month",
        )


def _clean_shop_slug(shop_slug: str, *, company: Company | None = None) -> str:
    slug = shop_slug.strip().lower()
    if not (3 <= len(slug) <= SLUG_MAX_LENGTH and SLUG_PATTERN.match(slug)):
        raise _invalid(
            "shop_slug",
            "A shop address has 3 to 60 lowercase letters, digits and single hyphens, "
            "for example kopi-kakis.",
            "invalid_shop_slug",
        )
    taken = Company.objects.filter(shop_slug=slug)
    if company is not None:
        taken = taken.exclude(pk=company.pk)
    if taken.exists():
        raise _taken(
            "shop_slug",
            f"The shop address {slug} is already taken; please choose another.",
            "shop_slug_taken",
        )
    return slug


def _derive_shop_slug(*, legal_name: str, uen: str) -> str:
    """kopi-kakis from "Kopi Kakis Pte. Ltd.", numbered when taken; the UEN when nothing is left."""
    words = slugify(legal_name).split("-")
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    base = "-".join(word for word in words if word)[: SLUG_MAX_LENGTH - 4].strip("-")
    if len(base) < 3:
        base = uen.lower()
    slug, number = base, 1
    while Company.objects.filter(shop_slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def _uen_taken(uen: str) -> Conflict:
    return _taken(
        "uen",
        f"A company with UEN {uen} is already registered on Pasar. "
        "Ask its owner to invite you instead.",
        "uen_taken",
    )


def company_onboard(
    *,
    owner: User,
    legal_name: str,
    uen: str,
    gst_registered: bool = False,
    gst_number: str = "",
    gst_period: str = GstPeriod.QUARTERLY,
    gst_period_start_month: int = 1,
    address_line1: str = "",
    address_line2: str = "",
    postal_code: str = "",
    shop_slug: str | None = None,
) -> Company:
    """A new company on the platform with `owner` as its first owner.

    The UEN must pass the ACRA check letter and be new to Pasar; a GST-registered company
    gives its GST number; the shop address is derived from the legal name unless chosen.
    """
    legal_name = legal_name.strip()
    if not legal_name:
        raise _invalid("legal_name", "Please enter the company's registered name.", "required")
    uen = _clean_uen(uen)
    if Company.objects.filter(uen=uen).exists():
        raise _uen_taken(uen)
    gst_number = _clean_gst_number(gst_registered=gst_registered, gst_number=gst_number)
    _check_period_start_month(gst_period_start_month)
    slug = (
        _clean_shop_slug(shop_slug)
        if shop_slug
        else _derive_shop_slug(legal_name=legal_name, uen=uen)
    )
    company = Company(
        legal_name=legal_name,
        uen=uen,
        gst_registered=gst_registered,
        gst_number=gst_number,
        gst_period=gst_period,
        gst_period_start_month=gst_period_start_month,
        address_line1=address_line1.strip(),
        address_line2=address_line2.strip(),
        postal_code=postal_code.strip(),
        shop_slug=slug,
    )
    try:
        company.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise _from_validation_error(error) from None

    with transaction.atomic():
        # Companies carry no row-level security: the row goes in before any tenant exists.
        try:
            with transaction.atomic():
                company.save()
        except IntegrityError:
            # Someone registered the same UEN or shop address a moment ago.
            if Company.objects.filter(uen=uen).exists():
                raise _uen_taken(uen) from None
            raise _taken(
                "shop_slug",
                f"The shop address {slug} was just taken; please choose another.",
                "shop_slug_taken",
            ) from None
        with tenant_context(company, user=owner):
            membership = Membership.objects.create(company=company, user=owner, role=Role.OWNER)
            audit_record(action="company.created", obj=company, actor=owner, company=company)
            audit_record(action="membership.created", obj=membership, actor=owner, company=company)
            publish(
                events.COMPANY_CREATED,
                {
                    "company": str(company.public_id),
                    "legal_name": company.legal_name,
                    "uen": company.uen,
                    "owner": str(owner.public_id),
                },
                company=company,
            )
    return company


def company_update(*, company: Company, actor: User, **fields: Any) -> Company:
    """Change a company's details. The UEN is its identity on Pasar and cannot change."""
    unknown = sorted(set(fields) - UPDATABLE_COMPANY_FIELDS)
    if unknown:
        raise _invalid(unknown[0], f"{', '.join(unknown)} cannot be changed here.", "read_only")
    with tenant_context(company, user=actor):
        _require(_role_of(actor), "company.update")
        company = Company.objects.select_for_update().get(pk=company.pk)
        before = {name: getattr(company, name) for name in UPDATABLE_COMPANY_FIELDS}

        if "legal_name" in fields:
            fields["legal_name"] = str(fields["legal_name"]).strip()
            if not fields["legal_name"]:
                raise _invalid(
                    "legal_name", "Please enter the company's registered name.", "required"
                )
        if "shop_slug" in fields:
            fields["shop_slug"] = _clean_shop_slug(str(fields["shop_slug"]), company=company)
        gst_registered = fields.get("gst_registered", company.gst_registered)
        if not gst_registered and "gst_number" not in fields:
            # Leaving GST registration drops the number with it.
            fields["gst_number"] = ""
        if "gst_registered" in fields or "gst_number" in fields:
            fields["gst_number"] = _clean_gst_number(
                gst_registered=gst_registered,
                gst_number=fields.get("gst_number", company.gst_number),
            )
        if "gst_period_start_month" in fields:
            _check_period_start_month(fields["gst_period_start_month"])
        for name in ("address_line1", "address_line2", "postal_code"):
            if name in fields:
                fields[name] = str(fields[name]).strip()

        for name, value in fields.items():
            setattr(company, name, value)
        try:
            company.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            raise _from_validation_error(error) from None

        changed = [name for name in fields if before[name] != getattr(company, name)]
        if not changed:
            return company
        try:
            with transaction.atomic():
                company.save(update_fields=changed)
        except IntegrityError:
            raise _taken(
                "shop_slug",
                "The shop address was just taken; please choose another.",
                "shop_slug_taken",
            ) from None
        audit_record(
            action="company.updated",
            obj=company,
            changes=audit_changes(before, company, changed),
            actor=actor,
            company=company,
        )
        publish(
            events.COMPANY_UPDATED,
            {"company": str(company.public_id), "fields": sorted(changed)},
            company=company,
        )
    return company


# -- memberships ----------------------------------------------------------------------------


def membership_change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    """Give a member another role. Only owners touch the owner role; the last owner stays."""
    new_role = _check_role(role)
    with tenant_context(membership.company_id, user=actor):
        owners = _lock_owners()
        actor_role = _role_of(actor)
        _require(actor_role, "membership.manage")
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=membership.pk)
        )
        if membership.user_id == actor.pk:
            raise Forbidden(
                "You cannot change your own role; ask an owner to do it.", code="own_role"
            )
        old_role = Role(membership.role)
        if old_role == new_role:
            return membership
        _require_owner_for(actor_role, old_role, new_role)
        _require_owner_to_grant(actor_role, new_role)
        if old_role == Role.OWNER:
            _refuse_losing_last_owner(membership, owners)
        membership.role = new_role
        membership.save(update_fields=["role"])
        audit_record(
            action="membership.role_changed",
            obj=membership,
            changes={"role": [old_role.value, new_role.value]},
            actor=actor,
        )
        publish(
            events.MEMBERSHIP_ROLE_CHANGED,
            {
                "membership": str(membership.public_id),
                "user": str(membership.user.public_id),
                "from": old_role.value,
                "to": new_role.value,
            },
            company=membership.company_id,
        )
    return membership


def membership_remove(*, membership: Membership, actor: User) -> None:
    """Take a person out of a company. Their tokens for it stop working at once."""
    with tenant_context(membership.company_id, user=actor):
        owners = _lock_owners()
        actor_role = _role_of(actor)
        _require(actor_role, "membership.manage")
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=membership.pk)
        )
        _require_owner_for(actor_role, membership.role)
        if membership.role == Role.OWNER:
            _refuse_losing_last_owner(membership, owners)
        audit_record(
            action="membership.removed",
            obj=membership,
            changes={"role": [membership.role, None]},
            actor=actor,
        )
        publish(
            events.MEMBERSHIP_REMOVED,
            {"membership": str(membership.public_id), "user": str(membership.user.public_id)},
            company=membership.company_id,
        )
        membership.delete()


# -- invitations ----------------------------------------------------------------------------


def invitation_create(
    *, company: Company, invited_by: User, email: str, role: str
) -> tuple[Invitation, str]:
    """Invite a person by email; returns the invitation and its secret token.

    Only the token's hash is stored; the link goes out by email once the invitation is saved.
    Inviting someone again replaces their earlier link.
    """
    email = _clean_email(email)
    new_role = _check_role(role)
    token = secrets.token_urlsafe(32)
    with tenant_context(company, user=invited_by):
        inviter_role = _role_of(invited_by)
        _require(inviter_role, "invitation.manage")
        _require_owner_for(inviter_role, new_role)
        _require_owner_to_grant(inviter_role, new_role)
        if Membership.objects.filter(user__email=email).exists():
            raise _taken("email", f"{email} is already a member of this company.", "already_member")
        now = timezone.now()
        Invitation.objects.select_for_update().filter(
            email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            company=company,
            email=email,
            role=new_role,
            token_hash=Invitation.hash_token(token),
            invited_by=invited_by,
            expires_at=now + settings.INVITATION_TTL,
        )
        audit_record(
            action="invitation.created",
            obj=invitation,
            changes={"email": [None, email], "role": [None, new_role.value]},
            actor=invited_by,
        )
        publish(
            events.INVITATION_CREATED,
            {"invitation": str(invitation.public_id), "email": email, "role": new_role.value},
            company=company,
        )
        # Only a committed invitation is worth a link; a send that fails for good is logged,
        # and the manager can invite again to send a fresh one.
        mail_after_commit(
            to=invitation.email,
            template="tenancy/mail/invitation",
            context={
                "company": company.legal_name,
                "role": invitation.get_role_display().lower(),
                "link": (
                    f"{settings.PASAR_BASE_URL.rstrip('/')}/invitations/"
                    f"{company.public_id}/{token}/"
                ),
                "days": settings.INVITATION_TTL // timedelta(days=1),
            },
        )
    return invitation, token


def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    """Stop an invitation's link from working."""
    with tenant_context(invitation.company_id, user=actor):
        _require(_role_of(actor), "invitation.manage")
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise Conflict(
                "This invitation was already accepted; remove the member instead.",
                code="invitation_accepted",
            )
        if invitation.revoked_at is not None:
            raise Conflict("This invitation was already revoked.", code="invitation_revoked")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(action="invitation.revoked", obj=invitation, actor=actor)
        publish(
            events.INVITATION_REVOKED,
            {"invitation": str(invitation.public_id)},
            company=invitation.company_id,
        )
    return invitation


def _invitation_not_found() -> NotFound:
    return NotFound(
        "This invitation link is not valid. Ask the company for a new invitation.",
        code="invitation_not_found",
    )


def invitation_accept(*, company_public_id: str, token: str, user: User) -> Membership:
    """Join the company as the invited role. The signed-in email must be the invited one."""
    try:
        company = Company.objects.get(public_id=company_public_id)
    except (Company.DoesNotExist, ValidationError, ValueError):
        raise _invitation_not_found() from None
    with tenant_context(company, user=user):
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=Invitation.hash_token(token))
            .first()
        )
        if invitation is None:
            raise _invitation_not_found()
        if invitation.accepted_at is not None:
            raise Conflict("This invitation was already accepted.", code="invitation_accepted")
        if invitation.revoked_at is not None:
            raise DomainError(
                "This invitation was withdrawn. Ask the company for a new one.",
                code="invitation_revoked",
                status=410,
            )
        if invitation.expires_at <= timezone.now():
            raise DomainError(
                "This invitation has expired. Ask the company to send a new one.",
                code="invitation_expired",
                status=410,
            )
        if invitation.email != user.email.lower():
            raise Forbidden(
                "This invitation was sent to a different email address. "
                "Sign in with the invited address to accept it.",
                code="invitation_email_mismatch",
            )
        if Membership.objects.filter(user=user).exists():
            raise Conflict("You are already a member of this company.", code="already_member")
        if (
            invitation.role in roles_only_owners_grant()
            and _role_of(invitation.invited_by) != Role.OWNER
        ):
            # Sent by someone who is not (or no longer) an owner: it grants nothing.
            raise Forbidden(
                "This invitation needs to come from an owner of the company. Ask an owner to "
                "invite you again.",
                code="owner_only",
            )

        membership = Membership.objects.create(company=company, user=user, role=invitation.role)
        if user.email_verified_at is None:
            # The invitation link went to this address: opening it proves the address.
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(action="invitation.accepted", obj=invitation, actor=user)
        audit_record(
            action="membership.created",
            obj=membership,
            changes={"role": [None, invitation.role]},
            actor=user,
        )
        publish(
            events.MEMBERSHIP_CREATED,
            {
                "membership": str(membership.public_id),
                "user": str(user.public_id),
                "role": invitation.role,
            },
            company=company,
        )
    return membership


# -- shoppers -------------------------------------------------------------------------------


def shopper_register(
    *, company: Company, email: str, password: str, full_name: str = ""
) -> Shopper:
    """A customer account of one shop. Shoppers are not users: they never get staff access."""
    email = _clean_email(email)
    full_name = full_name.strip()
    shopper = Shopper(company=company, email=email, full_name=full_name)
    _check_password_strength(password, person=shopper)
    shopper.password = make_password(password)
    taken = _taken(
        "email",
        "This shop already has an account with this email address; sign in instead.",
        "email_taken",
    )
    with tenant_context(company):
        if Shopper.objects.filter(email=email).exists():
            raise taken
        try:
            with transaction.atomic():
                shopper.save()
        except IntegrityError:
            raise taken from None
        audit_record(action="shopper.registered", obj=shopper, actor=None)
        publish(events.SHOPPER_REGISTERED, {"shopper": str(shopper.public_id)}, company=company)
    return shopper


SHOPPER_SIGN_IN_LIMIT = 10  # tries per email and shop in 15 minutes


def shopper_authenticate(*, company: Company, email: str, password: str) -> Shopper:
    """The shop account with this email and password. One answer for every failure, so
    nobody learns who has an account; tries past the limit are refused for a while."""
    email = str(email or "").strip().lower()
    digest = hashlib.sha256(f"{company.pk}:{email}".encode()).hexdigest()
    refused = DomainError(
        "That email and password do not match an account of this shop.",
        code="invalid_credentials",
        status=400,
    )
    wait = seconds_over_limit(f"shopper-sign-in:{digest}", limit=SHOPPER_SIGN_IN_LIMIT, window=900)
    if wait:
        raise DomainError(
            f"Too many tries: please wait {wait // 60 + 1} minutes.",
            code="rate_limited",
            status=429,
        )
    with tenant_context(company):
        shopper = Shopper.objects.filter(email=email).first()
    if shopper is None:
        make_password(password)  # the same time spent whether or not the account exists
        raise refused
    if not check_password(password, shopper.password):
        raise refused
    return shopper


class _ShopperResetTokens(PasswordResetTokenGenerator):
    """Reset links for shop accounts: bound to the shopper, their shop and their password hash,
    so a link works once (setting a password changes the hash) and only at its own shop."""

    key_salt = "pasar.shopper-password-reset"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{user.pk}:{user.company_id}:{user.password}:{timestamp}"


shopper_reset_tokens = _ShopperResetTokens()


def shopper_reset_request(
    *, company: Company, email: str, link_base: str, client_address: str | None
) -> None:
    """Mail a single-use link (`link_base` + "<uid>/<token>/") to reset the password of this
    shop's account with this email, if there is one. The answer is the same either way, so
    nobody learns who has an account; repeated requests are quietly dropped past the limit."""
    email = str(email or "").strip().lower()
    if _reset_asked_too_often(f"shopper-reset:{company.pk}", email, client_address):
        return
    with tenant_context(company):
        shopper = Shopper.objects.filter(email=email).first()
        if shopper is None:
            return
        uid = urlsafe_base64_encode(force_bytes(shopper.public_id))
        mail_after_commit(
            to=shopper.email,
            template="tenancy/mail/shopper_password_reset",
            context={
                # The generator reads only what _make_hash_value names, which a shopper has.
                "link": f"{link_base}{uid}/{shopper_reset_tokens.make_token(shopper)}/",  # type: ignore[arg-type]
                "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
                "shop": company.legal_name,
            },
        )


def shopper_reset_shopper(*, company: Company, uidb64: str, token: str) -> Shopper | None:
    """The shop account a reset link is for, while the link is still good."""
    try:
        public_id = force_str(urlsafe_base64_decode(uidb64))
        with tenant_context(company):
            shopper = Shopper.objects.get(public_id=public_id)
    except (ValueError, TypeError, ValidationError, Shopper.DoesNotExist):
        return None
    good = shopper_reset_tokens.check_token(shopper, token)  # type: ignore[arg-type]
    return shopper if good else None


def shopper_reset_confirm(
    *, company: Company, uidb64: str, token: str, new_password: str
) -> Shopper:
    """Set a shop account's new password through a reset link; the link stops working."""
    shopper = shopper_reset_shopper(company=company, uidb64=uidb64, token=token)
    if shopper is None:
        raise _reset_link_invalid()
    _check_password_strength(new_password, person=shopper)
    with tenant_context(company):
        shopper.password = make_password(new_password)
        shopper.save(update_fields=["password"])
        audit_record(action="shopper.password_reset", obj=shopper, actor=None)
    return shopper
