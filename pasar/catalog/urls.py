from django.urls import path

from pasar.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("new/", views.product_create, name="product_create"),
    path("import/", views.import_start, name="import_start"),
    path("import/<uuid:public_id>/", views.import_progress, name="import_progress"),
    path("variants/<uuid:public_id>/", views.variant_edit, name="variant_edit"),
    path("images/<uuid:public_id>/<str:size>/", views.image_file, name="image_file"),
    path("<uuid:public_id>/", views.product_detail, name="product_detail"),
    path("<uuid:public_id>/edit/", views.product_update, name="product_update"),
    path("<uuid:public_id>/variants/", views.variant_create, name="variant_create"),
    path("<uuid:public_id>/images/", views.image_upload, name="image_upload"),
]
