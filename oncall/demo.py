"""Demo data for on-call (called by ``manage.py seed_demo``; idempotent): a resolved incident with its
triage, an acknowledged one, and a finished drill with its report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from oncall import services
from oncall.models import Drill, Incident


def seed(users: dict[str, Any]) -> list[str]:
    if Drill.objects.exists():
        return []
    oncall = users["oncall"]
    now = timezone.now()
    earlier = now - timedelta(days=2, hours=3)
    inc = services.raise_alert(source="witness", severity="high", summary="Witness sequencer lag above 30 s",
                               dedup_key="demo:witness-lag", details={"lag_s": 42}, now=earlier)
    services.incident_acknowledge(actor=oncall, incident=inc, now=earlier + timedelta(minutes=3), check=False)
    services.incident_resolve(actor=oncall, incident=inc, triage="true_positive", note="Sequencer restarted; backlog drained.",
                              now=earlier + timedelta(minutes=21))
    inc = services.raise_alert(source="pcq", severity="warning", summary="Replay queue lag above target for globex",
                               dedup_key="demo:replay-lag", details={"tenant": "globex"}, now=now - timedelta(minutes=40))
    services.incident_acknowledge(actor=oncall, incident=inc, now=now - timedelta(minutes=36), check=False)
    drill = services.drill_start(scenario="burn-rate", actor="seed_demo", now=now - timedelta(hours=5))
    drill_incident = Incident.objects.get(pk=drill.incident_id)
    services.incident_acknowledge(actor=oncall, incident=drill_incident, now=now - timedelta(hours=5) + timedelta(minutes=2),
                                  check=False)
    services.drill_finish(drill=drill, now=now - timedelta(hours=5) + timedelta(minutes=3))
    services.incident_resolve(actor=oncall, incident=drill_incident, triage="true_positive", now=now - timedelta(hours=4, minutes=50))
    return ["oncall: two incidents (one resolved, one acknowledged) and a burn-rate drill with its report"]
