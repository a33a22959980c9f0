"""The export runs as ``compliance.tasks.export_packet`` on a worker of the default queue (a thread in
embedded mode, a real process in production mode), dispatched when the request's transaction commits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import services
from compliance.models import Packet
from tests.integration.test_celery_channels import wait_for
from trustfabric.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_export_task_runs_on_the_worker_with_progress(world, client, celery_worker):
    assert app.amqp.router.route({}, "compliance.tasks.export_packet")["queue"].name == "default"
    services.frameworks_load(actor="tests")
    fw = services.current_frameworks()[0]
    client.force_login(world.users["compliance"])
    today = timezone.now().date()
    r = client.post("/compliance/packets/new/", {"framework": str(fw.pk), "period_start": (today - timedelta(days=7)).isoformat(),
                                                 "period_end": today.isoformat(), "version": "0.9", "export": "1"})
    assert r.status_code == 302
    packet = Packet.objects.get()
    progress = client.get(f"/compliance/packets/{packet.pk}/?partial=progress", HTTP_HX_REQUEST="true")
    assert progress.status_code == 200  # a bar while it runs, or a refresh header once done
    assert b'data-testid="packet-progress"' in progress.content or progress["HX-Refresh"] == "true"
    done = wait_for(lambda: Packet.objects.filter(pk=packet.pk, status__in=["done", "failed"]).first(), timeout=120)
    assert done.status == "done", done.error
    assert done.progress == 100 and done.step == "Exported" and done.witness_index is not None
    assert services.packet_verify(packet=done).ok
    after = client.get(f"/compliance/packets/{packet.pk}/?partial=progress", HTTP_HX_REQUEST="true")
    assert after["HX-Refresh"] == "true"

