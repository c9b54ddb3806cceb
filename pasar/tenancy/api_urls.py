"""/api/v1/ routes of signing in, companies, memberships, invitations and the audit log."""

from django.urls import path

from pasar.tenancy import api

urlpatterns = [
    path("auth/token", api.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/refresh", api.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/token/verify", api.TokenVerifyView.as_view(), name="api-token-verify"),
    path("auth/switch-company", api.SwitchCompanyView.as_view(), name="api-switch-company"),
    path("me", api.MeView.as_view(), name="api-me"),
    path("audit-log", api.AuditLogView.as_view(), name="api-audit-log"),
    path("companies", api.CompaniesView.as_view(), name="api-companies"),
    path("companies/current", api.CurrentCompanyView.as_view(), name="api-company-current"),
    path("memberships", api.MembershipListView.as_view(), name="api-memberships"),
    path(
        "memberships/<str:public_id>",
        api.MembershipDetailView.as_view(),
        name="api-membership",
    ),
    path("invitations", api.InvitationListView.as_view(), name="api-invitations"),
    path("invitations/accept", api.InvitationAcceptView.as_view(), name="api-invitation-accept"),
    path(
        "invitations/<str:public_id>",
        api.InvitationDetailView.as_view(),
        name="api-invitation",
    ),
]
