"""Appeals: immediate re-verification, consented re-run under a fresh epoch, resolution, SLA escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall.models import Incident
from tests.zktx.test_service_support import dataset, drain, make_env, open_epoch, selectors
from zktx import services
from zktx.apps import BEAT_SCHEDULE
from zktx.client.api import ApiError
from zktx.models import Appeal, Epoch, Query

pytestmark = pytest.mark.django_db


@pytest.fixture
def verdict(world, tmp_path):
    env = make_env(world, tmp_path, k=2)
    ds = dataset(51, holder_size=120, n_queries=1, query_size=16, k=2)
    eid = open_epoch(env, ds.holder)
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    env.holder.answer_pending()
    drain()
    return env, ds, qpk


def test_filing_reverifies_at_once_and_tampering_is_detected(verdict, world):
    env, _, qpk = verdict
    a = env.querier.appeal(qpk, "our reconciliation disagrees")
    assert a["status"] == "open" and a["reverify"]["ok"] is True and a["filed_by"] == world.partner_b.slug
    due = timezone.datetime.fromisoformat(a["sla_due_at"].replace("Z", "+00:00"))
    filed = timezone.datetime.fromisoformat(a["filed_at"].replace("Z", "+00:00"))
    assert due - filed == timedelta(hours=24)
    # the stored transcript is altered behind the exchange's back: the operator's full re-verification says so
    q = Query.objects.get(pk=qpk)
    q.transcript = {**q.transcript, "count": q.transcript["count"] + 5}
    q.save(update_fields=["transcript"])
    out = env.operator.reverify(a["id"])
    assert out["reverify"]["ok"] is False and out["reverify"]["code"] == "count_mismatch"


def test_one_open_appeal_per_verdict_and_only_partners_file(verdict):
    env, _, qpk = verdict
    env.holder.appeal(qpk, "holder side disputes it too")
    with pytest.raises(ApiError) as exc:
        env.querier.appeal(qpk, "again")
    assert (exc.value.status, exc.value.code) == (409, "appeal_open")
    with pytest.raises(ApiError) as exc:
        env.operator.file_appeal(qpk, "operators do not file")
    assert exc.value.status == 403


def test_rerun_needs_both_consents_then_runs_under_a_fresh_epoch(verdict, world):
    env, ds, qpk = verdict
    a = env.querier.appeal(qpk, "please re-run it")
    with pytest.raises(ApiError) as exc:
        env.operator.rerun(a["id"])
    assert (exc.value.code, exc.value.status) == ("appeal_consent_missing", 409)
    env.querier.consent(a["id"])
    with pytest.raises(ApiError) as exc:
        env.operator.rerun(a["id"])
    assert "holder" in exc.value.message
    consented = env.holder.consent(a["id"])
    assert consented["consent"]["holder"] and consented["consent"]["querier"]
    with pytest.raises(ApiError) as exc:  # partners do not start re-runs
        env.holder.api.rerun(a["id"])
    assert exc.value.status == 404
    epoch = env.operator.rerun(a["id"])
    assert epoch["purpose"] == "appeal" and epoch["number"] == 2
    # both partners take part: fresh session keys and pepper epoch; the holder uploads its set again
    env.querier.rerun(a["id"])  # joins
    env.holder.rerun(a["id"], holder_selectors=selectors(ds.holder))  # joins and signs
    env.querier.rerun(a["id"])  # signs
    assert env.holder.rerun(a["id"], holder_selectors=selectors(ds.holder))["size"] == len(ds.holder)
    env.querier.answer_pending()
    drain()
    assert Epoch.objects.get(pk=epoch["id"]).status == "open"
    # an appeal epoch takes only the re-run of the disputed query; the querier re-asks it from its local record
    rerun = env.querier.rerun(a["id"])
    assert rerun["rerun_of"] == qpk
    env.holder.answer_pending()
    drain()
    detail = env.operator.appeal(a["id"])
    assert detail["status"] == "rerun" and detail["rerun_verdict"] == ds.expected(0)
    with pytest.raises(ApiError) as exc:
        env.operator.resolve(a["id"], "sideways", "x")
    assert exc.value.code == "invalid_request"
    done = env.operator.resolve(a["id"], "upheld", "re-run under epoch 2 gave the same verdict")
    assert done["status"] == "resolved" and done["resolution"] == "upheld"
    assert Epoch.objects.get(pk=epoch["id"]).status == "closed"
    assert env.querier.api.appeal(a["id"])["resolution_reason"].startswith("re-run")


def test_overdue_appeal_escalates_to_oncall_once_and_resolution_closes_the_incident(verdict, world):
    env, _, qpk = verdict
    now = timezone.now()
    appeal = services.appeal_file(actor=world.partner_b_user, query=Query.objects.get(pk=qpk),
                                  reason="nobody looked at this", now=now - timedelta(hours=25))
    fresh = services.appeal_file(actor=world.users["partner_user"], query=_second_verdict(env),
                                 reason="just filed", now=now)
    escalated = services.appeal_sla_check(now=now)
    assert [a.pk for a in escalated] == [appeal.pk]
    appeal.refresh_from_db()
    incident = Incident.objects.get(pk=appeal.incident_id)
    assert incident.dedup_key == f"zktx:appeal-sla:{appeal.pk}" and incident.source == "zktx"
    assert incident.severity == "high" and incident.status == "triggered" and "SLA" in incident.summary
    assert services.appeal_sla_check(now=now + timedelta(minutes=5)) == []  # no second page for the same appeal
    assert Incident.objects.filter(dedup_key__startswith="zktx:appeal-sla").count() == 1
    assert not Appeal.objects.get(pk=fresh.pk).escalated_at
    services.appeal_reverify(actor=world.users["admin"], appeal=appeal)
    services.appeal_resolve(actor=world.users["admin"], appeal=appeal, resolution="upheld", reason="checked")
    incident.refresh_from_db()
    assert incident.status == "resolved"


def _second_verdict(env):
    ds = dataset(52, holder_size=120, n_queries=1, query_size=16, k=2)
    eid = open_epoch(env, ds.holder)
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    env.holder.answer_pending()
    drain()
    return Query.objects.get(pk=qpk)


def test_the_sla_check_is_scheduled_on_beat():
    from trustfabric.celery import app

    assert app.conf.beat_schedule["zktx-appeal-sla"]["task"] == "zktx.tasks.appeal_sla_check"
    assert BEAT_SCHEDULE["zktx-appeal-sla"]["schedule"] <= 300
    assert app.amqp.router.route({}, "zktx.tasks.appeal_sla_check")["queue"].name == "zktx"


def test_appeal_drill_command(verdict, capsys):
    from django.core.management import call_command

    call_command("zktx", "appeal", "drill")
    out = capsys.readouterr().out
    assert "SLA check: incident" in out and "is now resolved" in out
    a = Appeal.objects.get(is_drill=True)
    assert a.status == "resolved" and Incident.objects.get(pk=a.incident_id).is_drill
