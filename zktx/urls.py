from django.urls import path

from zktx import pages

app_name = "zktx"

urlpatterns = [
    path("", pages.console, name="home"),
    path("runs/<uuid:run_id>/", pages.run, name="run"),
    path("runs/<uuid:run_id>/export/", pages.run_export, name="run_export"),
    path("appeals/<uuid:appeal_id>/", pages.appeal, name="appeal"),
    path("appeals/<uuid:appeal_id>/<str:action>/", pages.appeal_action, name="appeal_action"),
    path("portal/", pages.portal, name="portal"),
    path("portal/queries/<uuid:query_pk>/", pages.portal_query, name="portal_query"),
    path("portal/queries/<uuid:query_pk>/appeal/", pages.portal_appeal, name="portal_appeal"),
    path("portal/appeals/<uuid:appeal_id>/consent/", pages.portal_consent, name="portal_consent"),
]
