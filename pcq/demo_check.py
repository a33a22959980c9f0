"""PCQ's part of ``manage.py demo --check``: a dataset and a job submitted over the API as a producer
would, sampled (the first job of a new tenant), replayed by the server's worker and verified."""

from __future__ import annotations

import json
import time

from trustfabric.demo import CheckContext, Http


def checks(ctx: CheckContext):
    return [("replay (job → worker → verdict)", lambda: _replay(ctx.url, ctx.token, ctx.timeout))]


def _replay(url: str, token: str, timeout: float) -> str:
    from pcq import engine

    http = Http(url, token)
    ds = engine.generate_graph("gnm", 60, seed=int(time.time()) % 10_000, weighted=True)
    edges = [[ds.nodes[i], ds.nodes[j], w] for (i, j), w in zip(ds.edges, ds.weights, strict=True)]
    status, body, _ = http.request("POST", "/api/pcq/datasets", data={"edges": edges, "weighted": True, "nodes": list(ds.nodes)})
    if status not in (200, 201):
        raise RuntimeError(f"dataset upload → {status}: {body[:200]!r}")
    job_id = f"demo-check-{int(time.time())}"
    manifest, result = engine.execute(ds, job_id=job_id, kind="pagerank", tenant=f"check-{int(time.time())}", tier=1,
                                      parameters=engine.normalize_parameters("pagerank", {"alpha": 0.85, "weighted": True}))
    status, body, _ = http.request("POST", "/api/pcq/jobs", data={"manifest": manifest, "result": result.body})
    job = json.loads(body)
    if status not in (200, 201):
        raise RuntimeError(f"job submit → {status}: {job}")
    if not job.get("sampled"):
        raise RuntimeError(f"the first job of a new tenant must be sampled: {job.get('sample_reason')}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body, _ = http.request("GET", f"/api/pcq/jobs/{job['id']}")
        job = json.loads(body)
        if job.get("status") in ("verified", "failed", "error"):
            break
        time.sleep(0.5)
    if job.get("status") != "verified":
        raise RuntimeError(f"replay did not verify within {timeout:.0f} s (status {job.get('status')})")
    return f"job {job_id} sampled, replayed by the worker, verified"
