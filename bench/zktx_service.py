"""ZK-TX service benchmark — sustained queries per second through the exchange's API, with error rate.

    .venv/bin/python bench/zktx_service.py [--holder 5000] [--queries 200] [--query-size 16] [--batch 20]

Runs in a subprocess with a fresh embedded database (its own ``TF_VAR_DIR``). Both partners use the
real client library against the real API in-process (``zktx.inprocess``: routing, middleware, token
auth, views), and the exchange's work runs as the ``zktx`` workers would (``services.queue_process``).
Prints (nothing is asserted):

1. **Sustained queries/s** end to end, in batches of ``--batch``: the querier blinds, signs and submits;
   the holder evaluates with proofs; the exchange matches, verifies (``verify_transcript``), logs the
   transcript digest in the witness and releases receipts; the querier checks each receipt and its
   log inclusion. Error rate = refused or failed queries / attempts.
2. **Exchange share**: per-query match + verify + witness append + receipt (p50/p95 ms), against the
   bare protocol (``Exchange.match`` + ``verify_transcript``) on the same sizes — the service's
   overhead ratio.
3. **Fair sharing under skew**: a tenant bursting ``4 × batch`` large queries and a light tenant with
   a few small ones on one exchange served ``--capacity`` queries per round: per-tenant throughput and
   the light tenant's first verdict rank (WFQ) against arrival order (FIFO).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def worker(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    import logging

    for name in ("trustfabric.request", "zktx.exchange", "django.request"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from accounts import services as acc
    from witness import services as witness
    from zktx import services
    from zktx.client.api import ApiError, ExchangeApi
    from zktx.client.partner import PartnerClient
    from zktx.client.state import LocalState
    from zktx.datasets import make_dataset
    from zktx.inprocess import DjangoClientTransport
    from zktx.models import EpochEvaluation, Query
    from zktx.protocol.selectors import normalize_many

    pw = os.urandom(12).hex() + "Aa1!"
    ops = acc.organization_create(actor="bench", name="Ops", kind="operator", slug="ops")
    admin = acc.user_create(actor="bench", organization=ops, username="bench-admin", password=pw, roles=["admin"])
    users = {}
    for slug in ("bank", "telco"):
        org = acc.organization_create(actor="bench", name=slug.title(), kind="partner", slug=slug)
        users[slug] = acc.user_create(actor="bench", organization=org, username=f"bench-{slug}", password=pw,
                                      roles=["partner_user"])
        services.quota_set(actor=admin, organization=org, burst=10_000, rate_per_minute=100_000)
    transport = DjangoClientTransport()

    def api(user):
        return ExchangeApi(transport, acc.api_token_create(actor=user, user=user, name="bench")[1])

    tmp = Path(tempfile.mkdtemp())
    clients = {slug: PartnerClient(api(u), LocalState(tmp / slug), workers=args.workers) for slug, u in users.items()}
    for c in clients.values():
        c.init()
        c.register_keys()
    operator = api(admin)

    def lane(name, holder, querier, holder_size, k=3):
        pilot = operator.call("POST", "pilots", {"name": name, "holder": holder, "querier": querier, "k": k,
                                                 "min_holder_set": 100, "min_query": 8, "max_query": 4096,
                                                 "query_budget": 100_000, "min_novel": 1})
        h, q = clients[holder], clients[querier]
        h.pepper_init(name)
        h.pepper_export(name, tmp / f"{name}.hex")
        q.pepper_import(name, tmp / f"{name}.hex")
        e = operator.start_epoch(pilot["id"])["id"]
        h.setup_epoch(e)
        q.setup_epoch(e)
        h.setup_epoch(e)
        return e, h, q

    # 1. sustained queries/s
    n = args.queries
    ds = make_dataset(seed=3, holder_size=args.holder, n_queries=n, query_size=args.query_size, k=3)
    eid, h, q = lane("S", "bank", "telco", args.holder)
    h.upload_holder_set(eid, normalize_many("phone", ds.holder)[0])
    q.answer_pending()
    for ev in EpochEvaluation.objects.filter(status="verifying"):
        services.epoch_commit_run(evaluation_id=ev.pk)
    errors = attempts = correct = 0
    exchange_ms: list[float] = []
    t0 = time.perf_counter()
    for start in range(0, n, args.batch):
        qpks = []
        for i in range(start, min(n, start + args.batch)):
            attempts += 1
            try:
                qpks.append((i, q.make_query(eid, normalize_many("phone", ds.queries[i])[0])["id"]))
            except ApiError:
                errors += 1
        h.answer_pending(limit=args.batch)
        services.queue_process()
        witness.sequence_until_idle()
        for i, qpk in qpks:
            v = q.verdict(qpk)
            errors += not v.ok
            correct += v.verdict == ds.expected(i)
    wall = time.perf_counter() - t0
    for row in Query.objects.filter(status="verdict"):
        exchange_ms.append(row.process_ms)
    errors += Query.objects.filter(status="failed").count()

    # 2. the bare protocol on the same sizes
    from zktx.protocol.simulate import new_scenario
    from zktx.protocol.transcript import Policy
    from zktx.protocol.verify import verify_epoch, verify_transcript

    sc = new_scenario(Policy(k=3, min_holder_set=100, min_query=8, query_budget=10**6), seed=b"bench")
    sc.run_epoch(normalize_many("phone", ds.holder)[0])
    ve = verify_epoch(sc.epoch.transcript, keys=sc.keys)
    bare = []
    for i in range(min(n, 50)):
        request = sc.querier.make_query(normalize_many("phone", ds.queries[i])[0], query_id=f"b{i}")
        evaluation = sc.holder.evaluate_query(request)
        t = time.perf_counter()
        tr = sc.exchange.match(sc.epoch, request, evaluation)
        verify_transcript(tr, keys=sc.keys, epoch=ve)
        bare.append((time.perf_counter() - t) * 1000)

    # 3. skew: a burst of large queries vs a light tenant
    ds_h = make_dataset(seed=5, holder_size=1000, n_queries=4 * args.batch, query_size=64, k=3)
    ds_l = make_dataset(seed=6, holder_size=300, n_queries=6, query_size=16, k=3)
    e_h, hh, hq = lane("H", "bank", "telco", 1000)
    e_l, lh, lq = lane("L", "telco", "bank", 300)
    hh.upload_holder_set(e_h, normalize_many("phone", ds_h.holder)[0])
    lh.upload_holder_set(e_l, normalize_many("phone", ds_l.holder)[0])
    hq.answer_pending()
    lq.answer_pending()
    for ev in EpochEvaluation.objects.filter(status="verifying"):
        services.epoch_commit_run(evaluation_id=ev.pk)
    for raw in ds_h.queries:
        hq.make_query(e_h, normalize_many("phone", raw)[0])
    order: list[str] = []
    done_at: dict[str, list[float]] = {"telco": [], "bank": []}
    t1 = time.perf_counter()
    light_left = list(ds_l.queries)
    fifo_light = len(ds_h.queries) + 1
    while Query.objects.filter(pilot__name__in=["H", "L"]).exclude(status="verdict").exists() or light_left:
        if light_left:
            lq.make_query(e_l, normalize_many("phone", light_left.pop(0))[0])
        hh.answer_pending(limit=500)
        lh.answer_pending(limit=500)
        before = set(Query.objects.filter(status="verdict").values_list("id", flat=True))
        services.queue_process(limit=args.capacity)
        for row in Query.objects.filter(status="verdict").exclude(id__in=before).order_by("verdict_at"):
            order.append(row.tenant.slug)
            done_at[row.tenant.slug].append(time.perf_counter() - t1)
    span = time.perf_counter() - t1
    return {
        "holder": args.holder, "queries": n, "query_size": args.query_size, "wall_s": wall,
        "qps": n / wall, "error_rate": errors / max(1, attempts), "correct": correct,
        "exchange_p50_ms": statistics.median(exchange_ms), "exchange_p95_ms": pct(exchange_ms, 0.95),
        "bare_p50_ms": statistics.median(bare), "bare_p95_ms": pct(bare, 0.95),
        "skew": {"heavy_queries": len(ds_h.queries), "light_queries": len(ds_l.queries), "span_s": span,
                 "heavy_per_s": len(done_at["telco"]) / span, "light_per_s": len(done_at["bank"]) / span,
                 "light_first_rank": order.index("bank") + 1, "light_last_rank": len(order) - order[::-1].index("bank"),
                 "fifo_first_rank": fifo_light, "capacity": args.capacity},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--holder", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--query-size", type=int, default=16)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--capacity", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "trustfabric.settings", "TF_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, __file__, "--worker", *sys.argv[1:]], env=env | {"TF_VAR_DIR": tmp},
                             cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit("benchmark worker failed")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    s = r["skew"]
    print("ZK-TX service benchmark (this machine, embedded SQLite, API in-process)")
    print(f"1. sustained: {r['queries']} queries of {r['query_size']} against a {r['holder']:,}-element holder set: "
          f"{r['qps']:.1f} queries/s end to end ({r['wall_s']:.1f} s), error rate {100 * r['error_rate']:.2f}%, "
          f"{r['correct']}/{r['queries']} verdicts correct")
    print(f"2. exchange per query (match + verify + witness + receipt): p50 {r['exchange_p50_ms']:.1f} ms, "
          f"p95 {r['exchange_p95_ms']:.1f} ms; bare protocol (match + verify) p50 {r['bare_p50_ms']:.1f} ms "
          f"→ service overhead ×{r['exchange_p50_ms'] / r['bare_p50_ms']:.1f}")
    print(f"3. skew: {s['heavy_queries']} queries of 64 (burst) + {s['light_queries']} of 16 (light), capacity "
          f"{s['capacity']}/round: heavy {s['heavy_per_s']:.1f}/s, light {s['light_per_s']:.1f}/s; light's first verdict "
          f"at rank {s['light_first_rank']} (FIFO: {s['fifo_first_rank']}, ×{s['fifo_first_rank'] / s['light_first_rank']:.0f} "
          f"sooner), last at rank {s['light_last_rank']} of {s['heavy_queries'] + s['light_queries']}")


if __name__ == "__main__":
    main()
