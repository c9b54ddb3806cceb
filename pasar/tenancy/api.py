"""The /api/v1/ endpoints for signing in, companies, memberships and invitations.

Each view reads its input with a StrictSerializer, calls one service (or selector) and
answers with an output serializer; the rules live in `pasar.tenancy.services`.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.contrib.auth import authenticate
from django.db.models import QuerySet
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenVerifySerializer

from pasar.core.api import StrictSerializer, by_public_id
from pasar.core.audit import audit_entries
from pasar.core.audit_api import AuditEntryOutput, AuditLogQuery
from pasar.core.errors import DomainError, InvalidToken
from pasar.core.models import AuditEntry
from pasar.tenancy import selectors, services
from pasar.tenancy.middleware import SESSION_COMPANY_KEY
from pasar.tenancy.models import GstPeriod, Invitation, Membership, Role, User
from pasar.tenancy.permissions import RoleAllows, acting_company


class CompanyJWTScheme(SimpleJWTScheme):
    """Shows our company-carrying JWT in the schema as the bearer scheme it is."""

    target_class = "pasar.tenancy.auth.CompanyJWTAuthentication"


# -- serializers ----------------------------------------------------------------------------


class TokenObtainInput(StrictSerializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    company = serializers.UUIDField(
        required=False, help_text="Act for this company; default: the first one you joined."
    )


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Exchange at auth/token/refresh for a new pair.")


class TokenRefreshInput(StrictSerializer):
    refresh = serializers.CharField()


class TokenVerifyInput(StrictSerializer):
    token = serializers.CharField()


class TokenVerifyOutput(serializers.Serializer):
    valid = serializers.BooleanField()


class SwitchCompanyInput(StrictSerializer):
    company = serializers.UUIDField()


# `GET /api/v1/me` is called by every screen and app on every start: its outputs write their
# fields directly rather than through DRF's generic field walk. The declared fields stay for the
# schema; tests/tenancy/test_api_output.py holds them to what DRF itself would answer.
def user_data(user: User) -> dict[str, Any]:
    """A user as `UserOutput` declares it."""
    return {"id": str(user.public_id), "email": str(user.email), "full_name": str(user.full_name)}


def my_company_data(membership: Membership) -> dict[str, Any]:
    """A membership's company as `MyCompanyOutput` declares it."""
    company = membership.company
    return {
        "id": str(company.public_id),
        "legal_name": str(company.legal_name),
        "shop_slug": str(company.shop_slug),
        "role": membership.role,
    }


class UserOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    full_name = serializers.CharField()

    def to_representation(self, instance: User) -> dict[str, Any]:
        return user_data(instance)


class MyCompanyOutput(serializers.Serializer):
    """A company seen from one of its members: which it is and the member's role there."""

    id = serializers.UUIDField(source="company.public_id")
    legal_name = serializers.CharField(source="company.legal_name")
    shop_slug = serializers.CharField(source="company.shop_slug")
    role = serializers.ChoiceField(choices=Role.choices)

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return my_company_data(instance)


class MeOutput(serializers.Serializer):
    user = UserOutput()
    active_company = MyCompanyOutput(allow_null=True)
    companies = MyCompanyOutput(many=True)

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        active = instance["active_company"]
        return {
            "user": user_data(instance["user"]),
            "active_company": None if active is None else my_company_data(active),
            "companies": [my_company_data(item) for item in instance["companies"]],
        }


class CompanyOnboardInput(StrictSerializer):
    legal_name = serializers.CharField(max_length=200)
    uen = serializers.CharField(max_length=20, help_text="ACRA UEN, e.g. 201912345R.")
    gst_registered = serializers.BooleanField(default=False)
    gst_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    gst_period = serializers.ChoiceField(choices=GstPeriod.choices, required=False)
    gst_period_start_month = serializers.IntegerField(min_value=1, max_value=12, required=False)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=6, required=False, allow_blank=True)
    shop_slug = serializers.CharField(
        max_length=60,
        required=False,
        help_text="The shop's address on Pasar; derived from the legal name when left out.",
    )


class CompanyUpdateInput(StrictSerializer):
    legal_name = serializers.CharField(max_length=200, required=False)
    gst_registered = serializers.BooleanField(required=False)
    gst_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    gst_period = serializers.ChoiceField(choices=GstPeriod.choices, required=False)
    gst_period_start_month = serializers.IntegerField(min_value=1, max_value=12, required=False)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=6, required=False, allow_blank=True)
    shop_slug = serializers.CharField(max_length=60, required=False)


class CompanyOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    legal_name = serializers.CharField()
    uen = serializers.CharField()
    gst_registered = serializers.BooleanField()
    gst_number = serializers.CharField()
    gst_period = serializers.ChoiceField(choices=GstPeriod.choices)
    gst_period_start_month = serializers.IntegerField()
    address_line1 = serializers.CharField()
    address_line2 = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    timezone = serializers.CharField()
    currency = serializers.CharField()
    shop_slug = serializers.CharField()
    created_at = serializers.DateTimeField()


class MembershipOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    user = UserOutput()
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()


class MembershipRoleInput(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationInput(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    status = serializers.SerializerMethodField()
    invited_by = serializers.EmailField(source="invited_by.email")
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_status(self, invitation: Invitation) -> str:
        """pending, accepted, revoked or expired."""
        if invitation.accepted_at is not None:
            return "accepted"
        if invitation.revoked_at is not None:
            return "revoked"
        return "pending" if invitation.is_open else "expired"


class InvitationAcceptInput(StrictSerializer):
    company = serializers.UUIDField()
    token = serializers.CharField()


# -- helpers --------------------------------------------------------------------------------


def _valid_input(
    serializer_class: type[serializers.Serializer], request: Request
) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _signed_in(request: Request) -> User:
    """The user of a request that passed IsAuthenticated (every view here but signing in)."""
    return cast(User, request.user)


def _act_for_in_session(request: Request, company_public_id: str) -> None:
    """A browser session follows the company it just chose or created; tokens carry their own."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        request.session[SESSION_COMPANY_KEY] = company_public_id


class AuthView(APIView):
    """Sign-in endpoints: open to anyone, rate limited per client."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "auth"


# -- auth -----------------------------------------------------------------------------------


class TokenObtainView(AuthView):
    @extend_schema(
        request=TokenObtainInput,
        responses={200: TokenPairOutput},
        summary="Sign in: exchange email and password for a token pair",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(TokenObtainInput, request)
        # The plain Django request, so django-axes counts failures and flags a lockout on it.
        user = authenticate(
            request=request._request, email=data["email"].lower(), password=data["password"]
        )
        if user is None:
            raise DomainError(
                "That email and password do not match an account.",
                code="invalid_credentials",
                status=status.HTTP_401_UNAUTHORIZED,
            )
        company = data.get("company")
        tokens = services.token_pair_issue(
            user=user, company_public_id=str(company) if company else None
        )
        return Response(TokenPairOutput(tokens).data)


class TokenRefreshView(AuthView):
    @extend_schema(
        request=TokenRefreshInput,
        responses={200: TokenPairOutput},
        summary="Exchange a refresh token for a new pair; the old refresh token stops working",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(TokenRefreshInput, request)
        return Response(TokenPairOutput(services.token_pair_refresh(refresh=data["refresh"])).data)


class TokenVerifyView(AuthView):
    @extend_schema(
        request=TokenVerifyInput,
        responses={200: TokenVerifyOutput},
        summary="Check that a token is genuine, unexpired and not revoked",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(TokenVerifyInput, request)
        try:
            TokenVerifySerializer(data={"token": data["token"]}).is_valid(raise_exception=True)
        except (TokenError, serializers.ValidationError):
            raise InvalidToken() from None
        return Response(TokenVerifyOutput({"valid": True}).data)


class SwitchCompanyView(APIView):
    @extend_schema(
        request=SwitchCompanyInput,
        responses={200: TokenPairOutput},
        summary="Act for another of your companies: a token pair for it",
    )
    def post(self, request: Request) -> Response:
        company_public_id = str(_valid_input(SwitchCompanyInput, request)["company"])
        tokens = services.token_pair_issue(
            user=_signed_in(request), company_public_id=company_public_id
        )
        _act_for_in_session(request, company_public_id)
        return Response(TokenPairOutput(tokens).data)


class MeView(APIView):
    @extend_schema(responses={200: MeOutput}, summary="Who you are and the companies you work in")
    def get(self, request: Request) -> Response:
        me = {
            "user": _signed_in(request),
            "active_company": getattr(request, "membership", None),
            "companies": selectors.memberships_of(
                user=_signed_in(request), loaded=getattr(request, "memberships", None)
            ),
        }
        return Response(MeOutput(me).data)


# -- companies ------------------------------------------------------------------------------


class CompaniesView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "uen_taken": "A company with that UEN is already on Pasar.",
        },
    }

    @extend_schema(
        request=CompanyOnboardInput,
        responses={201: CompanyOutput},
        summary="Register a company on Pasar, with you as its owner",
    )
    def post(self, request: Request) -> Response:
        company = services.company_onboard(
            owner=_signed_in(request), **_valid_input(CompanyOnboardInput, request)
        )
        _act_for_in_session(request, str(company.public_id))
        return Response(CompanyOutput(company).data, status=status.HTTP_201_CREATED)


class CurrentCompanyView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "patch": {
            "uen_taken": "A company with that UEN is already on Pasar.",
        },
    }

    def get_permissions(self) -> list[BasePermission]:
        action = "company.update" if self.request.method == "PATCH" else "company.view"
        return [RoleAllows.to(action)()]

    @extend_schema(responses={200: CompanyOutput}, summary="The company you are acting for")
    def get(self, request: Request) -> Response:
        return Response(CompanyOutput(acting_company(request)).data)

    @extend_schema(
        request=CompanyUpdateInput,
        responses={200: CompanyOutput},
        summary="Change the company's details (the UEN cannot change)",
    )
    def patch(self, request: Request) -> Response:
        company = services.company_update(
            company=acting_company(request),
            actor=_signed_in(request),
            **_valid_input(CompanyUpdateInput, request),
        )
        return Response(CompanyOutput(company).data)


# -- memberships ----------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(summary="The people of this company and their roles"))
class MembershipListView(ListAPIView):
    permission_classes = (RoleAllows.to("membership.view"),)
    serializer_class = MembershipOutput

    def get_queryset(self) -> QuerySet[Membership]:
        return Membership.objects.select_related("user").order_by("created_at", "pk")


class MembershipDetailView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "patch": {
            "last_owner": "The company would be left without an owner.",
        },
        "delete": {
            "last_owner": "The company would be left without an owner.",
        },
    }
    permission_classes = (RoleAllows.to("membership.manage"),)

    def _membership(self, public_id: str) -> Membership:
        return by_public_id(Membership.objects.select_related("user"), public_id, "member")

    @extend_schema(
        request=MembershipRoleInput,
        responses={200: MembershipOutput},
        summary="Give a member another role",
    )
    def patch(self, request: Request, public_id: str) -> Response:
        data = _valid_input(MembershipRoleInput, request)
        membership = services.membership_change_role(
            membership=self._membership(public_id), role=data["role"], actor=_signed_in(request)
        )
        return Response(MembershipOutput(membership).data)

    @extend_schema(responses={204: None}, summary="Remove a person from this company")
    def delete(self, request: Request, public_id: str) -> Response:
        services.membership_remove(
            membership=self._membership(public_id), actor=_signed_in(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- invitations ----------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(summary="Invitations sent by this company, newest first"))
class InvitationListView(ListAPIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "already_member": "That person is already a member.",
        },
    }
    permission_classes = (RoleAllows.to("invitation.manage"),)
    serializer_class = InvitationOutput

    def get_queryset(self) -> QuerySet[Invitation]:
        return Invitation.objects.select_related("invited_by").order_by("-created_at", "-pk")

    @extend_schema(
        request=InvitationInput,
        responses={201: InvitationOutput},
        summary="Invite a person by email; the link in the email works for a limited time",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(InvitationInput, request)
        invitation, _token = services.invitation_create(
            company=acting_company(request),
            invited_by=_signed_in(request),
            email=data["email"],
            role=data["role"],
        )
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "delete": {
            "invitation_accepted": "It was already accepted.",
            "invitation_revoked": "It was already revoked.",
        },
    }
    permission_classes = (RoleAllows.to("invitation.manage"),)

    @extend_schema(responses={204: None}, summary="Revoke an invitation: its link stops working")
    def delete(self, request: Request, public_id: str) -> Response:
        invitation = by_public_id(Invitation.objects.all(), public_id, "invitation")
        services.invitation_revoke(invitation=invitation, actor=_signed_in(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(APIView):
    schema_conflicts: ClassVar[dict[str, dict[str, str]]] = {
        "post": {
            "already_member": "You are already a member of this company.",
            "invitation_accepted": "It was already accepted.",
            "invitation_revoked": "It was revoked.",
        },
    }
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        request=InvitationAcceptInput,
        responses={201: MyCompanyOutput},
        summary="Join a company with the token from an invitation email",
    )
    def post(self, request: Request) -> Response:
        data = _valid_input(InvitationAcceptInput, request)
        membership = services.invitation_accept(
            company_public_id=str(data["company"]), token=data["token"], user=_signed_in(request)
        )
        return Response(MyCompanyOutput(membership).data, status=status.HTTP_201_CREATED)


# -- the audit log ---------------------------------------------------------------------------

AUDIT_PAGING_PARAMETERS = frozenset({"page", "per_page"})


@extend_schema_view(
    get=extend_schema(
        summary="This company's audit log, newest first",
        parameters=[AuditLogQuery],
    )
)
class AuditLogView(ListAPIView):
    permission_classes = (RoleAllows.to("audit.view"),)
    serializer_class = AuditEntryOutput

    def get_queryset(self) -> QuerySet[AuditEntry]:
        query = AuditLogQuery(
            data={
                name: value
                for name, value in self.request.query_params.items()
                if name not in AUDIT_PAGING_PARAMETERS
            }
        )
        query.is_valid(raise_exception=True)
        return audit_entries(company=acting_company(self.request), **query.validated_data)
