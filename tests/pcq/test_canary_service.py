"""The canary stack in the service: three runs per sampled job, learned noise, paging on true deltas
only (deduplicated per kind, metric and canary version), signed pcq.canary statements, audited switch."""

import pytest

from accounts.models import AuditEvent
from oncall.models import Incident
from pcq import services
from pcq.models import CanaryConfig, CanaryVerdict, NoiseCalibration
from tests.pcq.factories import graph, submit
from witness.models import Entry
from witness.tlog.statement import parse_statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def producer(world):
    return world.users["policy_author"]


def canary_incidents():
    return Incident.objects.filter(dedup_key__startswith="pcq:canary:")


def test_the_default_canary_is_created_with_the_first_sampled_job_and_runs_three_engines(world, producer):
    ds = graph()
    job = submit(producer, ds, job_id="c-1")
    assert job.sampled
    cfg = CanaryConfig.objects.get()
    assert cfg.is_active and cfg.regression == "none" and cfg.params["edge_order"] == "shuffled"
    v = services.canary_run(job_id=job.pk)
    assert v.verdict == "pass" and v.level == "none" and v.flagged == [] and v.incidents == []
    assert set(v.report["digests"]) == {"prod", "prod2", "canary"}
    assert v.report["digests"]["prod"] == job.output_digest  # prod reproduces the recorded result
    assert v.report["digests"]["canary"] != job.output_digest  # the canary's float jitter moved last bits...
    assert not canary_incidents().exists()  # ...which is noise, not a delta


def test_noise_only_never_pages_even_where_prod_copies_disagree(world, producer):
    # Louvain on an unweighted Barabási–Albert graph: partitions depend on the insertion order, so the two
    # production copies disagree with each other — and the canary's own order disagrees as much.
    ba = graph("ba", 300, seed=0, weighted=False)
    jobs = [submit(producer, ba, job_id=f"noise-louvain-{i}", kind="louvain", parameters={"weighted": False}, seed=11 + i)
            for i in range(3)]
    ds = graph()
    jobs += [submit(producer, ds, job_id=f"noise-{kind}", kind=kind, tier=1) for kind in
             ("pagerank", "betweenness", "shortest_paths", "k_shortest_paths", "components")]
    verdicts = [services.canary_run(job_id=j.pk) for j in jobs]
    louvain = [v for v in verdicts if v.kind == "louvain"]
    assert all(v.report["fields"] for v in verdicts)
    partition = [next(f for f in v.report["fields"] if f["field"] == "louvain.partition") for v in louvain]
    assert all(f["noise_band"] > 0.5 for f in partition)  # the learned band is wide here
    assert all(v.level != "page" for v in verdicts), [(v.kind, v.level, v.flagged) for v in verdicts]
    assert not canary_incidents().exists()
    cal = NoiseCalibration.objects.get(field="louvain.partition")
    assert cal.observations == 3 and cal.noisy == 3 and cal.band > 0.5
    assert NoiseCalibration.objects.get(field="pagerank.score").band == 0.0  # pagerank copies agree bit for bit


def test_planted_regression_pages_with_a_link_to_the_verdict(world, producer):
    services.canary_config_current()
    services.canary_regression_set(actor=world.users["oncall"], regression="drop_edges", reason="demo")
    ds = graph()
    job = submit(producer, ds, job_id="reg-1", kind="shortest_paths", tier=1)
    v = services.canary_run(job_id=job.pk)
    assert v.verdict == "delta" and v.level == "page" and "shortest_paths.distance" in v.flagged
    assert v.regression == "drop_edges" and v.severity >= 1
    inc = canary_incidents().get()
    assert inc.dedup_key == "pcq:canary:shortest_paths:distance:1.1.0-canary"
    assert inc.severity == "critical" and inc.source == "pcq" and not inc.is_drill
    assert inc.details["verdict"] == str(v.pk) and inc.links == [f"/pcq/canary/verdicts/{v.pk}/"]
    assert v.incidents == [str(inc.pk)]


def test_a_small_delta_on_a_low_tier_job_is_flagged_but_does_not_page(world, producer):
    services.canary_config_current()
    services.canary_regression_set(actor="tests", regression="pagerank_damping", regression_params={"alpha_scale": 0.99})
    job = submit(producer, graph(), job_id="small-1", kind="pagerank", tier=3)
    v = services.canary_run(job_id=job.pk)
    assert v.verdict == "delta" and v.flagged == ["pagerank.score"] and v.level in ("info", "ticket")
    assert not canary_incidents().exists()


def test_pages_are_deduplicated_per_kind_metric_and_canary_version(world, producer):
    services.canary_config_current()
    services.canary_regression_set(actor="tests", regression="drop_edges")
    ds = graph()
    v1 = services.canary_run(job_id=submit(producer, ds, job_id="d-1").pk)
    v2 = services.canary_run(job_id=submit(producer, ds, job_id="d-2", tenant="globex").pk)
    assert v1.level == v2.level == "page"
    inc = canary_incidents().get()  # two flagged verdicts, one incident
    assert inc.dedup_key == "pcq:canary:pagerank:score:1.1.0-canary"
    assert inc.count == 2 and inc.alerts.count() == 2 and v1.incidents == v2.incidents == [str(inc.pk)]
    # another kind and metric of the same canary version is another incident
    v3 = services.canary_run(job_id=submit(producer, ds, job_id="d-3", kind="shortest_paths").pk)
    assert v3.level == "page" and canary_incidents().count() == 2
    assert Incident.objects.get(dedup_key="pcq:canary:shortest_paths:distance:1.1.0-canary").count == 1
    # a new canary version (with the regression still in) opens a new incident for the same field
    cfg = services.canary_config_create(actor=world.users["oncall"], name="canary", version="1.2.0-canary",
                                        params={"edge_order": "shuffled"})
    services.canary_regression_set(actor="tests", regression="drop_edges", config_id=cfg.pk)
    v4 = services.canary_run(job_id=submit(producer, ds, job_id="d-4").pk)
    assert v4.canary_version == "1.2.0-canary" and v4.level == "page"
    assert canary_incidents().count() == 3
    assert Incident.objects.get(dedup_key="pcq:canary:pagerank:score:1.2.0-canary").count == 1
    assert Incident.objects.get(dedup_key="pcq:canary:pagerank:score:1.1.0-canary").count == 2


