"""/api/v1/catalog/ routes."""

from django.urls import path

from pasar.catalog import api

urlpatterns = [
    path("categories", api.CategoryListView.as_view(), name="api-catalog-categories"),
    path(
        "categories/<str:public_id>",
        api.CategoryDetailView.as_view(),
        name="api-catalog-category",
    ),
    path("products", api.ProductListView.as_view(), name="api-catalog-products"),
    path("products/<str:public_id>", api.ProductDetailView.as_view(), name="api-catalog-product"),
    path(
        "products/<str:public_id>/variants",
        api.ProductVariantsView.as_view(),
        name="api-catalog-product-variants",
    ),
    path(
        "products/<str:public_id>/images",
        api.ProductImagesView.as_view(),
        name="api-catalog-product-images",
    ),
    path("variants/<str:public_id>", api.VariantDetailView.as_view(), name="api-catalog-variant"),
    path("images/<str:public_id>", api.ImageDetailView.as_view(), name="api-catalog-image"),
    path(
        "images/<str:public_id>/<str:size>",
        api.ImageFileView.as_view(),
        name="api-catalog-image-file",
    ),
    path("search", api.SearchView.as_view(), name="api-catalog-search"),
    path("imports", api.ImportListView.as_view(), name="api-catalog-imports"),
    path("imports/<str:public_id>", api.ImportDetailView.as_view(), name="api-catalog-import"),
    path("export", api.ExportView.as_view(), name="api-catalog-export"),
]
