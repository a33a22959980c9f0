"""The decide API and its service: environments, decision log, reasons for access, minimization,
monitor mode, just-in-time approvals and grants, and bad input."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import AuditEvent
from studio import services
from studio.lac.samples import WARRANT, sample_request
from studio.models import ApprovalRequest, DecisionRecord, Environment, Grant
from trustfabric.errors import ServiceError

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # the sample warrant is valid until 2025-04-01


def graph_query(**kw):
    return sample_request(authority=WARRANT, graph={"edges": [["s1", "s2"], ["s2", "s3"]], "seeds": ["s1"]},
                          context={"purpose": "investigation", "reason_for_access": "case 4711"}, **kw)


def export_request():
    return sample_request(action="export", domain="finance.transactions", data_class="P1", roles=["fraud_analyst"],
                          context={"purpose": "fraud_review", "reason_for_access": "case", "ticket": "FR-88"})


def test_environments_are_bootstrapped_with_the_default_pack():
    env = services.environment("prod")
    assert {e.name for e in Environment.objects.all()} == {"dev", "stage", "prod"}
    assert env.bundle.digest.startswith("sha256:") and env.bundle.checks["errors"] == 0


def test_permit_with_minimization_is_logged_with_the_bundle_digest(world):
    out = services.decide(environment_name="prod", request=graph_query(), caller=world.users["oncall"], now=NOW,
                          rows=[{"msisdn": "+491701234567", "selector": "x"}], locale="fr")
    assert out["effect"] == "permit" and out["enforced"] is True
    assert out["rows"] == [{"msisdn": "*********4567", "selector": "x"}]
    assert out["reason"]["rendered_locale"] == "fr"
    rec = DecisionRecord.objects.get(pk=out["decision_id"])
    assert rec.bundle_digest == services.environment("prod").bundle.digest
    assert rec.effect == "permit" and rec.reason_for_access == "case 4711" and rec.caller == world.users["oncall"]
    assert "grants" not in rec.request


def test_sensitive_scopes_need_a_reason_for_access():
    req = graph_query()
    del req["context"]["reason_for_access"]
    with pytest.raises(ServiceError) as err:
        services.decide(environment_name="prod", request=req, now=NOW)
    assert err.value.code == "reason_for_access_required"
    assert not DecisionRecord.objects.exists()
    out = services.decide(environment_name="prod", request=req, reason_for_access="case 9", now=NOW)
    assert DecisionRecord.objects.get(pk=out["decision_id"]).reason_for_access == "case 9"


def test_the_server_clock_decides_expiry_not_the_caller():
    req = graph_query()
    req["context"]["time"] = "2025-03-01T00:00:00Z"  # a caller trying to look earlier than it is
    later = NOW + timedelta(days=60)  # the warrant expired on 2025-04-01
    assert services.decide(environment_name="prod", request=req, now=later)["effect"] == "deny"


def test_monitor_mode_decides_and_logs_but_does_not_bind():
    services.environment("dev")
    Environment.objects.filter(name="dev").update(modes={"intel.graph": "monitor"})
    services.clear_caches()  # as if ENV_CACHE_SECONDS had passed
    req = graph_query(subject={"mfa": False})
    out = services.decide(environment_name="dev", request=req, now=NOW)
    assert out["effect"] == "forbid" and out["mode"] == "monitor" and out["enforced"] is False
    assert DecisionRecord.objects.get(pk=out["decision_id"]).mode == "monitor"


@pytest.mark.parametrize("request_,code", [
    ("not an object", "request_not_object"),
    ({"subject": {}}, "request_incomplete"),
    ({"subject": {}, "action": "query", "resource": {"domain": 5}, "context": {}}, "request_bad_resource"),
])
def test_bad_requests_get_stable_codes_and_nothing_is_logged(request_, code):
    with pytest.raises(ServiceError) as err:
        services.decide(environment_name="prod", request=request_, now=NOW)
    assert err.value.code == code
    assert not DecisionRecord.objects.exists()


def test_unknown_environment():
    with pytest.raises(ServiceError) as err:
        services.decide(environment_name="qa", request=graph_query(), now=NOW)
    assert err.value.code == "environment_unknown" and err.value.status == 404


def test_unknown_domain_is_a_deny_not_an_error():
    req = sample_request(domain="weather.forecasts", data_class="P3")
    out = services.decide(environment_name="prod", request=req, now=NOW)
    assert out["effect"] == "deny"


def test_batch_decides_and_logs_every_item():
    items = [{"request": graph_query(), "locale": loc} for loc in ("en", "es", "fr")] * 10
    out = services.decide_batch(environment_name="prod", items=items, now=NOW)
    assert len(out) == 30 and {o["effect"] for o in out} == {"permit"}
    assert DecisionRecord.objects.count() == 30
    with pytest.raises(ServiceError) as err:
        services.decide_batch(environment_name="prod", items=[{"request": graph_query()}, {"request": 5}], now=NOW)
    assert err.value.code == "request_not_object" and "Item 1" in err.value.message
    assert DecisionRecord.objects.count() == 30  # nothing half-written


def test_jit_approval_then_grant_then_permit(world):
    out = services.decide(environment_name="prod", request=export_request(), caller=world.users["oncall"], now=NOW)
    assert out["effect"] == "require_approval"
    ar = ApprovalRequest.objects.get(pk=out["approval_request"])
    assert ar.approvers_required == 1 and ar.subject_id == "u-1042" and ar.reason_for_access == "case"
    # the same request again while pending does not open a second request
    again = services.decide(environment_name="prod", request=export_request(), now=NOW)
    assert again["approval_request"] == str(ar.pk)
    for role in ("policy_author", "oncall"):
        with pytest.raises(ServiceError) as err:
            services.approval_vote(actor=world.users[role], request=ar, approve=True, now=NOW)
        assert err.value.code == "approval_forbidden"
    services.approval_vote(actor=world.users["policy_approver"], request=ar, approve=True, comment="fraud case", now=NOW)
    ar.refresh_from_db()
    assert ar.status == "approved"
    grant = Grant.objects.get(request=ar)
    assert grant.expires_at - grant.granted_at == timedelta(seconds=ar.grant_seconds)
    assert services.decide(environment_name="prod", request=export_request(), now=NOW + timedelta(minutes=5))["effect"] == "permit"
    # after the grant expires, approval is needed again
    after = NOW + timedelta(seconds=ar.grant_seconds + 1)
    assert services.decide(environment_name="prod", request=export_request(), now=after)["effect"] == "require_approval"
    actions = set(AuditEvent.objects.filter(object_id__in=[str(ar.pk), str(grant.pk)]).values_list("action", flat=True))
    assert actions == {"studio.approval.open", "studio.approval.vote", "studio.grant.issue"}


def test_requester_cannot_approve_own_request(world):
    out = services.decide(environment_name="prod", request=export_request(), caller=world.users["policy_approver"], now=NOW)
    ar = ApprovalRequest.objects.get(pk=out["approval_request"])
    with pytest.raises(ServiceError) as err:
        services.approval_vote(actor=world.users["policy_approver"], request=ar, approve=True, now=NOW)
    assert err.value.code == "approval_self"


def test_expired_requests_cannot_be_approved(world):
    out = services.decide(environment_name="prod", request=export_request(), caller=world.users["oncall"], now=NOW)
    ar = ApprovalRequest.objects.get(pk=out["approval_request"])
    with pytest.raises(ServiceError) as err:
        services.approval_vote(actor=world.users["policy_approver"], request=ar, approve=True, now=NOW + timedelta(days=2))
    assert err.value.code == "approval_closed"
    ar.refresh_from_db()
    assert ar.status == "expired"


def test_decide_api_http(world, client):
    from accounts import services as acc

    _t, token = acc.api_token_create(actor=world.users["oncall"], user=world.users["oncall"], name="pep")
    h = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    req = sample_request(domain="ops.telemetry", data_class="P3", roles=["sre"], context={"purpose": "operations"})
    r = client.post("/api/lac/decide", {"environment": "prod", "request": req, "locale": "es"}, content_type="application/json", **h)
    assert r.status_code == 200, r.content
    assert r.json()["environment"] == "prod" and "trace" in r.json()
    r = client.post("/api/lac/decide", {"environment": "prod", "request": graph_query() | {"context": {}}}, content_type="application/json", **h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_for_access_required"
    r = client.post("/api/lac/decide", {"environment": "nope", "request": {}}, content_type="application/json", **h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = client.post("/api/lac/decide/batch", {"environment": "prod", "items": [{"request": req}] * 3}, content_type="application/json", **h)
    assert r.status_code == 200 and len(r.json()["decisions"]) == 3
    _t, ptoken = acc.api_token_create(actor=world.users["partner_user"], user=world.users["partner_user"], name="p")
    r = client.post("/api/lac/decide", {"environment": "prod", "request": req}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {ptoken}")
    assert r.status_code == 404


def test_a_nul_character_is_refused_with_a_clear_code_and_nothing_is_logged():
    req = graph_query()
    req["subject"]["id"] = "u-1\x00; DROP"
    with pytest.raises(ServiceError) as err:
        services.decide(environment_name="prod", request=req, now=NOW)
    assert err.value.code == "request_nul_character"
    assert not DecisionRecord.objects.exists()
