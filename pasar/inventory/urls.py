from django.urls import path

from pasar.inventory import views

app_name = "inventory"
urlpatterns = [
    path("onboarding/location/", views.onboarding_location, name="onboarding_location"),
]
