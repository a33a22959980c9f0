from django.urls import path

from studio import views, views_coverage

app_name = "studio"

urlpatterns = [
    path("", views.home, name="home"),
    path("policies/", views.policies, name="policies"),
    path("decisions/", views.decisions, name="decisions"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<uuid:approval_id>/vote/", views.approval_vote, name="approval_vote"),
    path("drafts/new/", views.draft_new, name="draft_new"),
    path("drafts/<uuid:draft_id>/", views.draft, name="draft"),
    path("drafts/<uuid:draft_id>/save/", views.draft_save, name="draft_save"),
    path("drafts/<uuid:draft_id>/file/", views.draft_file, name="draft_file"),
    path("drafts/<uuid:draft_id>/lint/", views.draft_lint, name="draft_lint"),
    path("drafts/<uuid:draft_id>/format/", views.draft_format, name="draft_format"),
    path("drafts/<uuid:draft_id>/preview/", views.draft_preview, name="draft_preview"),
    path("drafts/<uuid:draft_id>/messages/", views.draft_messages, name="draft_messages"),
    path("drafts/<uuid:draft_id>/simulate/", views.draft_simulate, name="draft_simulate"),
    path("drafts/<uuid:draft_id>/submit/", views.change_submit, name="change_submit"),
    path("simulations/<uuid:simulation_id>/", views.simulation, name="simulation"),
    path("simulations/<uuid:simulation_id>/changes.csv", views.simulation_csv, name="simulation_csv"),
    path("changes/", views.changes, name="changes"),
    path("changes/<int:change_id>/", views.change, name="change"),
    path("changes/<int:change_id>/<str:action>/", views.change_action, name="change_action"),
    path("environments/<str:name>/", views.environment_page, name="environment"),
    path("environments/<str:name>/remediate/", views.remediate, name="remediate"),
    path("environments/<str:name>/<str:action>/", views.environment_action, name="environment_action"),
    path("drift/", views.drift, name="drift"),
    path("coverage/", views_coverage.coverage, name="coverage"),
]
