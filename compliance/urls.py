from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.home, name="home"),
    path("frameworks/load/", views.frameworks_load, name="frameworks_load"),
    path("collect/", views.collect, name="collect"),
    path("notices/<uuid:notice_id>/dismiss/", views.notice_dismiss, name="notice_dismiss"),
    path("frameworks/<uuid:framework_id>/", views.framework, name="framework"),
    path("controls/<uuid:control_id>/", views.control, name="control"),
    path("controls/<uuid:control_id>/edit/", views.control_edit, name="control_edit"),
    path("controls/<uuid:control_id>/link/", views.control_link, name="control_link"),
    path("controls/<uuid:control_id>/unlink/", views.control_unlink, name="control_unlink"),
    path("controls/<uuid:control_id>/upload/", views.control_upload, name="control_upload"),
    path("controls/<uuid:control_id>/runbook/", views.control_runbook, name="control_runbook"),
    path("evidence/", views.evidence_list, name="evidence_list"),
    path("evidence/<uuid:evidence_id>/", views.evidence, name="evidence"),
    path("evidence/<uuid:evidence_id>/download/", views.evidence_download, name="evidence_download"),
    path("gaps/", views.gaps, name="gaps"),
    path("gaps/refresh/", views.gaps_refresh, name="gaps_refresh"),
    path("gaps/<uuid:gap_id>/", views.gap_update, name="gap_update"),
    path("packets/", views.packets, name="packets"),
    path("packets/new/", views.packet_create, name="packet_create"),
    path("packets/<uuid:packet_id>/", views.packet, name="packet"),
    path("packets/<uuid:packet_id>/export/", views.packet_export, name="packet_export"),
    path("packets/<uuid:packet_id>/download/", views.packet_download, name="packet_download"),
    path("packets/<uuid:packet_id>/verify/", views.packet_verify, name="packet_verify"),
    path("key/", views.signing_key, name="key"),
]
