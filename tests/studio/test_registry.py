"""The registry: drafts, change requests with reviews, merges, promotions with gates, rollback,
bundle distribution and status, drift detection and remediation, the diff simulator."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from accounts.models import AuditEvent
from studio import services
from studio.lac import Bundle
from studio.lac.samples import WARRANT, sample_request
from studio.models import ChangeRequest, DecisionPoint, Deployment, Draft, PolicyBundle, Simulation
from tests.conftest import PASSWORD
from trustfabric.errors import ServiceError
from witness.models import Entry

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
OLD = "obligations mask(msisdn, last4)"
NEW = "obligations mask(msisdn, last4), drop(name)"


@pytest.fixture
def people(world):
    second = accounts.user_create(actor="tests", organization=world.operator, username="u_approver2", password=PASSWORD,
                                  roles=["policy_approver"])
    return {"author": world.users["policy_author"], "approver": world.users["policy_approver"], "approver2": second,
            "oncall": world.users["oncall"], "partner": world.users["partner_user"]}


def graph_query():
    return sample_request(authority=WARRANT, graph={"edges": [["s1", "s2"], ["s2", "s3"]], "seeds": ["s1"]},
                          context={"purpose": "investigation", "reason_for_access": "case 4711"})


def edited_draft(author, old=OLD, new=NEW):
    d = services.draft_create(actor=author, environment_name="dev", title="Drop names")
    text = d.sources["intel.graph.lac"]
    assert old in text
    return services.draft_save(actor=author, draft=d, file="intel.graph.lac", source=text.replace(old, new, 1))


def merged_change(people):
    d = edited_draft(people["author"])
    cr = services.change_submit(actor=people["author"], draft=d, title="Drop names from graph results")
    services.change_review(actor=people["approver"], change=cr, approve=True)
    services.change_review(actor=people["approver2"], change=cr, approve=True)
    services.change_merge(actor=people["author"], change=cr)
    return ChangeRequest.objects.get(pk=cr.pk)


# --- drafts ---------------------------------------------------------------------------------------------------------


def test_a_draft_copies_dev_and_never_touches_a_deployed_bundle(people):
    dev_before = services.environment("dev", fresh=True).bundle
    d = edited_draft(people["author"])
    assert d.base_bundle == dev_before and d.status == Draft.Status.EDITING
    assert services.environment("dev", fresh=True).bundle == dev_before
    assert PolicyBundle.objects.count() == 1


def test_lint_reports_a_type_error_at_its_line_with_a_suggestion(people):
    d = services.draft_create(actor=people["author"], environment_name="dev")
    src = 'policy "x.one" tier 2 domain ops.telemetry {\n  permit query\n  when resource.dataclass == "P3"\n  reason "lac.permit.aggregate"\n}\n'
    out = services.lint_source(draft=d, file="new.lac", source=src)
    errors = [x for x in out["diagnostics"] if x["severity"] == "error"]
    assert not out["ok"] and errors
    e = errors[0]
    assert e["line"] == 3 and "dataclass" in e["message"] and "data_class" in (e.get("hint") or e["message"])
    fixed = services.lint_source(draft=d, file="new.lac", source=src.replace("dataclass", "data_class"))
    assert fixed["ok"] and fixed["errors"] == 0


def test_only_the_author_edits_a_draft_and_bad_file_names_are_refused(people):
    d = services.draft_create(actor=people["author"], environment_name="dev")
    with pytest.raises(ServiceError) as err:
        services.draft_save(actor=people["approver"], draft=d, file="a.lac", source="")
    assert err.value.code == "draft_not_author"
    for name in ("../etc.lac", "x.txt", "A.lac", ""):
        with pytest.raises(ServiceError) as err:
            services.draft_save(actor=people["author"], draft=d, file=name, source="// x\n")
        assert err.value.code == "draft_bad_file_name"
    with pytest.raises(ServiceError) as err:
        services.draft_create(actor=people["oncall"], environment_name="dev")
    assert err.value.code == "draft_forbidden"


def test_preview_shows_the_decision_trace_reasons_per_locale_and_minimized_rows(people):
    d = edited_draft(people["author"])
    out = services.preview(draft=d, request={**graph_query(), "context": {**graph_query()["context"], "time": NOW.isoformat()}},
                           rows=[{"msisdn": "+491701234567", "selector": "s1", "name": "Alice"}])
    assert out["effect"] == "permit"
    assert set(out["reasons"]) == {"en", "es", "fr"} and len(set(out["reasons"].values())) == 3
    assert any("intel.graph.warranted-query" in line for line in out["trace"])
    assert out["rows_before"][0] == {"msisdn": "+491701234567", "selector": "s1", "name": "Alice"}
    assert out["rows_after"][0] == {"msisdn": "*********4567", "selector": "s1"}


def test_catalog_edits_are_validated(people):
    d = services.draft_create(actor=people["author"], environment_name="dev")
    for bad in ({"english": {}}, {"en": {"Bad Id": "x"}}, {"en": {"ok.id": 3}}, []):
        with pytest.raises(ServiceError) as err:
            services.draft_save(actor=people["author"], draft=d, catalogs=bad)
        assert err.value.code == "catalogs_invalid"
    cats = {k: dict(v) for k, v in d.catalogs.items()}
    cats["es"]["lac.permit.aggregate"] = ""  # emptied: a missing translation, a lint warning, not an error
    services.draft_save(actor=people["author"], draft=d, catalogs=cats)
    built = services.draft_bundle(Draft.objects.get(pk=d.pk))
    assert built.ok
    assert any("lac.permit.aggregate" in w.message and "es" in w.message for w in built.warnings)


# --- change requests --------------------------------------------------------------------------------------------------


def test_a_tier1_change_needs_two_approvers_never_the_author(people):
    d = edited_draft(people["author"])
    cr = services.change_submit(actor=people["author"], draft=d, title="Drop names")
    assert cr.tier == 1 and cr.approvals_required == 2 and cr.status == "open"
    assert cr.bundle.registered and cr.bundle.parent == d.base_bundle and cr.bundle.version == "1.1.0"
    assert cr.checks["redteam"]["total"] >= 300
    assert [c["id"] for c in cr.checks["structure"]["policies"]["changed"]] == ["intel.graph.warranted-query"]
    with pytest.raises(ServiceError) as err:
        services.change_review(actor=people["author"], change=cr, approve=True)
    assert err.value.code in ("change_review_forbidden", "change_self_review")
    services.change_review(actor=people["approver"], change=cr, approve=True)
    with pytest.raises(ServiceError) as err:
        services.change_review(actor=people["approver"], change=cr, approve=True)
    assert err.value.code == "change_already_reviewed"
    with pytest.raises(ServiceError) as err:
        services.change_merge(actor=people["author"], change=cr)
    assert err.value.code == "change_not_approved"
    cr = services.change_review(actor=people["approver2"], change=cr, approve=True)
    assert cr.status == "approved"


def test_an_approver_who_authored_cannot_approve_their_own_change(world, people):
    both = accounts.user_create(actor="tests", organization=world.operator, username="u_both", password=PASSWORD,
                                roles=["policy_author", "policy_approver"])
    cr = services.change_submit(actor=both, draft=edited_draft(both), title="self")
    with pytest.raises(ServiceError) as err:
        services.change_review(actor=both, change=cr, approve=True)
    assert err.value.code == "change_self_review"
    assert not cr.reviews.exists()


def test_merge_deploys_to_dev_with_history_audit_and_witness(people):
    services.environments_bootstrap()
    before = Entry.objects.filter(stype="lac.promotion").count()
    cr = merged_change(people)
    dev = services.environment("dev", fresh=True)
    assert cr.status == "merged" and dev.bundle == cr.bundle
    dep = Deployment.objects.filter(environment="dev").first()
    assert dep.kind == "merge" and dep.previous == cr.base_bundle and dep.change == cr
    assert Entry.objects.filter(stype="lac.promotion").count() == before + 1
    assert AuditEvent.objects.filter(action="studio.deploy.merge").exists()
    assert AuditEvent.objects.filter(action="studio.change.merge").exists()
    assert services.environment("stage", fresh=True).bundle != cr.bundle


def test_an_identical_draft_or_a_broken_one_cannot_be_submitted(people):
    d = services.draft_create(actor=people["author"], environment_name="dev")
    with pytest.raises(ServiceError) as err:
        services.change_submit(actor=people["author"], draft=d, title="nothing")
    assert err.value.code == "change_empty"
    services.draft_save(actor=people["author"], draft=d, file="broken.lac", source="policy {")
    with pytest.raises(ServiceError) as err:
        services.change_submit(actor=people["author"], draft=d, title="broken")
    assert err.value.code == "bundle_invalid" and err.value.details
    assert ChangeRequest.objects.count() == 0


def test_a_stale_base_refuses_to_merge(people):
    first = edited_draft(people["author"])
    second = edited_draft(people["author"], "degree <= 500", "degree <= 450")
    cr1 = services.change_submit(actor=people["author"], draft=first, title="one")
    cr2 = services.change_submit(actor=people["author"], draft=second, title="two")
    for cr in (cr1, cr2):
        services.change_review(actor=people["approver"], change=cr, approve=True)
        services.change_review(actor=people["approver2"], change=cr, approve=True)
    services.change_merge(actor=people["author"], change=cr1)
    with pytest.raises(ServiceError) as err:
        services.change_merge(actor=people["author"], change=cr2)
    assert err.value.code == "change_stale_base"


# --- promotions, rollback ----------------------------------------------------------------------------------------------


def test_promotion_goes_in_order_and_only_for_approvers(people):
    merged_change(people)
    with pytest.raises(ServiceError) as err:
        services.promote(actor=people["author"], source="dev", target="stage")
    assert err.value.code == "promote_forbidden"
    with pytest.raises(ServiceError) as err:
        services.promote(actor=people["approver"], source="dev", target="prod")
    assert err.value.code == "promotion_blocked"
    dep = services.promote(actor=people["approver"], source="dev", target="stage")
    assert dep.kind == "promote" and services.environment("stage", fresh=True).bundle == services.environment("dev", fresh=True).bundle
    with pytest.raises(ServiceError) as err:  # nothing left to promote into stage
        services.promote(actor=people["approver"], source="dev", target="stage")
    assert any(g["gate"] == "change" and not g["ok"] for g in err.value.details["gates"])


def test_a_bundle_failing_the_red_team_gate_is_not_promoted(people):
    # a permit-everything policy on intel.graph makes the red team find false negatives
    d = services.draft_create(actor=people["author"], environment_name="dev")
    services.draft_save(actor=people["author"], draft=d, file="zz-open.lac", source=(
        'policy "intel.graph.open" tier 1 domain intel.graph {\n  permit any\n  when true\n  reason "lac.permit.aggregate"\n}\n'))
    cr = services.change_submit(actor=people["author"], draft=d, title="open everything")
    ok, problems = services.checks_pass(cr.checks)
    assert not ok and any("false negative" in p for p in problems)
    with pytest.raises(ServiceError) as err:
        services.change_review(actor=people["approver"], change=cr, approve=True)
    assert err.value.code == "change_checks_failing"


def test_rollback_returns_to_the_previous_version_in_one_action(people):
    cr = merged_change(people)
    with pytest.raises(ServiceError) as err:
        services.rollback(actor=people["approver"], environment_name="dev", reason="")
    assert err.value.code == "rollback_reason_required"
    dep = services.rollback(actor=people["approver"], environment_name="dev", reason="bad change")
    assert dep.kind == "rollback" and dep.bundle == cr.base_bundle and dep.previous == cr.bundle
    assert services.environment("dev", fresh=True).bundle == cr.base_bundle
    assert AuditEvent.objects.filter(action="studio.deploy.rollback", reason="bad change").exists()
    assert Entry.objects.filter(stype="lac.promotion").count() >= 3  # bootstrap(s), merge, rollback


# --- distribution, status, drift ----------------------------------------------------------------------------------------


def _live_change(env_name="prod"):
    """A bundle someone changed by hand on a decision point: the registered one with one policy tightened."""
    env = services.environment(env_name, fresh=True)
    sources = dict(env.bundle.sources)
    sources["intel.graph.lac"] = sources["intel.graph.lac"].replace("path_length <= 3", "path_length <= 2", 1)
    built = Bundle.build(policies=sources, schema=env.bundle.schema, catalogs=env.bundle.catalogs, lint_config=env.bundle.lint_config or None)
    assert built.ok and built.digest != env.bundle.digest
    doc = {"policies": sources, "schema": env.bundle.schema, "catalogs": env.bundle.catalogs, "lint": env.bundle.lint_config or {}}
    return built.digest, doc


def test_a_point_reporting_the_registered_digest_is_in_sync(people):
    env = services.environment("prod", fresh=True)
    p = services.status_report(actor=people["oncall"], point_id="gw-1", environment_name="prod", digest=env.bundle.digest)
    assert p.mismatch_since is None
    report = services.drift_report("prod")
    assert report["drifting"] == [] and report["points"][0]["state"] == "ok"


def test_injected_drift_blocks_promotion_with_actionable_output_and_pages(people):
    from oncall.models import Incident

    merged_change(people)
    services.promote(actor=people["approver"], source="dev", target="stage")
    digest, doc = _live_change("prod")
    services.status_report(actor=people["oncall"], point_id="gw-prod-7", environment_name="prod", digest=digest, bundle=doc)
    observed = PolicyBundle.objects.get(digest=digest)
    assert observed.registered is False
    report = services.drift_report("prod")
    assert [d["point_id"] for d in report["drifting"]] == ["gw-prod-7"]
    assert "gw-prod-7" in report["headline"] and "since" in report["headline"]
    with pytest.raises(ServiceError) as err:
        services.promote(actor=people["approver"], source="stage", target="prod")
    assert err.value.code == "promotion_blocked"
    gate = next(g for g in err.value.details["gates"] if g["gate"] == "drift:prod")
    assert not gate["ok"] and "Adopt" in gate["fix"] and "redeploy" in gate["fix"]
    assert Incident.objects.filter(dedup_key="lac-drift:prod:gw-prod-7").exists()
    assert AuditEvent.objects.filter(action="studio.drift.detected").count() == 1


def test_adopt_remediation_is_a_change_request_that_clears_the_drift(people):
    merged_change(people)
    services.promote(actor=people["approver"], source="dev", target="stage")
    digest, doc = _live_change("prod")
    services.status_report(actor=people["oncall"], point_id="gw-prod-7", environment_name="prod", digest=digest, bundle=doc)
    cr = services.remediate(actor=people["author"], environment_name="prod", point_id="gw-prod-7", way="adopt")
    assert cr.kind == "adopt" and cr.target_environment == "prod" and cr.approvals_required == 2
    assert services.remediate(actor=people["author"], environment_name="prod", point_id="gw-prod-7", way="adopt") == cr
    services.change_review(actor=people["approver"], change=cr, approve=True)
    services.change_review(actor=people["approver2"], change=cr, approve=True)
    dep = services.change_merge(actor=people["author"], change=cr)
    assert dep.kind == "remediate" and dep.environment == "prod"
    assert services.environment("prod", fresh=True).bundle.digest == digest
    assert PolicyBundle.objects.get(digest=digest).registered
    assert services.drift_report("prod")["drifting"] == []
    dep = services.promote(actor=people["approver"], source="stage", target="prod")
    assert services.environment("prod", fresh=True).bundle == services.environment("stage", fresh=True).bundle


def test_redeploy_remediation_clears_when_the_point_reloads(people):
    digest, _doc = _live_change("prod")
    services.status_report(actor=people["oncall"], point_id="gw-prod-8", environment_name="prod", digest=digest)
    with pytest.raises(ServiceError) as err:  # it never sent its content
        services.remediate(actor=people["author"], environment_name="prod", point_id="gw-prod-8", way="adopt")
    assert err.value.code == "remediation_unknown_bundle"
    cr = services.remediate(actor=people["author"], environment_name="prod", point_id="gw-prod-8", way="redeploy")
    assert cr.bundle == services.environment("prod", fresh=True).bundle
    services.change_review(actor=people["approver"], change=cr, approve=True)
    services.change_review(actor=people["approver2"], change=cr, approve=True)
    services.change_merge(actor=people["approver"], change=cr)
    assert services.drift_report("prod")["drifting"]  # still drifting until the point reloads
    services.status_report(actor=people["oncall"], point_id="gw-prod-8", environment_name="prod",
                           digest=services.environment("prod", fresh=True).bundle.digest)
    assert services.drift_report("prod")["drifting"] == []


def test_a_point_lagging_a_fresh_deployment_is_converging_not_drifting(people):
    old = services.environment("dev", fresh=True).bundle
    merged_change(people)
    p = services.status_report(actor=people["oncall"], point_id="gw-dev", environment_name="dev", digest=old.digest)
    assert p.mismatch_since is not None
    assert services.drift_report("dev")["points"][0]["state"] == "converging"
    later = timezone.now() + services.DRIFT_GRACE + timedelta(seconds=1)
    assert services.drift_report("dev", now=later)["points"][0]["state"] == "drift"


def test_status_input_is_validated_and_a_lying_bundle_is_refused(people):
    digest, doc = _live_change("prod")
    cases = [({"point_id": "bad id!"}, "status_bad_point_id"), ({"digest": "md5:abc"}, "status_bad_digest"),
             ({"environment_name": "qa"}, "environment_unknown"),
             ({"digest": "sha256:" + "0" * 64, "bundle": doc}, "status_digest_mismatch")]
    for override, code in cases:
        kw = {"actor": people["oncall"], "point_id": "gw-1", "environment_name": "prod", "digest": digest} | override
        with pytest.raises(ServiceError) as err:
            services.status_report(**kw)
        assert err.value.code == code
    assert not DecisionPoint.objects.exists()


def test_the_builtin_decide_api_reports_its_digest(people):
    services._builtin_last.clear()
    services.decide(environment_name="prod", request=graph_query(), now=NOW)
    p = DecisionPoint.objects.get(builtin=True, environment="prod")
    assert p.reported_digest == services.environment("prod").bundle.digest


# --- diff simulator ---------------------------------------------------------------------------------------------------


def _simulate(draft, **kw):
    sim = Simulation.objects.create(draft=draft, candidate={"sources": draft.sources, "catalogs": draft.catalogs,
                                                            "schema": draft.base_bundle.schema, "lint_config": {}},
                                    candidate_digest=services.draft_bundle(draft).digest, environment="prod",
                                    baseline_digest=services.environment("prod").bundle.digest,
                                    period_start=NOW - timedelta(days=1), period_end=NOW + timedelta(days=1), **kw)
    return services.simulation_run(sim.pk)


def ops_query():
    return sample_request(domain="ops.telemetry", data_class="P3", roles=["sre"], resource={"fields": ["service"]})


def test_a_change_confined_to_one_domain_does_not_replay_the_others(people):
    for _ in range(3):
        services.decide(environment_name="prod", request=graph_query(), now=NOW)
    for _ in range(5):
        services.decide(environment_name="prod", request=ops_query(), now=NOW)
    sim = _simulate(edited_draft(people["author"]), include_corpus=False)
    assert sim.summary["affected_domains"] == ["intel.graph"]
    assert sim.summary["unaffected"] == 5 and sim.processed == 3
    assert sim.summary["total"] == 8 and sim.summary["by_source"]["log"]["obligations"] == 3
    # a catalog change can reach every decision: everything is replayed
    d = services.draft_create(actor=people["author"], environment_name="dev")
    cats = {k: dict(v) for k, v in d.catalogs.items()}
    cats["en"]["lac.permit.aggregate"] = cats["en"]["lac.permit.aggregate"] + " (reviewed)"
    services.draft_save(actor=people["author"], draft=d, catalogs=cats)
    sim = _simulate(d, include_corpus=False)
    assert sim.summary["affected_domains"] is None and sim.summary["unaffected"] == 0 and sim.processed == 8


def test_the_simulator_counts_every_changed_logged_decision(people):
    n = 12
    for _ in range(n):
        services.decide(environment_name="prod", request=graph_query(), now=NOW)
    d = edited_draft(people["author"])
    sim = Simulation.objects.create(draft=d, candidate={"sources": d.sources, "catalogs": d.catalogs, "schema": d.base_bundle.schema,
                                                        "lint_config": {}},
                                    candidate_digest=services.draft_bundle(d).digest, environment="prod",
                                    baseline_digest=services.environment("prod").bundle.digest,
                                    period_start=NOW - timedelta(days=1), period_end=NOW + timedelta(days=1), include_corpus=True)
    sim = services.simulation_run(sim.pk)
    assert sim.status == "done", sim.error
    log = sim.summary["by_source"]["log"]
    assert log["total"] == n and log["obligations"] == n
    assert sim.summary["by_source"]["corpus"]["total"] >= 300
    changes = [c for c in sim.changes if c["source"] == "log"]
    assert len(changes) == n
    assert changes[0]["before"]["obligations"] == ["mask(msisdn, last4)"]
    assert sorted(changes[0]["after"]["obligations"]) == ["drop(name)", "mask(msisdn, last4)"]
    rows = list(services.simulation_csv_rows(sim))
    assert rows[0][0] == "source" and len(rows) == 1 + len(sim.changes)
