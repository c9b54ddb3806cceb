"""The books in the back office, mounted at /office/books/ (namespace `books`)."""

from django.urls import path

from pasar.ledger import views

app_name = "books"
urlpatterns = [
    path("", views.report_page, name="reports"),
    path("reports/<slug:name>/", views.report_page, name="report"),
    path("journals/", views.journal_list, name="journal_list"),
    path("journals/new/", views.journal_new, name="journal_new"),
    path("journals/<uuid:public_id>/", views.journal_detail, name="journal_detail"),
    path("journals/<uuid:public_id>/reverse/", views.journal_reverse, name="journal_reverse"),
    path("documents/", views.document_list, name="document_list"),
    path("documents/<uuid:public_id>/", views.document_detail, name="document_detail"),
    path("documents/<uuid:public_id>/pdf/", views.document_download, name="document_pdf"),
    path("documents/<uuid:public_id>/credit/", views.document_credit, name="document_credit"),
    path("bills/", views.bill_list, name="bill_list"),
    path("bills/new/", views.bill_new, name="bill_new"),
    path("bills/<uuid:public_id>/", views.bill_detail, name="bill_detail"),
    path("bills/<uuid:public_id>/pay/", views.bill_pay, name="bill_pay"),
    path("payouts/", views.payout_list, name="payout_list"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<uuid:public_id>/", views.account_change, name="account_change"),
]
