"""A customer's link to a document's PDF, mounted at /documents/ (namespace `documents`)."""

from django.urls import path

from pasar.ledger import views

app_name = "documents"
urlpatterns = [
    path("<str:token>/", views.document_by_link, name="pdf"),
]
