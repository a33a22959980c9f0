"""Canary runs happen on the ``replay`` queue and their verdicts reach the PCQ dashboard's live stream."""

import pytest

from pcq import services
from pcq.models import CanaryVerdict
from tests.integration.test_celery_channels import wait_for, ws_connect
from tests.pcq.factories import graph, submit
from trustfabric.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_sampled_job_gets_a_canary_verdict_from_the_replay_queue_and_it_is_published(world, celery_worker, asgi_server):
    assert app.amqp.router.route({}, "pcq.tasks.canary_job")["queue"].name == "replay"
    assert app.amqp.router.route({}, "pcq.tasks.canary_drill")["queue"].name == "replay"
    services.canary_regression_set(actor=world.users["oncall"], regression="drop_edges", reason="integration")
    with ws_connect(asgi_server, world.users["oncall"], streams="pcq") as ws:
        job = submit(world.users["oncall"], graph(), job_id="int-canary-1", kind="shortest_paths")
        assert job.sampled
        verdict = wait_for(lambda: CanaryVerdict.objects.filter(job=job).first(), timeout=60)
        messages = []
        while not (any(f'id="canary-{verdict.pk}"' in m for m in messages) and any('data-chart="canary"' in m for m in messages)):
            messages.append(ws.recv(timeout=30))
    row = next(m for m in messages if f'id="canary-{verdict.pk}"' in m)
    assert 'hx-swap-oob="afterbegin:#canary-rows"' in row and 'data-level="page"' in row
    charts = next(m for m in messages if 'data-chart="canary"' in m)
    assert 'data-chart="bands"' in charts and 'id="canary-stats" hx-swap-oob="true"' in charts
    verdict.refresh_from_db()
    assert verdict.verdict == "delta" and verdict.incidents


def test_partners_and_producers_cannot_subscribe_to_the_pcq_stream(world, asgi_server):
    from websockets.exceptions import InvalidStatus

    for role in ("partner_user", "policy_author"):
        with pytest.raises(InvalidStatus):
            ws_connect(asgi_server, world.users[role], streams="pcq")
