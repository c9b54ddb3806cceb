"""/api/v1/inventory/ routes."""

from django.urls import path

from pasar.inventory import api

urlpatterns = [
    path("reservations", api.ReservationListView.as_view(), name="api-inventory-reservations"),
    path(
        "reservations/<str:public_id>",
        api.ReservationDetailView.as_view(),
        name="api-inventory-reservation",
    ),
    path(
        "reservations/<str:public_id>/commit",
        api.ReservationCommitView.as_view(),
        name="api-inventory-reservation-commit",
    ),
    path(
        "reservations/<str:public_id>/fulfil",
        api.ReservationFulfilView.as_view(),
        name="api-inventory-reservation-fulfil",
    ),
    path(
        "reservations/<str:public_id>/release",
        api.ReservationReleaseView.as_view(),
        name="api-inventory-reservation-release",
    ),
]
