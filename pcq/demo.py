"""Demo data for PCQ (called by ``manage.py seed_demo``; idempotent).

Two weeks of jobs from three tenants on small graphs, the sampled ones replayed (coverage history),
and one canary delta: the planted PageRank regression switched on for one verdict, then off again.
Replays and canary runs execute here, synchronously, so the demo does not depend on a worker being
up; the tasks ``job_submit`` dispatches find the work done (``pcq.tasks`` skips finished jobs).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from pcq import engine, services
from pcq.models import CanaryVerdict, Job, Replay

KINDS = ("pagerank", "shortest_paths", "components", "k_shortest_paths", "louvain")
CHEAP = ("pagerank", "shortest_paths", "components")
TENANTS = ("acme", "globex", "initech")
JOBS_PER_DAY = 45
DAYS = 14
CREATED_AT = "2026-01-05T09:00:00.000000Z"


def seed(users: dict[str, Any]) -> list[str]:
    if Job.objects.exists():
        return []
    producer = users["oncall"]
    datasets = []
    for i, model in enumerate(("gnm", "ba", "sbm")):
        ds = engine.generate_graph(model, 120, seed=40 + i, weighted=True)
        engine.store_dataset(services.data_dir(), ds)
        datasets.append(ds)
    rng = random.Random(5)
    now = timezone.now()
    submitted = replayed = 0
    for day in range(DAYS, -1, -1):
        for n in range(JOBS_PER_DAY):
            kind = KINDS[(day + n) % len(KINDS)] if n < 10 else CHEAP[n % len(CHEAP)]
            ds = datasets[n % len(datasets)]
            params, seed_ = engine.workload.jobs_for_dataset(kind, ds, rng)
            manifest, result = engine.execute(
                ds, job_id=f"demo-{day:02d}-{n:02d}", kind=kind, tenant=TENANTS[n % len(TENANTS)], tier=1 + n % 3,
                parameters=params, seed=seed_ if engine.KINDS[kind].needs_seed(params) else None, created_at=CREATED_AT)
            job = services.job_submit(producer=producer, manifest=manifest, result=result.body,
                                      now=now - timedelta(days=day, minutes=5 * (JOBS_PER_DAY - n)))
            submitted += 1
            if job.sampled:
                replay = services.replay_run(job_id=job.pk)
                # the history is replayed now; give each replay the timing it would have had on the day
                lag = rng.uniform(2.0, 40.0)
                Replay.objects.filter(pk=replay.pk).update(
                    started_at=job.submitted_at + timedelta(seconds=lag), queue_lag_s=lag,
                    finished_at=job.submitted_at + timedelta(seconds=lag + (replay.duration_s or 0.1)))
                replayed += 1
    done = [f"pcq: {submitted} jobs over {DAYS + 1} days, {replayed} sampled and replayed"]
    if not CanaryVerdict.objects.exists():
        services.canary_config_current()
        job = Job.objects.filter(kind="pagerank", sampled=True).order_by("-submitted_at").first()
        if job is not None:
            services.canary_regression_set(actor="seed_demo", regression="pagerank_damping", reason="demo: planted regression")
            verdict = services.canary_run(job_id=job.pk)
            services.canary_regression_set(actor="seed_demo", regression="none", reason="demo: regression switched off")
            done.append(f"pcq: one canary delta on {job.job_id} ({verdict.level if verdict else 'no verdict'})")
    return done
