"""Everything under /api/v1/: each context mounts its own API routes here."""

from django.urls import include, path

urlpatterns = [
    path("", include("pasar.tenancy.api_urls")),
    path("catalog/", include("pasar.catalog.api_urls")),
    path("inventory/", include("pasar.inventory.api_urls")),
    path("", include("pasar.payments.api_urls")),
    path("", include("pasar.sales.api_urls")),
    path("gst/", include("pasar.gst.api_urls")),
    path("ledger/", include("pasar.ledger.api_urls")),
]
