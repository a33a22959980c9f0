"""Evidence on-call offers to the compliance workspace (registered at start-up; see
trustfabric/evidence.py): drill reports, MTTA/MTTR history and SLO burn-rate history."""

from __future__ import annotations

from datetime import timedelta

from trustfabric.evidence import EvidenceDraft, Provider, period_ref, register


def collect_drills(period_start, period_end) -> list[EvidenceDraft]:
    """One item per finished on-call drill: time to page, time to acknowledge, and whether the
    15-minute acknowledgement target was met."""
    from oncall.models import Drill

    drafts = []
    for d in Drill.objects.filter(finished_at__isnull=False, started_at__gte=period_start, started_at__lte=period_end).order_by("started_at"):
        report = d.report or {}
        met = report.get("met_target")
        drafts.append(EvidenceDraft(
            source_ref=f"drill:{d.pk}",
            title=f"On-call drill {d.scenario}: {'target met' if met else 'target missed'}"
                  + (f", acknowledged after {d.seconds_to_ack:.0f} s" if d.seconds_to_ack is not None else ", not acknowledged"),
            summary="A synthetic incident marked as a drill, raised through the real escalation path.",
            content={"drill": d.pk, "scenario": d.scenario, "started_at": d.started_at, "finished_at": d.finished_at,
                     "seconds_to_page": d.seconds_to_page, "seconds_to_ack": d.seconds_to_ack, "report": report},
            period_start=d.started_at, period_end=d.finished_at,
        ))
    return drafts


def _weeks(start, end) -> set[str]:
    """ISO week labels (as ``oncall.services.metrics`` writes them) of every day in the period."""
    out, day = set(), start.date()
    while day <= end.date():
        year, week, _ = day.isocalendar()
        out.add(f"{year}-W{week:02d}")
        day += timedelta(days=1)
    return out


def collect_response_metrics(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: MTTA and MTTR per week and source (drills excluded), as on-call computes
    them (``oncall.services.metrics``)."""
    from oncall import services
    from oncall.models import Incident

    incidents = Incident.objects.filter(is_drill=False, triggered_at__gte=period_start, triggered_at__lte=period_end)
    n = incidents.count()
    if not n:
        return []
    data = services.metrics(since=period_start)
    weeks = _weeks(period_start, period_end)
    weekly = [w for w in data["weekly"] if w["week"] in weeks]
    acked = [i for i in incidents.only("triggered_at", "acknowledged_at", "resolved_at") if i.acknowledged_at]
    resolved = [i for i in incidents.only("triggered_at", "resolved_at") if i.resolved_at]
    mtta = sum((i.acknowledged_at - i.triggered_at).total_seconds() for i in acked) / len(acked) if acked else None
    mttr = sum((i.resolved_at - i.triggered_at).total_seconds() for i in resolved) / len(resolved) if resolved else None
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"Incident response: {n} incident(s), MTTA {f'{mtta / 60:.1f} min' if mtta is not None else '—'}, "
              f"MTTR {f'{mttr / 60:.1f} min' if mttr is not None else '—'}",
        summary="MTTA counts acknowledged incidents only (never-acknowledged ones are counted separately); MTTR runs to resolve.",
        content={"incidents": n, "acknowledged": len(acked), "resolved": len(resolved), "mtta_s": mtta, "mttr_s": mttr,
                 "weekly": weekly, "sources_since_period_start": data["sources"]},
        period_start=period_start, period_end=period_end,
    )]


def collect_slo_burn(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: each SLO's daily good/total events, error rate and burn rate, and the
    burn-rate incidents raised."""
    from django.db.models import Sum
    from django.db.models.functions import TruncDate

    from oncall.models import Incident, SliBucket, SloDefinition

    slos = []
    for slo in SloDefinition.objects.order_by("name"):
        budget = 1 - slo.target
        days = list(SliBucket.objects.filter(slo=slo, minute__gte=period_start, minute__lte=period_end)
                    .annotate(day=TruncDate("minute")).values("day").annotate(good=Sum("good"), total=Sum("total")).order_by("day"))
        incidents = list(Incident.objects.filter(dedup_key__startswith=f"slo:{slo.name}:", triggered_at__gte=period_start,
                                                 triggered_at__lte=period_end).values_list("dedup_key", "triggered_at", "status"))
        if not days and not incidents:
            continue
        rows = []
        for d in days:
            err = (d["total"] - d["good"]) / d["total"] if d["total"] else 0.0
            rows.append({"day": d["day"], "good": d["good"], "total": d["total"], "error_rate": round(err, 6),
                         "burn_rate": round(err / budget, 3) if budget > 0 else None})
        good, total = sum(r["good"] for r in rows), sum(r["total"] for r in rows)
        slos.append({"slo": slo.name, "service": slo.service, "target": slo.target, "window_days": slo.window_days,
                     "good": good, "total": total, "met": (good / total >= slo.target) if total else None, "daily": rows,
                     "burn_incidents": [{"severity": k.rsplit(":", 1)[-1], "at": at, "status": st} for k, at, st in incidents]})
    if not slos:
        return []
    met = sum(1 for s in slos if s["met"])
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"SLO burn-rate history: {met} of {len(slos)} SLO(s) met their target in the period",
        summary="Daily SLI events per SLO with error and burn rates, and the multi-window burn-rate incidents raised.",
        content={"slos": slos}, period_start=period_start, period_end=period_end,
    )]


register(Provider(
    id="oncall.drills", title="On-call drill reports", version="1", app="oncall", collect=collect_drills,
    description="Drills run through the real escalation path, with time to page and to acknowledge.",
    controls={"soc2": ["CC7.4", "CC7.3", "A1.3"], "iso27001": ["A.5.24", "A.5.26", "A.5.30"]},
))
register(Provider(
    id="oncall.response_metrics", title="MTTA and MTTR history", version="1", app="oncall", collect=collect_response_metrics,
    description="Mean time to acknowledge and to resolve, per week and source.",
    controls={"soc2": ["CC7.3", "CC7.4", "CC4.2"], "iso27001": ["A.5.25", "A.5.26", "A.5.27"]},
))
register(Provider(
    id="oncall.slo_burn", title="SLO burn-rate history", version="1", app="oncall", collect=collect_slo_burn,
    description="Daily SLI events, error and burn rates per SLO, and burn-rate incidents.",
    controls={"soc2": ["A1.1", "A1.2", "CC7.2"], "iso27001": ["A.8.6", "A.8.16", "A.5.30"]},
))
