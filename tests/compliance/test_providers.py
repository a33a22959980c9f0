"""Each app's evidence providers: the source objects are made through that app's services, then
collected; and the registry's own rules (validation, a failing provider, idempotent collection)."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import services
from compliance.models import Evidence
from trustfabric import evidence as providers
from trustfabric.evidence import EvidenceDraft, Provider, ProviderError
from witness.tlog.canonical import canonical_bytes

pytestmark = pytest.mark.django_db


def collect(*ids, start=None, end=None):
    now = timezone.now()
    return services.evidence_collect(actor="tests", period_start=start or now - timedelta(hours=2),
                                     period_end=end or now + timedelta(minutes=1), provider_ids=list(ids))


def linked(ev):
    return {(link.control.framework.key, link.control.ref) for link in ev.links.select_related("control__framework")}


def check_hash(ev):
    assert ev.sha256 == hashlib.sha256(canonical_bytes(ev.content)).hexdigest()
    assert ev.content["provider"] == {"id": ev.provider_id, "version": ev.provider_version}


def test_every_app_registers_its_providers_through_autodiscovery():
    ids = {p.id for p in providers.all_providers()}
    assert {"witness.checkpoints", "witness.self_audit", "witness.builds", "studio.bundle_checks", "studio.deployments",
            "studio.drift", "studio.decisions", "oncall.drills", "oncall.response_metrics", "oncall.slo_burn",
            "pcq.coverage", "pcq.canary_drills", "pcq.canary_verdicts", "zktx.audit_bundles", "zktx.partner_signoffs",
            "zktx.appeals"} <= ids


def test_witness_checkpoints_self_audits_and_builds(frameworks, tmp_path):
    from witness import services as witness

    artifact = tmp_path / "trustfabric-0.1.0.whl"
    artifact.write_bytes(b"wheel bytes")
    witness.record_build(commit="ab" * 20, artifacts=[str(artifact)], actor="tests")
    run = witness.self_audit()
    assert run.ok
    results = collect("witness.checkpoints", "witness.self_audit", "witness.builds")
    assert results == {"witness.builds": {"new": 1, "existing": 0, "links": 5},  # CC8.1 CC7.1 A.8.32 A.8.25 A.8.9
                       "witness.checkpoints": {"new": 1, "existing": 0, "links": 6},
                       "witness.self_audit": {"new": 1, "existing": 0, "links": 6}}
    build = Evidence.objects.get(provider_id="witness.builds")
    body = build.content["content"]
    assert body["commit"] == "ab" * 20
    assert body["artifacts"] == [{"name": artifact.name, "sha256": hashlib.sha256(b"wheel bytes").hexdigest(), "size": 11}]
    assert ("soc2", "CC8.1") in linked(build) and ("iso27001", "A.8.32") in linked(build)
    check_hash(build)
    cps = Evidence.objects.get(provider_id="witness.checkpoints").content["content"]
    assert cps["checkpoints"] >= 1 and cps["latest_note"].startswith("trustfabric.localhost/log\n")
    audits = Evidence.objects.get(provider_id="witness.self_audit")
    assert audits.content["content"]["passed"] == 1 and audits.content["content"]["failed"] == 0
    assert ("iso27001", "A.8.15") in linked(audits)
    # collecting the same closed period again stores nothing new
    assert collect("witness.builds")["witness.builds"] == {"new": 0, "existing": 1, "links": 0}


def test_studio_bundle_checks_deployments_drift_and_decisions(frameworks, world):
    from studio import services as studio
    from studio.lac.samples import sample_request

    studio.environments_bootstrap(actor="tests")
    prod = studio.environment("prod", fresh=True)
    studio.decide(environment_name="prod", caller=world.users["oncall"], request=sample_request(
        action="export", domain="finance.transactions", data_class="P1", roles=["fraud_analyst"],
        context={"purpose": "fraud_review", "reason_for_access": "case", "ticket": "FR-88"}))
    studio.status_report(actor=world.users["oncall"], point_id="pdp-eu-1", environment_name="prod", digest="sha256:" + "f" * 64)
    results = collect("studio.bundle_checks", "studio.deployments", "studio.drift", "studio.decisions")
    assert all(r.get("new") == 1 for r in results.values()), results
    checks = Evidence.objects.get(provider_id="studio.bundle_checks").content["content"]
    assert checks["digest"] == prod.bundle.digest and checks["gate_passes"] is True
    assert checks["redteam"]["false_negative"] == 0 and checks["redteam"]["total"] > 100
    deployments = Evidence.objects.get(provider_id="studio.deployments").content["content"]
    assert deployments["by_kind"] == {"bootstrap": 3}
    assert {d["environment"] for d in deployments["deployments"]} == {"dev", "stage", "prod"}
    assert all(d["witness_entry"] for d in deployments["deployments"])
    drift = Evidence.objects.get(provider_id="studio.drift")
    assert drift.content["content"]["drifting"] == 1
    prod_report = next(r for r in drift.content["content"]["environments"] if r["environment"] == "prod")
    assert [(p["point_id"], p["state"]) for p in prod_report["points"] if not p["builtin"]] == [("pdp-eu-1", "drift")]
    decisions = Evidence.objects.get(provider_id="studio.decisions")
    assert decisions.content["content"]["decisions"] == 1
    assert ("soc2", "CC6.1") in linked(decisions) and ("iso27001", "A.8.11") in linked(decisions)


def test_oncall_drills_response_metrics_and_slo_burn(frameworks, world):
    from oncall import services as oncall

    now = timezone.now()
    drill = oncall.drill_start(scenario="canary-delta", actor="tests", now=now - timedelta(minutes=50))
    oncall.incident_acknowledge(actor=world.users["oncall"], incident=drill.incident, now=now - timedelta(minutes=47))
    oncall.drill_finish(drill=drill, now=now - timedelta(minutes=45))
    inc = oncall.raise_alert(source="pcq", severity="high", summary="replay failed", now=now - timedelta(minutes=40))
    oncall.incident_acknowledge(actor=world.users["oncall"], incident=inc, now=now - timedelta(minutes=35))
    oncall.incident_resolve(actor=world.users["oncall"], incident=inc, triage="true_positive", now=now - timedelta(minutes=20))
    oncall.slo_ensure_defaults()
    oncall.sli_record(slo="pcq.replay.success", good=990, total=1000, at=now - timedelta(minutes=10))
    results = collect("oncall.drills", "oncall.response_metrics", "oncall.slo_burn")
    assert all(r.get("new") == 1 for r in results.values()), results
    d = Evidence.objects.get(provider_id="oncall.drills")
    assert d.content["content"]["seconds_to_ack"] == pytest.approx(180.0) and d.content["content"]["report"]["met_target"] is True
    assert "target met" in d.title
    m = Evidence.objects.get(provider_id="oncall.response_metrics").content["content"]
    assert m["incidents"] == 1  # the drill's incident is left out
    assert m["mtta_s"] == pytest.approx(300.0) and m["mttr_s"] == pytest.approx(1200.0)
    slo = Evidence.objects.get(provider_id="oncall.slo_burn").content["content"]["slos"]
    assert [(s["slo"], s["good"], s["total"], s["met"]) for s in slo] == [("pcq.replay.success", 990, 1000, True)]
    assert slo[0]["daily"][0]["burn_rate"] == pytest.approx(1.0)


def test_pcq_coverage_and_canary_drills(frameworks, world):
    from pcq import engine
    from pcq import services as pcq

    ds = engine.generate_graph("ba", 120, seed=3)
    manifest, result = engine.execute(ds, job_id="compliance-1", kind="pagerank", tenant="acme")
    engine.store_dataset(pcq.data_dir(), ds)
    job = pcq.job_submit(producer=world.users["oncall"], manifest=manifest, result=result.body)
    assert job.sampled
    pcq.replay_run(job_id=job.pk)
    results = collect("pcq.coverage")
    cov = Evidence.objects.get(provider_id="pcq.coverage").content["content"]
    assert results["pcq.coverage"]["new"] == 1
    assert (cov["seen"], cov["sampled"], cov["verified"], cov["failed"]) == (1, 1, 1, 0)
    assert cov["target"] == pytest.approx(0.05) and cov["days_below_target"] == []
    run = pcq.drill_start(actor=world.users["oncall"], dispatch=False, seed=5, benign=4, regressions=2, ack_after_s=60.0)
    run = pcq.drill_execute(run_id=run.pk)
    assert run.status == "done"
    collect("pcq.canary_drills")
    drill = Evidence.objects.get(provider_id="pcq.canary_drills")
    assert drill.source_ref == f"canary-drill:{run.pk}"
    assert drill.content["content"]["summary"]["scenarios"] == 6 and "bands" not in drill.content["content"]["summary"]
    assert ("soc2", "CC7.4") in linked(drill)


# --- the registry's rules ----------------------------------------------------------------------------------------------


@pytest.fixture
def temp_provider():
    added = []

    def add(**kw):
        p = providers.register(Provider(**({"title": "Test", "version": "1", "controls": {"soc2": ["CC1.1"]}} | kw)))
        added.append(p.id)
        return p

    yield add
    for pid in added:
        providers.unregister(pid)


def test_a_failing_provider_is_reported_and_the_others_still_run(frameworks, temp_provider):
    now = timezone.now()

    def broken(start, end):
        raise RuntimeError("source database unreachable")

    def fine(start, end):
        return [EvidenceDraft(source_ref="policy-review-2025", title="Annual policy review", content={"reviewed": 12, "at": now},
                              period_start=start, period_end=end)]

    temp_provider(id="tests.broken", collect=broken)
    temp_provider(id="tests.fine", collect=fine)
    results = collect("tests.broken", "tests.fine")
    assert results["tests.broken"] == {"error": "RuntimeError: source database unreachable"}
    assert results["tests.fine"] == {"new": 1, "existing": 0, "links": 1}
    ev = Evidence.objects.get(provider_id="tests.fine")
    assert ev.content["content"] == {"reviewed": 12, "at": now.isoformat()}  # datetimes become ISO strings
    assert linked(ev) == {("soc2", "CC1.1")}


def test_drafts_are_checked(frameworks, temp_provider):
    temp_provider(id="tests.naive", collect=lambda s, e: [EvidenceDraft(source_ref="x", title="t", content={},
                                                                         period_start=s.replace(tzinfo=None), period_end=e)])
    temp_provider(id="tests.notadraft", collect=lambda s, e: [{"title": "dict"}])
    results = collect("tests.naive", "tests.notadraft")
    assert "timezone-aware" in results["tests.naive"]["error"] and "not an EvidenceDraft" in results["tests.notadraft"]["error"]
    assert not Evidence.objects.filter(provider_id__startswith="tests.").exists()


def test_unknown_providers_and_bad_definitions_are_refused(frameworks):
    from trustfabric.errors import ServiceError

    with pytest.raises(ServiceError) as err:
        collect("nobody.here")
    assert err.value.code == "provider_unknown"
    for bad in ({"id": "NoDots"}, {"id": "a.b", "version": ""}, {"id": "a.b", "controls": {}}, {"id": "a.b", "collect": "nope"}):
        with pytest.raises(ProviderError):
            providers.register(Provider(**({"id": "a.b", "title": "t", "version": "1", "controls": {"soc2": ["CC1.1"]},
                                             "collect": lambda s, e: []} | bad)))
