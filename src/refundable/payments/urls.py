"""The desk's money pages (at /desk/money/)."""

from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("", views.money_overview, name="overview"),
    path("refunds/<slug:refund_id>/", views.refund_detail, name="refund_detail"),
    path("refunds/<slug:refund_id>/mark-sent/", views.refund_mark_sent_view, name="mark_sent"),
    path("refunds/<slug:refund_id>/cancel/", views.refund_cancel_view, name="cancel"),
    path("requests/<int:request_id>/retry/", views.refund_retry_view, name="retry"),
    path("disputes/<int:dispute_id>/", views.dispute_detail, name="dispute_detail"),
    path("disputes/<int:dispute_id>/evidence-sent/", views.dispute_evidence_sent_view,
         name="evidence_sent"),
]
