"""Canary drills through the service, on-call and the management command: false-alarm rate and MTTA."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from oncall.models import Incident
from pcq import services
from pcq.models import DrillRun
from tests.pcq.factories import rotation

pytestmark = pytest.mark.django_db


def run_drill(actor, **kw):
    params = {"seed": 5, "benign": 30, "regressions": 8, "ack_after_s": 90.0} | kw
    run = services.drill_start(actor=actor, dispatch=False, **params)
    return services.drill_execute(run_id=run.pk)


def test_drill_measures_false_alarms_and_mtta_through_oncall(world):
    rotation([world.users["oncall"]])
    run = run_drill(world.users["oncall"])
    s = run.summary
    assert run.status == "done" and run.done == run.total == 38 and len(run.scenarios) == 38
    assert s["benign"] == 30 and s["regressions"] == 8
    assert s["false_alarm_rate"] < 0.02 and s["false_alarm_ok"]
    assert 0 < s["false_alarm_upper95"] < 0.15
    assert s["detected"] >= 4 and s["detected"] + s["ticketed"] + s["missed"] == 8
    # MTTA: first regressed run -> acknowledgement, from the on-call incidents themselves
    paged = [r for r in run.scenarios if r["label"] == "regression" and r["paged"]]
    assert len(paged) == s["detected"]
    for r in paged:
        assert r["paged_user"] == "u_oncall" and not r["unrouted"]
        assert r["seconds_to_ack"] == pytest.approx(r["seconds_to_first_page"] + 90.0)
        assert r["seconds_to_first_page"] >= r["seconds_to_page"] - 1e-6  # paged when the verdict came out (delay 0)
    assert s["mtta_s"] == pytest.approx(sum(r["seconds_to_ack"] for r in paged) / len(paged))
    assert s["mtta_s"] <= s["mtta_target_s"] == 900 and s["mtta_ok"] and s["passed"]
    # the incidents are drills, acknowledged by the paged person and resolved with triage
    incidents = Incident.objects.filter(dedup_key__contains=f"drill-{run.pk.hex[:8]}")
    assert incidents.count() >= len(paged) and all(i.is_drill for i in incidents)
    assert set(incidents.values_list("status", flat=True)) == {"resolved"}
    assert set(incidents.values_list("triage", flat=True)) <= {"true_positive", "false_alarm"}
    assert all(i.acknowledged_by == world.users["oncall"] for i in incidents)
    assert AuditEvent.objects.filter(action="pcq.drill.start", object_id=str(run.pk)).exists()


def test_a_slow_acknowledgement_misses_the_mtta_target(world):
    rotation([world.users["oncall"]])
    run = run_drill(world.users["oncall"], benign=4, regressions=3, ack_after_s=1200.0)
    assert run.summary["mtta_s"] > 900 and not run.summary["mtta_ok"] and not run.summary["passed"]


def test_without_an_escalation_policy_nobody_is_paged_unless_a_responder_is_named(world):
    run = run_drill(world.users["oncall"], benign=4, regressions=3)
    assert run.summary["detected"] >= 1
    assert run.summary["unrouted"] == run.summary["detected"] and run.summary["mtta_s"] is None
    assert not run.summary["passed"]
    run = run_drill(world.users["oncall"], benign=4, regressions=3, seed=6, responder="u_oncall")
    assert run.summary["mtta_s"] is not None and run.summary["unacknowledged"] == 0


def test_drill_parameters_are_validated_and_one_runs_at_a_time(world):
    with pytest.raises(services.PcqServiceError) as err:
        services.drill_start(actor="t", benign=0, dispatch=False)
    assert err.value.code == "drill_invalid"
    with pytest.raises(services.PcqServiceError) as err:
        services.drill_start(actor="t", responder="nobody-here", dispatch=False)
    assert err.value.code == "drill_invalid" and "nobody-here" in err.value.details[0]
    run = services.drill_start(actor="t", benign=2, regressions=0, dispatch=False)
    with pytest.raises(services.PcqServiceError) as err:
        services.drill_start(actor="t", benign=2, dispatch=False)
    assert err.value.code == "drill_running"
    services.drill_execute(run_id=run.pk)
    assert services.drill_execute(run_id=run.pk).status == "done"  # a redelivered task does not run it twice
    assert DrillRun.objects.count() == 1


def test_manage_py_pcq_drill_prints_the_figures(world, capsys):
    rotation([world.users["oncall"]])
    call_command("pcq", "drill", "--seed", "2", "--benign", "12", "--regressions", "4", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["benign"] == 12 and out["false_alarm_rate"] < 0.02 and out["mtta_s"] is not None
    assert DrillRun.objects.get(pk=out["drill"]).status == "done"
    call_command("pcq", "drill", "--seed", "3", "--benign", "6", "--regressions", "2")
    text = capsys.readouterr().out
    assert "false alarms" in text and "MTTA" in text and "targets" in text


def test_manage_py_pcq_drill_fails_when_targets_are_missed(world):
    with pytest.raises(CommandError) as err:  # no escalation policy: nobody acknowledges, no MTTA
        call_command("pcq", "drill", "--seed", "2", "--benign", "4", "--regressions", "2")
    assert "missed its targets" in str(err.value)


def test_manage_py_pcq_canary_switches_the_regression(world, capsys):
    call_command("pcq", "canary", "--regression", "drop_edges", "--reason", "demo")
    assert "regression=drop_edges" in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="pcq.canary.regression", actor_label="manage.py pcq canary").exists()
