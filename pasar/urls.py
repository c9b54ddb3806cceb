from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from pasar.core.views import api_docs, api_not_found

urlpatterns = [
    path("", include("pasar.core.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/v1/", include("pasar.api_urls")),
    # Last under /api/: an unknown path or a wrong trailing slash answers in JSON.
    re_path(r"^api/", api_not_found),
    path("office/products/", include("pasar.catalog.urls")),
    path("office/payments/", include("pasar.payments.office_urls")),
    path("office/sales/", include("pasar.sales.office_urls")),
    path("office/books/", include("pasar.ledger.urls")),
    path("office/gst/", include("pasar.gst.urls")),
    path("documents/", include("pasar.ledger.public_urls")),
    path("office/", include("pasar.backoffice.urls")),
    path("", include("pasar.tenancy.urls")),
    path("", include("pasar.inventory.urls")),
    path("", include("pasar.payments.urls")),
    path("", include("pasar.storefront.urls")),
    path("", RedirectView.as_view(pattern_name="backoffice:home"), name="root"),
]
