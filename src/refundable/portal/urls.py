"""The customer portal's URLs (included at / by the root URL map)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "portal"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("login/link/", views.sign_in_link, name="login_link"),
    path("login/link/<str:token>/", views.sign_in_link_use_view, name="login_link_use"),
    path("logout/", views.sign_out, name="logout"),
    path("language/", views.language, name="language"),
    path("account/", views.account, name="account"),
    path("subscriptions/<int:pk>/cancel/", views.subscription_cancel_view,
         name="subscription_cancel"),
    path("subscriptions/<int:pk>/cancellation/", views.subscription_cancellation,
         name="subscription_cancellation"),
    path("subscriptions/<int:pk>/undo/", views.subscription_undo, name="subscription_undo"),
    path("subscriptions/<int:pk>/auto-renew/", views.subscription_auto_renew,
         name="subscription_auto_renew"),
    path("orders/<int:pk>/invoice/", views.invoice, name="invoice"),
    path("orders/<int:pk>/invoice.pdf", views.invoice_pdf_view, name="invoice_pdf"),
    path("refunds/new/", views.refund_start, name="refund_start"),
    path("refunds/new/<int:charge_id>/", views.refund_new, name="refund_new"),
    path("refunds/<int:pk>/", views.refund_detail, name="refund_detail"),
    path("refunds/<int:pk>/documents/", views.refund_document_add, name="refund_document_add"),
    path("cancel/", views.public_cancel, name="public_cancel"),
    path("cancel/acknowledgement/<str:token>/", views.public_cancel_done,
         name="public_cancel_done"),
    path("activation-key/", views.activation_key, name="activation_key"),
    path("activation-key/sent/", views.activation_key_sent, name="activation_key_sent"),
    path("contact/", views.contact, name="contact"),
]
