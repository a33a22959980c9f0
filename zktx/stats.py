"""Read-only figures for the pilot console and the partner portal over a period: counts, verdicts,
latency and error rate, and per-tenant throughput over time (per-run figures and the acceptance
checklist are :mod:`zktx.reports`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from zktx.models import Query
from zktx.reports import percentile

MAX_ROWS = 50_000


def summary(queries: QuerySet[Query]) -> dict[str, Any]:
    """Counts, verdicts, error rate and latency (submission → verdict) of a set of queries."""
    rows = list(queries.values_list("status", "verdict", "error_code", "submitted_at", "verdict_at", "process_ms")[:MAX_ROWS])
    done = [r for r in rows if r[4] is not None]
    latency = [(r[4] - r[3]).total_seconds() * 1000 for r in done]
    errors = sum(1 for r in rows if r[2])
    verdicts = Counter(r[1] for r in rows if r[1])
    return {"total": len(rows), "verdicts": dict(verdicts), "errors": errors,
            "error_rate": errors / len(rows) if rows else 0.0, "pending": len(rows) - len(done) - errors,
            "p50_ms": percentile(latency, 50), "p95_ms": percentile(latency, 95),
            "process_p95_ms": percentile([r[5] for r in done if r[5] is not None], 95)}


def series(queries: QuerySet[Query], *, since: datetime, buckets: int = 24) -> dict[str, Any]:
    """Per time bucket: p95 latency, error rate, and verdicts per tenant (fairness)."""
    now = timezone.now()
    span = max((now - since).total_seconds(), 60.0)
    width = span / buckets
    rows = list(queries.filter(submitted_at__gte=since).values_list("submitted_at", "verdict_at", "error_code",
                                                                  "tenant__name")[:MAX_ROWS])
    lat: dict[int, list[float]] = defaultdict(list)
    err: Counter = Counter()
    tot: Counter = Counter()
    tenants: dict[str, Counter] = defaultdict(Counter)
    for sub, ver, code, tenant in rows:
        b = min(buckets - 1, int((sub - since).total_seconds() // width))
        tot[b] += 1
        if code:
            err[b] += 1
        if ver is not None:
            lat[b].append((ver - sub).total_seconds() * 1000)
            tenants[tenant][b] += 1
    labels = [since + timedelta(seconds=width * (i + 0.5)) for i in range(buckets)]
    return {"labels": labels,
            "p95_ms": [percentile(lat[i], 95) for i in range(buckets)],
            "error_rate": [(err[i] / tot[i]) if tot[i] else None for i in range(buckets)],
            "tenants": {t: [c[i] for i in range(buckets)] for t, c in sorted(tenants.items())},
            "width_s": width}
