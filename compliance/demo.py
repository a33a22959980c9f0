"""Demo data for the compliance workspace (called by ``manage.py seed_demo`` after the other apps;
idempotent): the frameworks, evidence collected from every provider over the last 30 days, owners on
a few controls, and a draft SOC 2 packet v0.9 whose gaps are listed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from compliance import services
from compliance.models import Framework, Packet


def seed(users: dict[str, Any]) -> list[str]:
    if Packet.objects.exists():
        return []
    actor = users["compliance"]
    if not Framework.objects.exists():
        services.frameworks_load(actor=actor)
    now = timezone.now()
    result = services.evidence_collect(actor=actor, period_start=now - timedelta(days=30), period_end=now)
    soc2 = Framework.objects.get(key="soc2", is_current=True)
    for ref in ("CC6.1", "CC7.2", "CC8.1"):
        ctl = soc2.controls.filter(ref=ref).first()
        if ctl is not None:
            services.control_update(actor=actor, control=ctl, owner_id=users["compliance"].pk)
    gaps = services.gaps_refresh(actor=actor)
    packet = services.packet_create(actor=actor, framework=soc2, period_start=(now - timedelta(days=30)).date(),
                                    period_end=now.date(), title="SOC 2 readiness, last 30 days")
    items = sum(r.get("new", 0) for r in result.values())
    failed = sorted(pid for pid, r in result.items() if "error" in r)
    return [f"compliance: frameworks loaded; {items} evidence items from {len(result)} providers"
            + (f" ({', '.join(failed)} failed)" if failed else "")
            + f"; {gaps.get('open', 0)} open gaps; draft packet {packet.version}"]
