"""Read-side figures of the exchange for the console, the partner portal and the pilot command.

No writes here. Per run: per-tenant throughput over time, latency percentiles, error and throttle
rates, verdict mix (never counts: partners see these pages too), and the acceptance checklist
that says whether a run is ready to be signed off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from zktx.models import AuditBundle, Epoch, PartnerKey, Pilot, PilotRun, Query, ServiceLog


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in [0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _ms(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() * 1000


def run_stats(run: PilotRun, *, buckets: int = 12) -> dict[str, Any]:
    """Per tenant (querier organization): submitted, verdicts, failures, throttles, latency, throughput."""
    queries = list(Query.objects.filter(run=run).select_related("tenant").order_by("submitted_at"))
    throttles = ServiceLog.objects.filter(run=run, event="query.throttled")
    throttled: dict[str, int] = {}
    for line in throttles.values_list("fields", flat=True):
        throttled[line.get("tenant", "?")] = throttled.get(line.get("tenant", "?"), 0) + 1
    if queries:
        t0 = queries[0].submitted_at
        t1 = max((q.verdict_at or q.submitted_at) for q in queries)
    else:
        t0 = t1 = run.started_at
    span = max((t1 - t0).total_seconds(), 1e-3)
    width = span / buckets
    tenants: dict[str, dict[str, Any]] = {}
    order = sorted((q for q in queries if q.verdict_at), key=lambda q: (q.verdict_at, q.pk))
    for slug in sorted({q.tenant.slug for q in queries} | set(throttled)):
        mine = [q for q in queries if q.tenant.slug == slug]
        done = [q for q in mine if q.status == Query.Status.VERDICT]
        lat = [_ms(q.submitted_at, q.verdict_at) for q in done]
        proc = [q.process_ms for q in done if q.process_ms is not None]
        failed = sum(1 for q in mine if q.status == Query.Status.FAILED)
        series = [0] * buckets
        for q in done:
            i = min(buckets - 1, int((q.verdict_at - t0).total_seconds() / width)) if width > 0 else 0
            series[i] += 1
        ranks = [i for i, q in enumerate(order) if q.tenant.slug == slug]
        attempts = len(mine) + throttled.get(slug, 0)
        tenants[slug] = {
            "submitted": len(mine),
            "throttled": throttled.get(slug, 0),
            "verdicts": len(done),
            "failed": failed,
            "within": sum(1 for q in done if q.verdict == "within"),
            "exceeds": sum(1 for q in done if q.verdict == "exceeds"),
            "latency_p50_ms": percentile([x for x in lat if x is not None], 50),
            "latency_p95_ms": percentile([x for x in lat if x is not None], 95),
            "process_p95_ms": percentile(proc, 95),
            "error_rate": (failed / len(mine)) if mine else 0.0,
            "throttle_rate": (throttled.get(slug, 0) / attempts) if attempts else 0.0,
            "throughput_per_s": len(done) / span if done else 0.0,
            "first_verdict_rank": ranks[0] + 1 if ranks else None,
            "last_verdict_rank": ranks[-1] + 1 if ranks else None,
            "timeline": series,
        }
    all_lat = [_ms(q.submitted_at, q.verdict_at) for q in queries if q.verdict_at]
    return {
        "run": run.label,
        "window_seconds": span,
        "bucket_seconds": width,
        "queries": len(queries),
        "verdicts": sum(1 for q in queries if q.status == Query.Status.VERDICT),
        "latency_p50_ms": percentile([x for x in all_lat if x is not None], 50),
        "latency_p95_ms": percentile([x for x in all_lat if x is not None], 95),
        "error_rate": (sum(1 for q in queries if q.status == Query.Status.FAILED) / len(queries)) if queries else 0.0,
        "tenants": tenants,
    }


def run_checklist(run: PilotRun) -> list[dict[str, Any]]:
    """What must hold before a run is signed off, each item with ``ok`` and a detail."""
    pilots = list(run.pilots.select_related("holder", "querier"))
    orgs = {p.holder_id: p.holder for p in pilots} | {p.querier_id: p.querier for p in pilots}
    keyed = {k.organization_id for k in PartnerKey.objects.filter(organization_id__in=orgs, status="active")}
    epochs = list(Epoch.objects.filter(run=run))
    committed = [e for e in epochs if e.transcript_blob]
    queries = Query.objects.filter(run=run)
    counts = queries.aggregate(total=Count("id"), verdicts=Count("id", filter=Q(status=Query.Status.VERDICT)),
                               failed=Count("id", filter=Q(status=Query.Status.FAILED)),
                               logged=Count("id", filter=~Q(witness_leaf_hash="")))
    bundle = AuditBundle.objects.filter(run=run).order_by("-created_at").first()
    items = [
        ("partner_keys", len(keyed) == len(orgs) and bool(orgs),
         f"{len(keyed)}/{len(orgs)} partners registered identity and BLS keys (PoP verified)"),
        ("headers_signed", bool(epochs) and all(e.holder_signature and e.querier_signature for e in epochs),
         f"{sum(1 for e in epochs if e.holder_signature and e.querier_signature)}/{len(epochs)} session headers signed by both"),
        ("epochs_verified", bool(committed) and len(committed) == len(epochs),
         f"{len(committed)}/{len(epochs)} epochs verified (verify_epoch) and committed"),
        ("verdicts_released", counts["total"] > 0 and counts["verdicts"] == counts["total"],
         f"{counts['verdicts']}/{counts['total']} queries have a verified verdict ({counts['failed']} failed)"),
        ("transcripts_logged", counts["verdicts"] > 0 and counts["logged"] >= counts["verdicts"],
         f"{counts['logged']}/{counts['verdicts']} transcript digests in the witness log"),
        ("bundle_accepted", bool(bundle) and len(bundle.acceptances) == len(bundle.partners) and bool(bundle.partners),
         f"{len(bundle.acceptances) if bundle else 0}/{len(bundle.partners) if bundle else len(orgs)} partners accepted the bundle"),
        ("bundle_logged", bool(bundle) and bundle.status == AuditBundle.Status.READY and bool(bundle.witness_leaf_hash),
         f"bundle {bundle.status if bundle else 'not exported'}"
         + (f", digest {bundle.bundle_digest[:16]}… logged" if bundle and bundle.bundle_digest else "")),
    ]
    return [{"item": name, "ok": bool(ok), "detail": detail} for name, ok, detail in items]


def pilot_overview(pilot: Pilot) -> dict[str, Any]:
    epochs = Epoch.objects.filter(pilot=pilot)
    current = epochs.exclude(status=Epoch.Status.CLOSED).filter(purpose=Epoch.Purpose.REGULAR).order_by("-number").first()
    q = Query.objects.filter(pilot=pilot).aggregate(
        total=Count("id"), verdicts=Count("id", filter=Q(status=Query.Status.VERDICT)),
        within=Count("id", filter=Q(verdict="within")), exceeds=Count("id", filter=Q(verdict="exceeds")))
    return {
        "epochs": epochs.count(),
        "current_epoch": {"id": str(current.pk), "number": current.number, "status": current.status} if current else None,
        "queries": q,
        "runs": [r.label for r in pilot.runs.order_by("-started_at")[:10]],
    }
