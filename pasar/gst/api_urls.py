from django.urls import path

from pasar.gst import api

urlpatterns = [
    path("f5", api.F5View.as_view(), name="gst-f5"),
    path("f5/lines", api.F5BoxLinesView.as_view(), name="gst-f5-lines"),
    path("f5/file", api.F5FileView.as_view(), name="gst-f5-file"),
    path("f5/export", api.F5ExportView.as_view(), name="gst-f5-export"),
    path("detail", api.GstDetailView.as_view(), name="gst-detail"),
    path("periods", api.F5PeriodsView.as_view(), name="gst-periods"),
]
