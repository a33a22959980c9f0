"""Jobs, datasets and an on-call rotation for the canary and drill tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from pcq import engine, services

CREATED_AT = "2026-05-09T07:35:25.000000Z"  # fixed, so manifests (and the canary's run salts) are reproducible


def graph(model="gnm", n=150, seed=3, weighted=True):
    ds = engine.generate_graph(model, n, seed=seed, weighted=weighted)
    engine.store_dataset(services.data_dir(), ds)
    return ds


def submit(producer, ds, *, job_id, kind="pagerank", tenant="acme", tier=1, parameters=None, seed=None):
    """Run the job with the production engine and submit it (manifest + result) as ``producer``."""
    if parameters is None:
        import random

        parameters, s = engine.workload.jobs_for_dataset(kind, ds, random.Random(job_id))
        seed = s if engine.KINDS[kind].needs_seed(parameters) else None
    manifest, result = engine.execute(ds, job_id=job_id, kind=kind, tenant=tenant, tier=tier, parameters=parameters,
                                      seed=seed, created_at=CREATED_AT)
    return services.job_submit(producer=producer, manifest=manifest, result=result.body)


def rotation(users):
    """A schedule of ``users`` and a default escalation policy that pages them at once (in-app)."""
    from oncall import services as oncall

    sched = oncall.schedule_create(actor="tests", name="pcq-rotation", users=users, starts_at=timezone.now() - timedelta(days=1))
    return oncall.policy_create(actor="tests", name="pcq-default", is_default=True,
                                steps=[{"delay": timedelta(0), "schedule": sched, "channels": ["inapp"]}])
