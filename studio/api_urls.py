from django.urls import path

from studio import api

urlpatterns = [
    path("decide", api.DecideView.as_view(), name="api-lac-decide"),
    path("decide/batch", api.DecideBatchView.as_view(), name="api-lac-decide-batch"),
    path("approvals/", api.ApprovalList.as_view(), name="api-lac-approvals"),
    path("approvals/<uuid:approval_id>/vote", api.ApprovalVoteView.as_view(), name="api-lac-approval-vote"),
    path("bundles/<str:name>", api.BundleView.as_view(), name="api-lac-bundle"),
    path("status", api.StatusView.as_view(), name="api-lac-status"),
    path("environments/<str:name>/promote", api.PromoteView.as_view(), name="api-lac-promote"),
    path("environments/<str:name>/rollback", api.RollbackView.as_view(), name="api-lac-rollback"),
    path("environments/<str:name>/drift", api.DriftView.as_view(), name="api-lac-drift"),
]
