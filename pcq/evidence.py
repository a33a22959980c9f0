"""Evidence PCQ offers to the compliance workspace (registered at start-up; see
trustfabric/evidence.py): replay coverage per day, canary drill results and canary verdicts."""

from __future__ import annotations

from trustfabric.evidence import EvidenceDraft, Provider, period_ref, register


def collect_coverage(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: jobs seen, sampled, verified and failed per day, against the daily
    sampling target (``pcq.services.daily_history`` and ``coverage_today``)."""
    from pcq import services

    days = (period_end.date() - period_start.date()).days + 1
    history = [d for d in services.daily_history(days=days, now=period_end)
               if period_start.date() <= d["day"] <= period_end.date()]
    if not history:
        return []
    target = services.coverage_today(now=period_end)["target"]
    seen = sum(d["seen"] for d in history)
    sampled = sum(d["sampled"] for d in history)
    below = [d["day"] for d in history if d["rate"] + 1e-9 < target]
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"PCQ replay coverage: {sampled} of {seen} jobs sampled over {len(history)} day(s), "
              f"{len(below)} day(s) below the {target:.0%} target",
        summary="Share of production analytics jobs replayed from their manifests each day, with verified and failed counts.",
        content={"target": target, "days": history, "seen": seen, "sampled": sampled,
                 "verified": sum(d["verified"] for d in history), "failed": sum(d["failed"] for d in history),
                 "days_below_target": below},
        period_start=period_start, period_end=period_end,
    )]


def collect_canary_drills(period_start, period_end) -> list[EvidenceDraft]:
    """One item per finished canary drill: false-alarm rate and MTTA against their targets."""
    from pcq.models import DrillRun

    drafts = []
    for run in DrillRun.objects.filter(status="done", started_at__gte=period_start, started_at__lte=period_end).order_by("started_at"):
        s = run.summary or {}
        far, mtta = s.get("false_alarm_rate"), s.get("mtta_s")
        drafts.append(EvidenceDraft(
            source_ref=f"canary-drill:{run.pk}",
            title=f"Canary drill: {'targets met' if s.get('passed') else 'targets missed'} "
                  f"(false alarms {far:.1%}" + (f", MTTA {mtta / 60:.1f} min)" if mtta is not None else ", no acknowledged page)")
            if far is not None else f"Canary drill {run.started_at:%Y-%m-%d %H:%M}",
            summary="Labeled benign and regressed canaries judged like production; pages went through on-call as drills.",
            content={"drill": run.pk, "started_at": run.started_at, "finished_at": run.finished_at, "params": run.params,
                     "summary": {k: v for k, v in s.items() if k != "bands"}},
            period_start=run.started_at, period_end=run.finished_at or run.started_at,
        ))
    return drafts


def collect_canary_verdicts(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: canary verdicts by outcome and alert level, and the canary versions judged."""
    from django.db.models import Count

    from pcq.models import CanaryVerdict

    qs = CanaryVerdict.objects.filter(started_at__gte=period_start, started_at__lte=period_end)
    rows = list(qs.values("canary_version", "verdict", "level").annotate(n=Count("id")).order_by("canary_version", "verdict", "level"))
    if not rows:
        return []
    total = sum(r["n"] for r in rows)
    deltas = sum(r["n"] for r in rows if r["verdict"] == "delta")
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"Canary verdicts: {total} judged, {deltas} true delta(s)",
        summary="Sampled jobs run on prod, a second prod and the canary; deltas beyond the learned noise band page on-call.",
        content={"verdicts": total, "deltas": deltas, "by_version_verdict_level": rows},
        period_start=period_start, period_end=period_end,
    )]


register(Provider(
    id="pcq.coverage", title="PCQ replay coverage", version="1", app="pcq", collect=collect_coverage,
    description="Daily share of jobs replayed from their manifests, against the sampling target.",
    controls={"soc2": ["PI1.3", "PI1.4", "CC4.1"], "iso27001": ["A.8.29", "A.8.16", "A.5.36"]},
))
register(Provider(
    id="pcq.canary_drills", title="Canary drill results", version="1", app="pcq", collect=collect_canary_drills,
    description="False-alarm rate and MTTA of canary drills, against their targets.",
    controls={"soc2": ["CC7.4", "PI1.3", "CC8.1"], "iso27001": ["A.5.24", "A.8.29", "A.8.32"]},
))
register(Provider(
    id="pcq.canary_verdicts", title="Canary verdicts", version="1", app="pcq", collect=collect_canary_verdicts,
    description="Canary verdicts by outcome and alert level.",
    controls={"soc2": ["PI1.3", "CC8.1", "CC7.2"], "iso27001": ["A.8.29", "A.8.32", "A.8.16"]},
))
