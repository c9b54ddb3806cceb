"""/api/v1/ routes of the core: the audit log."""

from django.urls import path

from pasar.core import api_views

urlpatterns = [
    path("audit-log", api_views.AuditLogView.as_view(), name="api-audit-log"),
]
