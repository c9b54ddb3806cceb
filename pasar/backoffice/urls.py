from django.urls import path

from pasar.backoffice import views

app_name = "backoffice"
urlpatterns: list = [
    path("", views.home, name="home"),
    path("team/", views.team, name="team"),
    path("audit/", views.audit_log, name="audit"),
    path("team/invitations/", views.team_invite, name="team_invite"),
    path(
        "team/invitations/<uuid:public_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "team/members/<uuid:public_id>/role/", views.member_change_role, name="member_change_role"
    ),
    path("team/members/<uuid:public_id>/remove/", views.member_remove, name="member_remove"),
]