def test_after_the_incident_is_resolved_the_next_delta_opens_a_new_one(world, producer):
    from oncall import services as oncall

    services.canary_config_current()
    services.canary_regression_set(actor="tests", regression="pagerank_damping")
    ds = graph()
    services.canary_run(job_id=submit(producer, ds, job_id="r-1").pk)
    inc = canary_incidents().get()
    oncall.incident_resolve(actor=world.users["oncall"], incident=inc, triage="true_positive")
    services.canary_run(job_id=submit(producer, ds, job_id="r-2").pk)
    assert canary_incidents().count() == 2 and canary_incidents().filter(status="triggered").count() == 1


def test_every_canary_verdict_is_a_signed_pcq_canary_statement(world, producer):
    ds = graph()
    services.canary_config_current()
    ok = services.canary_run(job_id=submit(producer, ds, job_id="w-1").pk)
    services.canary_regression_set(actor="tests", regression="drop_edges")
    bad = services.canary_run(job_id=submit(producer, ds, job_id="w-2", kind="components").pk)
    entries = {e.leaf_hash: e for e in Entry.objects.filter(stype="pcq.canary")}
    assert set(entries) == {ok.witness_leaf_hash, bad.witness_leaf_hash}
    body = parse_statement(bytes(entries[ok.witness_leaf_hash].payload)).body
    assert body["job"] == "w-1" and body["verdict"] == "pass" and body["canary"]["version"] == "1.1.0-canary"
    assert body["digests"]["prod"] == ok.job.output_digest and body["manifest_digest"] == ok.job.manifest_digest
    body = parse_statement(bytes(entries[bad.witness_leaf_hash].payload)).body
    assert body["canary"]["regression"] == "drop_edges" and body["verdict"] == bad.verdict


def test_a_job_whose_dataset_is_gone_gets_an_error_verdict_that_is_witnessed_not_paged(world, producer, settings):
    import shutil

    ds = graph()
    job = submit(producer, ds, job_id="gone-1")
    shutil.rmtree(services.data_dir() / "datasets" / ds.digest.split(":", 1)[1])
    v = services.canary_run(job_id=job.pk)
    assert v.verdict == "error" and v.report["error"]["code"] == "dataset_not_found" and v.witness_leaf_hash
    assert not canary_incidents().exists()


def test_the_regression_switch_is_validated_and_audited(world, django_capture_on_commit_callbacks):
    oncall_user = world.users["oncall"]
    services.canary_config_current()  # the default canary...
    services.canary_config_activate(actor=oncall_user, config_id=None)  # ...switched off
    with pytest.raises(services.PcqServiceError) as err:
        services.canary_regression_set(actor=oncall_user, regression="drop_edges")
    assert err.value.code == "canary_none_active"
    cfg = services.canary_config_activate(actor=oncall_user, config_id=CanaryConfig.objects.get().pk)
    with pytest.raises(services.PcqServiceError) as err:
        services.canary_regression_set(actor=oncall_user, regression="delete_everything")
    assert err.value.code == "canary_invalid"
    with pytest.raises(services.PcqServiceError) as err:
        services.canary_regression_set(actor=oncall_user, regression="drop_edges", regression_params={"fraction": 2})
    assert err.value.code == "canary_invalid"
    with django_capture_on_commit_callbacks(execute=True):
        services.canary_regression_set(actor=oncall_user, regression="drop_edges", regression_params={"fraction": 0.05},
                                       reason="canary demo")
        services.canary_regression_set(actor=oncall_user, regression="none", reason="demo over")
    events = list(AuditEvent.objects.filter(action="pcq.canary.regression").order_by("at"))
    assert [e.details["after"]["regression"] for e in events] == ["drop_edges", "none"]
    assert events[0].details["before"]["regression"] == "none" and events[0].reason == "canary demo"
    assert events[0].actor == oncall_user and events[0].object_id == str(cfg.pk)
    # audit events reach the witness log
    actions = {parse_statement(bytes(e.payload)).body["action"] for e in Entry.objects.filter(stype="audit.event")}
    assert "pcq.canary.regression" in actions
    cfg.refresh_from_db()
    assert cfg.regression == "none" and cfg.regression_changed_by == oncall_user


def test_switching_the_canary_off_stops_canary_runs(world, producer):
    ds = graph()
    job = submit(producer, ds, job_id="off-1")
    services.canary_config_activate(actor=world.users["oncall"], config_id=None, reason="maintenance")
    assert services.canary_config_current() is None
    assert services.canary_run(job_id=job.pk) is None and not CanaryVerdict.objects.exists()
    assert AuditEvent.objects.filter(action="pcq.canary.disable").exists()
    with pytest.raises(services.PcqServiceError) as err:
        services.canary_config_create(actor="tests", name="canary", version="1.1.0-canary")
    assert err.value.code == "canary_exists"
