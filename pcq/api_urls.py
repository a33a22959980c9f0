from django.urls import path

from pcq import api

urlpatterns = [
    path("datasets", api.DatasetCreate.as_view(), name="api-pcq-datasets"),
    path("jobs", api.JobList.as_view(), name="api-pcq-jobs"),
    path("jobs/<uuid:job_id>", api.JobDetail.as_view(), name="api-pcq-job"),
    path("pauses", api.PauseList.as_view(), name="api-pcq-pauses"),
    path("pauses/<uuid:pause_id>", api.PauseDetail.as_view(), name="api-pcq-pause"),
    path("canary", api.CanaryView.as_view(), name="api-pcq-canary"),
    path("canary/configs", api.CanaryConfigList.as_view(), name="api-pcq-canary-configs"),
    path("canary/regression", api.CanaryRegression.as_view(), name="api-pcq-canary-regression"),
    path("canary/verdicts", api.CanaryVerdictList.as_view(), name="api-pcq-canary-verdicts"),
    path("drills", api.DrillList.as_view(), name="api-pcq-drills"),
    path("drills/<uuid:drill_id>", api.DrillDetail.as_view(), name="api-pcq-drill"),
]
