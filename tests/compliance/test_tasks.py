"""The daily run: on Celery beat (settings.CELERY_BEAT_SCHEDULE); collects the previous UTC day,
refreshes gaps and notifies owners of overdue ones."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import services, tasks
from compliance.models import Evidence, Gap, OwnerNotice
from trustfabric.celery import app


def test_the_daily_run_is_on_celery_beat():
    entry = app.conf.beat_schedule["compliance-daily"]
    assert entry["task"] == "compliance.tasks.daily" == tasks.daily.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({5}, {30})
    assert "witness-sequence" in app.conf.beat_schedule  # the project's own entries are kept


@pytest.mark.django_db
def test_daily_run_collects_the_previous_day_and_notifies(frameworks, world, tmp_path, mailoutbox):
    from witness import services as witness

    artifact = tmp_path / "a.whl"
    artifact.write_bytes(b"a")
    witness.record_build(commit="12" * 20, artifacts=[str(artifact)], actor="ci")
    tomorrow = (timezone.now() + timedelta(days=1)).replace(hour=5, minute=30)
    # the build happened "yesterday" as seen from tomorrow's run; a gap is already overdue then
    services.gaps_refresh(actor="tests")
    Gap.objects.filter(control__ref="CC9.2").update(due_date=timezone.now().date() - timedelta(days=1), owner=world.users["admin"])
    result = services.daily_run(now=tomorrow)
    assert result["collected"]["witness.builds"]["new"] == 1
    build = Evidence.objects.get(provider_id="witness.builds")
    assert build.collected_at == tomorrow
    assert result["notified"]["gaps"] >= 1 and OwnerNotice.objects.filter(user=world.users["admin"]).exists()
    assert Gap.objects.filter(control__framework__key="soc2", control__ref="CC8.1", status="open").count() == 0  # build evidence
    assert any(m.to == ["u_admin@localhost"] for m in mailoutbox)


@pytest.mark.django_db
def test_the_task_calls_the_service(frameworks):
    out = tasks.daily()
    assert out["gaps"]["open"] == 154 - out["gaps"]["closed"] and "notified" in out
