"""The agent desk at /desk/ (staff only: a StaffProfile, agent or operator)."""

from django.contrib.auth.views import LogoutView
from django.urls import include, path

from . import views

app_name = "desk"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.DeskLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="desk:login"), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/approve/", views.request_approve, name="request_approve"),
    path("requests/<int:request_id>/deny/", views.request_deny, name="request_deny"),
    path("requests/<int:request_id>/ask-info/", views.request_ask_info,
         name="request_ask_info"),
    path("requests/<int:request_id>/troubleshooting-resolved/",
         views.request_troubleshooting_resolve, name="request_troubleshooting_resolve"),
    path("requests/<int:request_id>/assign/", views.request_assign, name="request_assign"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:ticket_id>/note/", views.ticket_note, name="ticket_note"),
    path("tickets/<int:ticket_id>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:ticket_id>/status/", views.ticket_status, name="ticket_status"),
    path("inbound/", views.inbound_list, name="inbound"),
    path("inbound/<int:inbound_id>/attach/", views.inbound_attach, name="inbound_attach"),
    path("inbound/<int:inbound_id>/dismiss/", views.inbound_dismiss, name="inbound_dismiss"),
]
