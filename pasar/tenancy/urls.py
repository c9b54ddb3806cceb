from django.urls import path

from pasar.tenancy import views

app_name = "tenancy"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("onboarding/company/", views.onboarding_company, name="onboarding_company"),
    path("switch-company/", views.switch_company, name="switch_company"),
    path(
        "invitations/<uuid:company_public_id>/<str:token>/",
        views.invitation_accept,
        name="invitation_accept",
    ),
]
