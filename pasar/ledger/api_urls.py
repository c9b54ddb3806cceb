from django.urls import path

from pasar.ledger import api

urlpatterns = [
    path("accounts", api.AccountListView.as_view(), name="ledger-accounts"),
    path("accounts/<uuid:public_id>", api.AccountDetailView.as_view(), name="ledger-account"),
    path("journals", api.JournalListView.as_view(), name="ledger-journals"),
    path("journals/<uuid:public_id>", api.JournalDetailView.as_view(), name="ledger-journal"),
    path(
        "journals/<uuid:public_id>/reverse",
        api.JournalReverseView.as_view(),
        name="ledger-journal-reverse",
    ),
    path("documents", api.DocumentListView.as_view(), name="ledger-documents"),
    path("documents/<uuid:public_id>", api.DocumentDetailView.as_view(), name="ledger-document"),
    path(
        "documents/<uuid:public_id>/pdf", api.DocumentPdfView.as_view(), name="ledger-document-pdf"
    ),
    path(
        "documents/<uuid:public_id>/credit-notes",
        api.DocumentCreditNoteView.as_view(),
        name="ledger-document-credit-notes",
    ),
    path("bills", api.BillListView.as_view(), name="ledger-bills"),
    path("bills/<uuid:public_id>/payments", api.BillPaymentView.as_view(), name="ledger-bill-pay"),
    path("payouts", api.PayoutListView.as_view(), name="ledger-payouts"),
    path("reports/<slug:name>", api.ReportView.as_view(), name="ledger-report"),
]
