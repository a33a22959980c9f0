from django.urls import path

from pcq import views

app_name = "pcq"

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/<uuid:job_id>/", views.job, name="job"),
    path("pause/", views.pause, name="pause"),
    path("pauses/<uuid:pause_id>/resume/", views.resume, name="resume"),
    path("canary/regression/", views.canary_regression, name="canary_regression"),
    path("canary/configs/", views.canary_config, name="canary_config"),
    path("canary/verdicts/<uuid:verdict_id>/", views.canary_verdict, name="canary_verdict"),
    path("drills/", views.drill_start, name="drill_start"),
    path("drills/<uuid:drill_id>/", views.drill, name="drill"),
]
