"""Every route × every role, from one table.

A route missing from ROUTES fails ``test_every_route_is_in_the_table``: new routes cannot skip this.
Expectations are written out here, independently of ``accounts.roles``: the table is the oracle.
Denied callers get 404 if they are partners (no existence leak) and 403 if they are operator staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts import services

OPERATOR = {"admin", "policy_author", "policy_approver", "oncall", "compliance", "auditor"}
EVERYONE = OPERATOR | {"partner_user"}
ROLES = sorted(EVERYONE)
STUDIO = {"admin", "policy_author", "policy_approver"}
AUTHORS = {"admin", "policy_author"}
ZKTX = {"admin", "oncall", "partner_user"}
COMPLIANCE = {"admin", "compliance", "auditor"}
COMPLIANCE_EDIT = {"admin", "compliance"}


@dataclass
class Route:
    path: str  # may contain {token} or {org}
    allow: set[str]
    method: str = "get"
    anon: str = "login"  # login (302 to login) | 401 | ok | same (as everyone else)
    ok: int = 200
    data: dict = field(default_factory=dict)
    status_for: dict = field(default_factory=dict)  # role -> expected status where it differs from the rule


ROUTES: dict[str, Route] = {
    "home": Route("/", EVERYONE, ok=302),
    "healthz": Route("/healthz", EVERYONE, anon="ok"),
    "readyz": Route("/readyz", EVERYONE, anon="ok"),
    "metrics": Route("/metrics", EVERYONE, anon="ok"),
    "plotly-js": Route("/vendor/plotly.min.js", EVERYONE, anon="ok"),
    "plotly-js-pinned": Route("/vendor/plotly-{plotly}.min.js", EVERYONE, anon="ok"),
    "accounts:login": Route("/accounts/login/", EVERYONE, anon="ok", ok=302),
    "accounts:logout": Route("/accounts/logout/", EVERYONE, method="post", ok=302),
    "accounts:password_change": Route("/accounts/password/", EVERYONE),
    "accounts:tokens": Route("/accounts/tokens/", EVERYONE),
    "accounts:token_detail": Route("/accounts/tokens/{token}/", EVERYONE),
    "accounts:token_revoke": Route("/accounts/tokens/{token}/revoke/", EVERYONE, method="post", ok=302),
    "accounts:people": Route("/accounts/people/", {"admin"}),
    "accounts:notices": Route("/accounts/notices/", {"admin"}),
    "accounts:audit": Route("/accounts/audit/", {"admin", "compliance", "auditor"}),
    "portal:home": Route("/portal/", {"partner_user"}),
    "portal:org": Route("/portal/org/{org}/", {"partner_user"}),
    "studio:home": Route("/studio/", {"admin", "policy_author", "policy_approver"}),
    "pcq:home": Route("/pcq/", {"admin", "oncall"}),
    "oncall:home": Route("/oncall/", {"admin", "oncall"}),
    "zktx:home": Route("/zktx/", {"admin", "oncall"}),
    "zktx:run": Route("/zktx/runs/{zrun}/", {"admin", "oncall"}),
    "zktx:run_export": Route("/zktx/runs/{zrun}/export/", {"admin"}, method="post", ok=302),
    "zktx:appeal": Route("/zktx/appeals/{zappeal}/", {"admin", "oncall"}),
    "zktx:appeal_action": Route("/zktx/appeals/{zappeal}/reverify/", {"admin"}, method="post", ok=302),
    "zktx:portal": Route("/zktx/portal/", {"partner_user"}),
    "zktx:portal_query": Route("/zktx/portal/queries/{zquery}/", {"partner_user"}),
    "zktx:portal_appeal": Route("/zktx/portal/queries/{zquery}/appeal/", {"partner_user"}, method="post", ok=302),
    "zktx:portal_consent": Route("/zktx/portal/appeals/{zappeal}/consent/", {"partner_user"}, method="post", ok=302),
    "compliance:home": Route("/compliance/", {"admin", "compliance", "auditor"}),
    # compliance evidence workspace: auditors read, compliance staff (and admins) change; empty posts are refused (400)
    "compliance:frameworks_load": Route("/compliance/frameworks/load/", COMPLIANCE_EDIT, method="post", ok=302),
    "compliance:collect": Route("/compliance/collect/", COMPLIANCE_EDIT, method="post", ok=302),
    "compliance:notice_dismiss": Route("/compliance/notices/{cnotice}/dismiss/", COMPLIANCE, method="post", ok=302),
    "compliance:framework": Route("/compliance/frameworks/{cframework}/", COMPLIANCE),
    "compliance:control": Route("/compliance/controls/{ccontrol}/", COMPLIANCE),
    "compliance:control_edit": Route("/compliance/controls/{ccontrol}/edit/", COMPLIANCE_EDIT, method="post", ok=302),
    "compliance:control_link": Route("/compliance/controls/{ccontrol}/link/", COMPLIANCE_EDIT, method="post", ok=400),
    "compliance:control_unlink": Route("/compliance/controls/{ccontrol}/unlink/", COMPLIANCE_EDIT, method="post", ok=400),
    "compliance:control_upload": Route("/compliance/controls/{ccontrol}/upload/", COMPLIANCE_EDIT, method="post", ok=400),
    "compliance:control_runbook": Route("/compliance/controls/{ccontrol}/runbook/", COMPLIANCE_EDIT, method="post", ok=400),
    "compliance:evidence_list": Route("/compliance/evidence/", COMPLIANCE),
    "compliance:evidence": Route("/compliance/evidence/{cevidence}/", COMPLIANCE),
    "compliance:evidence_download": Route("/compliance/evidence/{cevidence}/download/", COMPLIANCE),
    "compliance:gaps": Route("/compliance/gaps/?framework=soc2&owner=none&due=30", COMPLIANCE),
    "compliance:gaps_refresh": Route("/compliance/gaps/refresh/", COMPLIANCE_EDIT, method="post", ok=302),
    "compliance:gap_update": Route("/compliance/gaps/{cgap}/", COMPLIANCE_EDIT, method="post", ok=302),
    "compliance:packets": Route("/compliance/packets/", COMPLIANCE),
    "compliance:packet_create": Route("/compliance/packets/new/", COMPLIANCE_EDIT, method="post", ok=400),
    "compliance:packet": Route("/compliance/packets/{cpacket}/", COMPLIANCE),
    "compliance:packet_export": Route("/compliance/packets/{cpacket}/export/", COMPLIANCE_EDIT, method="post", ok=302),
    "compliance:packet_download": Route("/compliance/packets/{cpacket}/download/", COMPLIANCE, ok=404),  # not exported yet
    "compliance:packet_verify": Route("/compliance/packets/{cpacket}/verify/", COMPLIANCE, ok=409),  # not exported yet
    "compliance:key": Route("/compliance/key/", COMPLIANCE),
    "witness:home": Route("/witness/", OPERATOR),
    "api-me": Route("/api/me/", EVERYONE, anon="401"),
    "api-orgs": Route("/api/orgs/", EVERYONE, anon="401"),
    "api-org-detail": Route("/api/orgs/{org}/", EVERYONE, anon="401"),
    "api-tokens": Route("/api/tokens/", EVERYONE, anon="401"),
    "api-token-detail": Route("/api/tokens/{token}/", EVERYONE, anon="401"),
    "api-notices": Route("/api/notices/", {"admin"}, method="post", anon="401", ok=202, data={"message": "matrix"}),
    "api-audit-events": Route("/api/audit-events/", {"admin", "compliance", "auditor"}, anon="401"),
    "api-schema": Route("/api/schema/", EVERYONE, anon="401"),
    "api-docs": Route("/api/docs/", EVERYONE, anon="401"),
    # witness: public read API (hashes only), explorer and payloads for operators
    "witness:entry": Route("/witness/entries/0/", OPERATOR),
    "witness:checkpoint": Route("/witness/checkpoint", EVERYONE, anon="ok"),
    "witness:key": Route("/witness/key", EVERYONE, anon="ok"),
    "witness:tile": Route("/witness/tile/0/000.p/1", EVERYONE, anon="ok"),
    "witness:add_cosignature": Route("/witness/add-cosignature", EVERYONE, method="post", anon="same", ok=400,
                                     data={"not": "a note"}),
    "api-witness-inclusion": Route("/api/witness/proofs/inclusion/?index=0", OPERATOR, anon="401"),
    "api-witness-consistency": Route("/api/witness/proofs/consistency/?first=0&second=1", OPERATOR, anon="401"),
    "api-witness-entry": Route("/api/witness/entries/0/", OPERATOR, anon="401"),
    "api-witness-checkpoints": Route("/api/witness/checkpoints/", OPERATOR, anon="401"),
    "api-witness-trust": Route("/api/witness/witnesses/", {"admin"}, method="post", anon="401", ok=400,
                               data={"verifier_key": "not-a-key"}),
    # on-call
    "oncall:incident": Route("/oncall/incidents/{incident}/", {"admin", "oncall"}),
    "oncall:incident_ack": Route("/oncall/incidents/{incident}/ack/", {"admin", "oncall"}, method="post", ok=302),
    "oncall:incident_resolve": Route("/oncall/incidents/{incident}/resolve/", {"admin", "oncall"}, method="post", ok=302),
    "oncall:incident_silence": Route("/oncall/incidents/{incident}/silence/", {"admin", "oncall"}, method="post", ok=302),
    "oncall:incident_triage": Route("/oncall/incidents/{incident}/triage/", {"admin", "oncall"}, method="post", ok=302),
    "oncall:ack_link": Route("/oncall/ack/{acklink}/", EVERYONE, anon="same"),  # the signed link is the credential
    "oncall:metrics": Route("/oncall/metrics/", {"admin", "oncall"}),
    "oncall:slos": Route("/oncall/slos/", {"admin", "oncall"}),
    "oncall:drills": Route("/oncall/drills/", {"admin", "oncall"}),
    "oncall:setup": Route("/oncall/setup/", {"admin", "oncall"}),
    # pcq
    "pcq:job": Route("/pcq/jobs/{job}/", {"admin", "oncall"}),
    "pcq:pause": Route("/pcq/pause/", {"admin", "oncall"}, method="post", ok=302),
    "pcq:resume": Route("/pcq/pauses/{pause}/resume/", {"admin", "oncall"}, method="post", ok=302),
    "api-pcq-pauses": Route("/api/pcq/pauses", {"admin", "oncall"}, anon="401"),
    "api-pcq-pause": Route("/api/pcq/pauses/{pause}", {"admin", "oncall"}, method="delete", anon="401", ok=204),
    "api-pcq-datasets": Route("/api/pcq/datasets", OPERATOR - {"auditor"}, method="post", anon="401", ok=201,
                              data={"edges": [[1, 2], [2, 3]]}),
    "api-pcq-jobs": Route("/api/pcq/jobs", OPERATOR - {"auditor"}, anon="401"),
    "api-pcq-job": Route("/api/pcq/jobs/{job}", {"admin", "oncall"}, anon="401",
                         # producers without pcq.view may only read their own jobs: someone else's is 404
                         status_for={"policy_author": 404, "policy_approver": 404, "compliance": 404}),
    # pcq canary and drills (an unknown id: viewers get 404 after the capability check, other staff 403)
    "pcq:canary_regression": Route("/pcq/canary/regression/", {"admin", "oncall"}, method="post", ok=302),
    "pcq:canary_config": Route("/pcq/canary/configs/", {"admin", "oncall"}, method="post", ok=302),
    "pcq:canary_verdict": Route("/pcq/canary/verdicts/00000000-0000-4000-8000-000000000000/", {"admin", "oncall"}, ok=404),
    "pcq:drill_start": Route("/pcq/drills/", {"admin", "oncall"}, method="post", ok=302),
    "pcq:drill": Route("/pcq/drills/00000000-0000-4000-8000-000000000000/", {"admin", "oncall"}, ok=404),
    "api-pcq-canary": Route("/api/pcq/canary", {"admin", "oncall"}, anon="401"),
    "api-pcq-canary-configs": Route("/api/pcq/canary/configs", {"admin", "oncall"}, method="post", anon="401", ok=201,
                                    data={"name": "matrix", "version": "m1", "activate": False}),
    "api-pcq-canary-regression": Route("/api/pcq/canary/regression", {"admin", "oncall"}, method="post", anon="401",
                                       data={"regression": "none", "reason": "matrix"}),
    "api-pcq-canary-verdicts": Route("/api/pcq/canary/verdicts", {"admin", "oncall"}, anon="401"),
    "api-pcq-drills": Route("/api/pcq/drills", {"admin", "oncall"}, anon="401"),
    "api-pcq-drill": Route("/api/pcq/drills/00000000-0000-4000-8000-000000000000", {"admin", "oncall"}, anon="401", ok=404),
    # studio (LAC decisions and just-in-time approvals)
    "studio:decisions": Route("/studio/decisions/", {"admin", "policy_author", "policy_approver"}),
    "studio:approvals": Route("/studio/approvals/", {"admin", "policy_author", "policy_approver"}),
    "studio:approval_vote": Route("/studio/approvals/{approval}/vote/", {"admin", "policy_approver"}, method="post", ok=302),
    # studio registry: drafts, change requests, environments, drift
    "studio:policies": Route("/studio/policies/?q=intel", STUDIO),
    "studio:draft_new": Route("/studio/drafts/new/", AUTHORS, method="post", ok=302),
    "studio:draft": Route("/studio/drafts/{draft}/", AUTHORS),
    "studio:draft_save": Route("/studio/drafts/{draft}/save/", AUTHORS, method="post"),
    "studio:draft_file": Route("/studio/drafts/{draft}/file/", AUTHORS, method="post", ok=302),
    "studio:draft_lint": Route("/studio/drafts/{draft}/lint/", AUTHORS, method="post"),
    "studio:draft_format": Route("/studio/drafts/{draft}/format/", AUTHORS, method="post"),
    "studio:draft_preview": Route("/studio/drafts/{draft}/preview/", AUTHORS, method="post"),
    "studio:draft_messages": Route("/studio/drafts/{draft}/messages/", AUTHORS),
    "studio:draft_simulate": Route("/studio/drafts/{draft}/simulate/", AUTHORS, method="post", ok=302),
    "studio:change_submit": Route("/studio/drafts/{draft}/submit/", AUTHORS, method="post", ok=302),
    "studio:simulation": Route("/studio/simulations/{simulation}/", STUDIO),
    "studio:simulation_csv": Route("/studio/simulations/{simulation}/changes.csv", STUDIO),
    "studio:changes": Route("/studio/changes/", STUDIO),
    "studio:change": Route("/studio/changes/{change}/", STUDIO),
    "studio:change_action": Route("/studio/changes/{change}/comment/", STUDIO, method="post", ok=302),
    "studio:environment": Route("/studio/environments/prod/", STUDIO),
    "studio:environment_action": Route("/studio/environments/prod/rollback/", {"admin", "policy_approver"}, method="post", ok=302),
    "studio:remediate": Route("/studio/environments/prod/remediate/", STUDIO, method="post", ok=302),
    "studio:drift": Route("/studio/drift/", STUDIO),
    "studio:coverage": Route("/studio/coverage/", STUDIO),
    "api-lac-bundle": Route("/api/lac/bundles/prod", OPERATOR - {"auditor"}, anon="401"),
    "api-lac-status": Route("/api/lac/status", OPERATOR - {"auditor"}, method="post", anon="401", ok=400,
                            data={"point_id": "matrix", "environment": "prod", "digest": "md5:x"}),
    "api-lac-promote": Route("/api/lac/environments/prod/promote", {"admin", "policy_approver"}, method="post", anon="401",
                             ok=409, data={"note": "matrix"}),  # 409: stage and prod run the same bundle
    "api-lac-rollback": Route("/api/lac/environments/prod/rollback", {"admin", "policy_approver"}, method="post", anon="401",
                              ok=409, data={"reason": "matrix"}),  # 409: nothing ran before
    "api-lac-drift": Route("/api/lac/environments/prod/drift", STUDIO, anon="401"),
    "api-lac-decide": Route("/api/lac/decide", OPERATOR - {"auditor"}, method="post", anon="401", ok=400,
                            data={"environment": "prod", "request": {"subject": {}}}),
    "api-lac-decide-batch": Route("/api/lac/decide/batch", OPERATOR - {"auditor"}, method="post", anon="401", ok=400,
                                  data={"environment": "prod", "items": []}),
    "api-lac-approvals": Route("/api/lac/approvals/", {"admin", "policy_author", "policy_approver"}, anon="401"),
    "api-lac-approval-vote": Route("/api/lac/approvals/{approval}/vote", {"admin", "policy_approver"}, method="post",
                                   anon="401", data={"approve": False}),
    "api-oncall-alerts": Route("/api/oncall/alerts/", {"admin", "oncall"}, method="post", anon="401", ok=202,
                               data={"source": "matrix", "severity": "info", "summary": "matrix"}),
    "api-oncall-incidents": Route("/api/oncall/incidents/", {"admin", "oncall"}, anon="401"),
    "api-oncall-incident": Route("/api/oncall/incidents/{incident}/", {"admin", "oncall"}, anon="401"),
    "api-oncall-ack": Route("/api/oncall/incidents/{incident}/ack/", {"admin", "oncall"}, method="post", anon="401"),
    "api-oncall-resolve": Route("/api/oncall/incidents/{incident}/resolve/", {"admin", "oncall"}, method="post", anon="401",
                                data={"triage": "false_alarm"}),
    "api-oncall-silence": Route("/api/oncall/incidents/{incident}/silence/", {"admin", "oncall"}, method="post", anon="401",
                                data={"minutes": 5, "reason": "matrix"}),
    "api-oncall-metrics": Route("/api/oncall/metrics/", {"admin", "oncall"}, anon="401"),
    "api-oncall-slos": Route("/api/oncall/slos/", {"admin", "oncall"}, anon="401"),
    # zktx: partners (portal) act on their own pilots (the {zpilot}: partner-b holds, partner-a queries);
    # the console (admin, oncall) reads everything; only admins operate. Empty posts are refused (400);
    # 409 where the object is not in the state the action needs; 403 where the caller has the wrong role.
    "api-zktx-exchange": Route("/api/zktx/exchange", ZKTX, anon="401"),
    "api-zktx-keys": Route("/api/zktx/keys", ZKTX, anon="401"),
    "api-zktx-pilots": Route("/api/zktx/pilots", ZKTX, anon="401"),
    "api-zktx-pilot": Route("/api/zktx/pilots/{zpilot}", ZKTX, anon="401"),
    "api-zktx-pilot-epochs": Route("/api/zktx/pilots/{zpilot}/epochs", ZKTX, anon="401"),
    "api-zktx-runs": Route("/api/zktx/runs", ZKTX, anon="401"),
    "api-zktx-run": Route("/api/zktx/runs/{zrun}", ZKTX, anon="401"),
    "api-zktx-run-bundles": Route("/api/zktx/runs/{zrun}/bundles", {"admin"}, method="post", anon="401", ok=409),  # no keys yet
    "api-zktx-epoch": Route("/api/zktx/epochs/{zepoch}", ZKTX, anon="401"),
    "api-zktx-epoch-join": Route("/api/zktx/epochs/{zepoch}/join", {"partner_user"}, method="post", anon="401", ok=400,
                                  data={"matrix": 1}),
    "api-zktx-epoch-sign": Route("/api/zktx/epochs/{zepoch}/sign", {"partner_user"}, method="post", anon="401", ok=400,
                                  data={"matrix": 1}),
    "api-zktx-epoch-holder-set": Route("/api/zktx/epochs/{zepoch}/holder-set", ZKTX, anon="401", ok=409),  # not uploaded
    "api-zktx-epoch-evaluation": Route("/api/zktx/epochs/{zepoch}/evaluation", {"partner_user"}, method="post",
                                       anon="401", ok=409, data={"matrix": 1}),  # the epoch still waits for keys
    "api-zktx-epoch-transcript": Route("/api/zktx/epochs/{zepoch}/transcript", {"admin", "oncall"}, anon="401", ok=409),
    "api-zktx-pending": Route("/api/zktx/evaluations/pending", {"partner_user"}, anon="401"),
    "api-zktx-queries": Route("/api/zktx/queries", ZKTX, anon="401"),
    "api-zktx-query": Route("/api/zktx/queries/{zquery}", ZKTX, anon="401"),
    "api-zktx-query-evaluation": Route("/api/zktx/queries/{zquery}/evaluation", {"partner_user"}, method="post",
                                       anon="401", ok=403, data={"matrix": 1}),  # the querier never evaluates its own query
    "api-zktx-query-verdict": Route("/api/zktx/queries/{zquery}/verdict", ZKTX, anon="401"),
    "api-zktx-query-transcript": Route("/api/zktx/queries/{zquery}/transcript", {"admin", "oncall"}, anon="401",
                                       ok=404),  # none yet; partners never get one
    "api-zktx-quotas": Route("/api/zktx/quotas", ZKTX, anon="401"),
    "api-zktx-appeals": Route("/api/zktx/appeals", ZKTX, anon="401"),
    "api-zktx-appeal": Route("/api/zktx/appeals/{zappeal}", ZKTX, anon="401"),
    "api-zktx-appeal-consent": Route("/api/zktx/appeals/{zappeal}/consent", {"partner_user"}, method="post", anon="401"),
    "api-zktx-appeal-reverify": Route("/api/zktx/appeals/{zappeal}/reverify", {"admin"}, method="post", anon="401",
                                      ok=409),  # the epoch was never committed
    "api-zktx-appeal-rerun": Route("/api/zktx/appeals/{zappeal}/rerun", {"admin"}, method="post", anon="401",
                                   ok=409),  # no consent yet
    "api-zktx-appeal-resolve": Route("/api/zktx/appeals/{zappeal}/resolve", {"admin"}, method="post", anon="401", ok=400,
                                     data={"matrix": 1}),
    "api-zktx-bundles": Route("/api/zktx/bundles", ZKTX, anon="401"),
    "api-zktx-bundle": Route("/api/zktx/bundles/{zbundle}", ZKTX, anon="401"),
    "api-zktx-bundle-core": Route("/api/zktx/bundles/{zbundle}/core", ZKTX, anon="401", ok=409),  # still drafting
    "api-zktx-bundle-acceptance": Route("/api/zktx/bundles/{zbundle}/acceptance", {"partner_user"}, method="post",
                                        anon="401", ok=400, data={"matrix": 1}),
    "api-zktx-bundle-download": Route("/api/zktx/bundles/{zbundle}/download", {"admin", "oncall"}, anon="401",
                                      ok=409),  # not sealed; partners never download (full transcripts)
}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            yield f"{prefix}{p.name}" if p.name else f"<unnamed {p.pattern}>"


def test_every_route_is_in_the_table():
    names = set(_walk(get_resolver().url_patterns))
    missing = sorted(names - set(ROUTES))
    stale = sorted(set(ROUTES) - names)
    assert not missing, f"routes without permission expectations: {missing}"
    assert not stale, f"table rows for routes that no longer exist: {stale}"


def _fill(route: Route, user, world) -> str:
    from trustfabric.views import plotly_digest

    path = route.path
    if "{token}" in path:
        owner = user or world.partner_b_user  # anonymous callers aim at somebody's real token
        token, _ = services.api_token_create(actor=owner, user=owner, name="matrix")
        path = path.replace("{token}", str(token.pk))
    if "{org}" in path:
        org = user.memberships.first().organization if user else world.partner_a
        path = path.replace("{org}", str(org.pk))
    if "/witness/" in path:
        from witness import services as witness_services

        witness_services.statement_append(stype="build", body={"commit": "ab" * 20, "artifacts": []},
                                          service="builds", wait=True)
    if "{pause}" in path:
        from pcq import services as pcq_services

        path = path.replace("{pause}", str(pcq_services.pause(actor="matrix", scope="*", reason="matrix").pk))
    if "{job}" in path:
        from pcq.models import Job

        job = Job.objects.create(job_id="matrix", kind="pagerank", tenant="t", manifest={}, manifest_digest="sha256:" + "0" * 64,
                                 output_digest="sha256:" + "1" * 64, submitted_at=__import__("django.utils.timezone").utils.timezone.now())
        path = path.replace("{job}", str(job.pk))
    if "{approval}" in path:
        from datetime import timedelta

        from django.utils import timezone

        from studio.models import ApprovalRequest

        ar = ApprovalRequest.objects.create(
            created_at=timezone.now(), expires_at=timezone.now() + timedelta(hours=1), environment="prod",
            policy_ids=["p"], approvers_required=1, grant_seconds=3600, subject_id="someone-else", summary="matrix",
            reason_for_access="matrix")
        path = path.replace("{approval}", str(ar.pk))
    if "{draft}" in path or "{simulation}" in path or "{change}" in path:
        from studio import services as studio_services
        from studio.models import ChangeRequest, Simulation

        draft = studio_services.draft_create(actor=world.users["policy_author"], environment_name="dev", title="matrix")
        path = path.replace("{draft}", str(draft.pk))
        if "{simulation}" in path:
            sim = Simulation.objects.create(draft=draft, candidate={}, candidate_digest="sha256:" + "0" * 64, environment="prod",
                                            baseline_digest=draft.base_bundle.digest, period_start=draft.created_at,
                                            period_end=draft.created_at)
            path = path.replace("{simulation}", str(sim.pk))
        if "{change}" in path:
            cr = ChangeRequest.objects.create(title="matrix", author=world.users["policy_author"], base_bundle=draft.base_bundle,
                                              bundle=draft.base_bundle)
            path = path.replace("{change}", str(cr.pk))
    if "{incident}" in path or "{acklink}" in path:
        from oncall import services as oncall_services

        inc = oncall_services.raise_alert(source="matrix", severity="info", summary="matrix incident")
        path = path.replace("{incident}", str(inc.pk))
        if "{acklink}" in path:
            url = oncall_services.ack_link_create(incident=inc, user=world.users["oncall"])
            path = path.replace("{acklink}", url.rstrip("/").rsplit("/", 1)[1])
    if any(f"{{{k}}}" in path for k in ("cframework", "ccontrol", "cgap", "cpacket", "cevidence", "cnotice")):
        from django.utils import timezone

        from compliance import services as compliance_services
        from compliance.models import Framework, Gap, OwnerNotice

        compliance_services.frameworks_load(actor="matrix")
        fw = Framework.objects.get(key="soc2", is_current=True)
        ctl = fw.controls.get(ref="CC8.1")
        path = path.replace("{cframework}", str(fw.pk)).replace("{ccontrol}", str(ctl.pk))
        if "{cgap}" in path:
            compliance_services.gaps_refresh(actor="matrix")
            path = path.replace("{cgap}", str(Gap.objects.get(control=ctl, status="open").pk))
        if "{cpacket}" in path:
            today = timezone.now().date()
            packet = compliance_services.packet_create(actor="matrix", framework=fw, period_start=today, period_end=today)
            path = path.replace("{cpacket}", str(packet.pk))
        if "{cevidence}" in path:
            ev = compliance_services.runbook_link_create(actor="matrix", url="https://runbooks.example/matrix", title="matrix")
            path = path.replace("{cevidence}", str(ev.pk))
        if "{cnotice}" in path:
            owner = user or world.users["compliance"]  # anonymous callers aim at somebody's real notice
            notice = OwnerNotice.objects.create(user=owner, message="matrix", created_at=timezone.now())
            path = path.replace("{cnotice}", str(notice.pk))
    if any(f"{{{k}}}" in path for k in ("zpilot", "zrun", "zepoch", "zquery", "zappeal", "zbundle")):
        from datetime import timedelta

        from django.utils import timezone

        from zktx.models import Appeal, AuditBundle, Epoch, Pilot, PilotRun, Query

        now = timezone.now()
        pilot = Pilot.objects.create(name="matrix", holder=world.partner_b, querier=world.partner_a, k=3, created_at=now)
        run = PilotRun.objects.create(label="matrix-run", name="matrix", started_at=now)
        run.pilots.add(pilot)
        epoch = Epoch.objects.create(pilot=pilot, run=run, number=1, session_id="zs-matrix", policy=pilot.policy_json(),
                                     created_at=now)
        query = Query.objects.create(pilot=pilot, epoch=epoch, run=run, tenant=world.partner_a, query_id="matrix", size=16,
                                     cost=16.0, request={}, vstart=0.0, vfinish=16.0, submitted_at=now)
        appeal = Appeal.objects.create(query=query, organization=world.partner_a, reason="matrix", filed_at=now,
                                       sla_due_at=now + timedelta(hours=24))
        bundle = AuditBundle.objects.create(run=run, created_at=now)
        for key, obj in (("zpilot", pilot), ("zrun", run), ("zepoch", epoch), ("zquery", query), ("zappeal", appeal),
                         ("zbundle", bundle)):
            path = path.replace(f"{{{key}}}", str(obj.pk))
    return path.replace("{plotly}", plotly_digest())


@pytest.mark.parametrize("name", sorted(ROUTES))
@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_route_for_role(world, client, name, role):
    route = ROUTES[name]
    user = world.users.get(role)
    if user is not None:
        client.force_login(user)
    path = _fill(route, user, world)
    call = getattr(client, route.method)
    response = call(path, data=route.data, content_type="application/json") if route.data else call(path)
    got = response.status_code
    if role == "anonymous":
        if route.anon == "same":
            assert got == route.ok, got
        elif route.anon == "ok":
            assert got in (200, 302, 304) and "/accounts/login/" not in response.get("Location", ""), got
        elif route.anon == "401":
            assert got == 401, got
        else:
            assert got == 302 and response["Location"].startswith("/accounts/login/"), (got, response.get("Location"))
        return
    if role in route.status_for:
        assert got == route.status_for[role], f"{role} on {name}: expected {route.status_for[role]}, got {got}"
    elif role in route.allow:
        assert got == route.ok, f"{role} on {name}: expected {route.ok}, got {got}"
    elif role == "partner_user":
        assert got == 404, f"partner on {name}: expected 404, got {got}"
    else:
        assert got == 403, f"{role} on {name}: expected 403, got {got}"
