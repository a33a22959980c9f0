"""Evidence the Policy Studio offers to the compliance workspace (registered at start-up; see
trustfabric/evidence.py): bundle checks (lint, types, red-team), the promotion and rollback log,
drift reports and decision-log statistics."""

from __future__ import annotations

from datetime import timedelta

from trustfabric.evidence import EvidenceDraft, Provider, period_ref, register

MAX_LISTED = 500
SNAPSHOT_RECENT = timedelta(hours=36)  # a drift snapshot is "now": only periods ending recently get one


def collect_bundle_checks(period_start, period_end) -> list[EvidenceDraft]:
    """One item per bundle version created in the period, with the checks stored at creation."""
    from studio.models import PolicyBundle
    from studio.services import checks_pass

    drafts = []
    for b in PolicyBundle.objects.filter(created_at__gte=period_start, created_at__lte=period_end).select_related("author").order_by("created_at"):
        checks = b.checks or {}
        ok, problems = checks_pass(checks)
        rt = checks.get("redteam") or {}
        drafts.append(EvidenceDraft(
            source_ref=f"bundle:{b.digest}",
            title=f"Policy bundle {b.version}: checks {'pass' if ok else 'fail'} (red-team {rt.get('passed', '?')}/{rt.get('total', '?')})",
            summary="Lint, type and red-team results recorded when the bundle version was created.",
            content={"digest": b.digest, "version": b.version, "registered": b.registered, "created_at": b.created_at,
                     "author": b.author.get_username() if b.author else None, "change_note": b.change_note[:500],
                     "gate_passes": ok, "problems": problems,
                     "errors": checks.get("errors"), "warnings": checks.get("warnings"), "policies": checks.get("policies"),
                     "lint": checks.get("lint", [])[:50], "redteam": rt},
            period_start=b.created_at, period_end=b.created_at,
        ))
    return drafts


def collect_deployments(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: every change of what an environment runs (merges, promotions, rollbacks,
    drift remediations), with the witness entry of each."""
    from studio.models import Deployment

    rows = list(Deployment.objects.filter(at__gte=period_start, at__lte=period_end)
                .select_related("bundle", "previous", "actor", "change").order_by("at", "id"))
    if not rows:
        return []
    kinds: dict[str, int] = {}
    for d in rows:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    label = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"Policy promotion and rollback log: {label}",
        summary="Each deployment names the bundle before and after, who did it, the change request and its witness entry.",
        content={"count": len(rows), "by_kind": kinds, "truncated": max(0, len(rows) - MAX_LISTED),
                 "deployments": [{"at": d.at, "environment": d.environment, "kind": d.kind, "version": d.bundle.version,
                                  "digest": d.bundle.digest, "previous": d.previous.digest if d.previous else None,
                                  "actor": d.actor.get_username() if d.actor else None,
                                  "change": d.change.ref if d.change else None, "note": d.note, "witness_entry": d.witness_entry}
                                 for d in rows[:MAX_LISTED]]},
        period_start=period_start, period_end=period_end,
    )]


def collect_drift(period_start, period_end) -> list[EvidenceDraft]:
    """A snapshot of the drift report of each environment (registered digest against what every decision
    point reports), for periods that end about now. Never bootstraps environments that do not exist."""
    from django.utils import timezone

    from studio import services
    from studio.models import Environment

    now = timezone.now()
    if period_end < now - SNAPSHOT_RECENT:
        return []
    envs = [e for e in Environment.Name.values if Environment.objects.filter(name=e, bundle__isnull=False).exists()]
    if not envs:
        return []
    reports = []
    for name in envs:
        r = services.drift_report(name, now=now)
        reports.append({
            "environment": r["environment"], "expected": r["expected"], "version": r["version"], "drifting": len(r["drifting"]),
            "headline": r["headline"],
            "points": [{"point_id": p["point_id"], "state": p["state"], "reported": p["reported"], "builtin": p["builtin"],
                        "known": p["known"], "registered": p["registered"], "version": p["version"], "mismatch_since": p["since"]}
                       for p in r["points"]],
        })
    drifting = sum(r["drifting"] for r in reports)
    return [EvidenceDraft(
        source_ref=f"drift:{now.date().isoformat()}",
        title=f"Policy drift report: {'no drift' if not drifting else f'{drifting} drifting point(s)'} in {', '.join(envs)}",
        summary="What each decision point runs, against the registered bundle of its environment.",
        content={"environments": reports, "drifting": drifting},
        period_start=now, period_end=now,
    )]


def collect_decisions(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: decision-log counts by environment, effect and mode, minimization
    obligations applied, and just-in-time approvals and grants."""
    from django.db.models import Count

    from studio.models import ApprovalRequest, DecisionRecord, Grant

    qs = DecisionRecord.objects.filter(at__gte=period_start, at__lte=period_end)
    by = list(qs.values("environment", "effect", "mode").annotate(n=Count("id")).order_by("environment", "effect", "mode"))
    approvals = dict(ApprovalRequest.objects.filter(created_at__gte=period_start, created_at__lte=period_end)
                     .values_list("status").annotate(n=Count("id")).order_by())
    grants = Grant.objects.filter(granted_at__gte=period_start, granted_at__lte=period_end)
    if not by and not approvals:
        return []
    total = sum(r["n"] for r in by)
    minimized = qs.exclude(obligations=[]).count()
    with_reason = qs.exclude(reason_for_access="").count()
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"Access decisions: {total} logged, {sum(approvals.values())} approval request(s)",
        summary="Every decide call is logged with the bundle digest that made it; counts by environment, effect and mode.",
        content={"decisions": total, "by_environment_effect_mode": by, "with_minimization": minimized,
                 "with_reason_for_access": with_reason, "approvals_by_status": approvals,
                 "grants": grants.count(), "grants_revoked": grants.filter(revoked_at__isnull=False).count()},
        period_start=period_start, period_end=period_end,
    )]


register(Provider(
    id="studio.bundle_checks", title="Policy bundle checks (lint, types, red-team)", version="1", app="studio",
    collect=collect_bundle_checks, description="Checks stored with each policy bundle version created in the period.",
    controls={"soc2": ["CC8.1", "CC5.2", "CC3.4"], "iso27001": ["A.8.29", "A.8.28", "A.8.25"]},
))
register(Provider(
    id="studio.deployments", title="Policy promotion and rollback log", version="1", app="studio",
    collect=collect_deployments, description="Merges, promotions, rollbacks and remediations of the period.",
    controls={"soc2": ["CC8.1", "CC7.5"], "iso27001": ["A.8.32", "A.8.31", "A.8.19"]},
))
register(Provider(
    id="studio.drift", title="Policy drift reports", version="1", app="studio",
    collect=collect_drift, description="Registered bundle against what every decision point reports, per environment.",
    controls={"soc2": ["CC7.1", "CC8.1"], "iso27001": ["A.8.9", "A.8.32"]},
))
register(Provider(
    id="studio.decisions", title="Access decision log statistics", version="1", app="studio",
    collect=collect_decisions, description="Decisions by environment, effect and mode; approvals and grants.",
    controls={"soc2": ["CC6.1", "CC6.3", "C1.1", "P4.1"], "iso27001": ["A.5.15", "A.5.18", "A.8.3", "A.8.11"]},
))
