"""PCQ pages: the dashboard's canary, noise, drill and coverage sections; the switch; verdict and drill pages."""

import pytest

from accounts.models import AuditEvent
from pcq import services
from pcq.models import CanaryConfig, DrillRun
from tests.pcq.factories import graph, rotation, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def oncall_client(client, world):
    client.force_login(world.users["oncall"])
    return client


def test_dashboard_shows_coverage_canary_noise_and_drill_sections(world, oncall_client):
    ds = graph()
    job = submit(world.users["policy_author"], ds, job_id="view-1")
    services.replay_run(job_id=job.pk)
    services.canary_regression_set(actor="tests", regression="drop_edges")
    v = services.canary_run(job_id=job.pk)
    rotation([world.users["oncall"]])
    run = services.drill_start(actor="t", benign=3, regressions=1, dispatch=False)
    services.drill_execute(run_id=run.pk)
    html = oncall_client.get("/pcq/").content.decode()
    for chart in ("coverage", "lag", "canary", "bands"):
        assert f'data-chart="{chart}"' in html, chart
    assert 'ws-connect="/ws/live/?streams=banner,pages,pcq"' in html
    assert f'id="canary-{v.pk}"' in html and 'data-level="page"' in html
    assert 'data-regression="drop_edges"' in html and "Loader drops edges" in html
    assert "pagerank.score" in html and 'data-testid="bands-table"' in html
    assert 'data-testid="drill-summary"' in html and 'data-testid="drill-far"' in html
    assert 'data-testid="regression-form"' in html and 'data-testid="drill-form"' in html


