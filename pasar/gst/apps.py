from django.apps import AppConfig


class GstConfig(AppConfig):
    name = "pasar.gst"
    label = "gst"
