from django.urls import path

from pasar.tenancy import views

app_name = "tenancy"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("verify-email/resend/", views.verify_email_resend, name="verify_email_resend"),
    path("verify-email/<str:token>/", views.verify_email, name="verify_email"),
    path("onboarding/company/", views.onboarding_company, name="onboarding_company"),
    path("office/settings/company/", views.company_settings, name="company_settings"),
    path("switch-company/", views.switch_company, name="switch_company"),
    path(
        "invitations/<uuid:company_public_id>/<str:token>/",
        views.invitation_accept,
        name="invitation_accept",
    ),
]