def test_regression_switch_over_htmx_returns_the_refreshed_card_and_audits(world, oncall_client):
    services.canary_config_current()
    r = oncall_client.post("/pcq/canary/regression/", {"regression": "pagerank_damping", "alpha_scale": "0.7", "reason": "demo"},
                           HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200 and 'id="canary-switch"' in body and 'data-regression="pagerank_damping"' in body
    assert "PageRank damping factor perturbed" in body and "alpha_scale=0.7" in body
    cfg = CanaryConfig.objects.get(is_active=True)
    assert cfg.regression_params == {"alpha_scale": 0.7}
    event = AuditEvent.objects.get(action="pcq.canary.regression")
    assert event.actor == world.users["oncall"] and event.reason == "demo"
    r = oncall_client.post("/pcq/canary/regression/", {"regression": "melt_cpu"}, HTTP_HX_REQUEST="true")
    assert "canary_invalid" in r.content.decode() and CanaryConfig.objects.get(is_active=True).regression == "pagerank_damping"
    r = oncall_client.post("/pcq/canary/regression/", {"regression": "none"})
    assert r.status_code == 302 and r["Location"].endswith("/pcq/#canary")


def test_new_canary_version_from_the_page(world, oncall_client):
    services.canary_config_current()
    r = oncall_client.post("/pcq/canary/configs/", {"action": "create", "name": "canary", "version": "2.0.0-rc1",
                                                    "params": '{"edge_order": "shuffled"}'})
    assert r.status_code == 302
    assert CanaryConfig.objects.get(is_active=True).version == "2.0.0-rc1"
    r = oncall_client.post("/pcq/canary/configs/", {"action": "create", "name": "canary", "version": "x", "params": "{nope"},
                           follow=True)
    assert "Engine parameters must be a JSON object" in r.content.decode()
    old = CanaryConfig.objects.get(version="1.1.0-canary")
    oncall_client.post("/pcq/canary/configs/", {"action": "activate", "config": str(old.pk), "reason": "roll back"})
    assert CanaryConfig.objects.get(is_active=True) == old
    oncall_client.post("/pcq/canary/configs/", {"action": "activate", "config": ""})
    assert not CanaryConfig.objects.filter(is_active=True).exists()
    assert {"pcq.canary.config.create", "pcq.canary.activate", "pcq.canary.disable"} <= set(
        AuditEvent.objects.values_list("action", flat=True))


def test_canary_verdict_page_explains_the_judgement(world, oncall_client):
    from witness import services as witness

    ds = graph()
    services.canary_regression_set(actor="tests", regression="drop_edges")
    v = services.canary_run(job_id=submit(world.users["oncall"], ds, job_id="vp-1").pk)
    witness.sequence_until_idle()
    html = oncall_client.get(f"/pcq/canary/verdicts/{v.pk}/").content.decode()
    assert 'data-testid="canary-fields"' in html and "pagerank.score" in html and "drop_edges" in html
    assert 'data-testid="log-index"' in html and "incident" in html


def test_drill_start_page_and_progress(world, oncall_client):
    r = oncall_client.post("/pcq/drills/", {"seed": "4", "benign": "3", "regressions": "1", "ack_after_s": "60"})
    run = DrillRun.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/pcq/drills/{run.pk}/"
    assert run.params == {"seed": 4, "benign": 3, "regressions": 1, "ack_after_s": 60.0, "mean_gap_s": 60.0, "responder": None}
    r = oncall_client.get(f"/pcq/drills/{run.pk}/?partial=progress", HTTP_HX_REQUEST="true")
    assert 'data-testid="drill-progress"' in r.content.decode() and "0 of 4 scenarios" in r.content.decode()
    services.drill_execute(run_id=run.pk)
    r = oncall_client.get(f"/pcq/drills/{run.pk}/?partial=progress", HTTP_HX_REQUEST="true")
    assert r["HX-Refresh"] == "true"
    html = oncall_client.get(f"/pcq/drills/{run.pk}/").content.decode()
    assert 'data-testid="drill-summary"' in html and 'data-testid="drill-scenarios"' in html
    r = oncall_client.post("/pcq/drills/", {"benign": "lots"}, follow=True)
    assert "benign must be a number" in r.content.decode()


def test_backoff_events_are_recorded_and_charted(world, oncall_client):
    from datetime import timedelta

    from django.utils import timezone

    from oncall import services as oncall

    oncall.slo_ensure_defaults()
    oncall.raise_alert(source="slo", severity="critical", summary="burning", dedup_key="slo:pcq.replay.success:page")
    ds = graph()
    submit(world.users["oncall"], ds, job_id="b-1")
    from pcq.models import SamplerEvent

    e = SamplerEvent.objects.get()
    assert e.kind == "backoff" and e.multiplier_after == 0.5 * e.multiplier_before
    assert e.at > timezone.now() - timedelta(minutes=1)
    html = oncall_client.get("/pcq/").content.decode()
    assert 'data-chart="backoff"' in html and 'data-testid="backoff-multiplier">0.50<' in html


def test_replays_and_canary_verdicts_publish_fragments_to_the_dashboard_group(world):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(services.LIVE_GROUP, channel)

    def received(pred):
        """The next fragment matching ``pred`` (other processes of the suite may publish to the group too).
        Received in one event loop: channels_redis binds its receive buffers to the loop."""
        import asyncio

        async def scan():
            for _ in range(50):
                html = (await asyncio.wait_for(layer.receive(channel), timeout=10))["html"]
                if pred(html):
                    return html
            raise AssertionError("the expected fragment never arrived")

        return async_to_sync(scan)()

    job = submit(world.users["oncall"], graph(), job_id="pub-1")
    services.replay_run(job_id=job.pk)
    services.publish_replay(job.pk)
    row = received(lambda h: h.startswith(f'<tr id="job-{job.pk}" hx-swap-oob="true">'))
    assert "verified" in row
    rest = received(lambda h: 'id="coverage-stats"' in h)
    assert 'id="coverage-stats" hx-swap-oob="true"' in rest and 'data-chart="coverage"' in rest
    v = services.canary_run(job_id=job.pk)
    services.publish_canary_verdict(v.pk)
    row = received(lambda h: f'id="canary-{v.pk}"' in h)
    assert row.startswith('<tbody hx-swap-oob="afterbegin:#canary-rows">')
    rest = received(lambda h: 'id="canary-empty"' in h)
    assert 'id="canary-empty" hx-swap-oob="delete"' in rest and 'data-chart="canary"' in rest and 'id="bands-table"' in rest
    services.canary_regression_set(actor="tests", regression="drop_edges")
    services.publish_canary_config()
    state = received(lambda h: 'id="canary-state"' in h and 'data-regression="drop_edges"' in h)
    assert 'id="canary-state"' in state and 'data-regression="drop_edges"' in state and 'hx-swap-oob="true"' in state
