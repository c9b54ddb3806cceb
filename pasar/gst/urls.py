"""The GST F5 in the back office, mounted at /office/gst/ (namespace `gst`)."""

from django.urls import path

from pasar.gst import views

app_name = "gst"
urlpatterns = [
    path("", views.f5_page, name="f5"),
    path("boxes/<int:number>/", views.box_lines, name="box_lines"),
    path("file/", views.f5_file, name="file"),
]
