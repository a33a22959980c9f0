"""End-to-end benchmark of the ZK-TX PSI-cardinality protocol (zktx/protocol, docs/zktx-protocol.md).

Prints, with ratios (nothing is asserted):

1. A full verifiable exchange on N×N sets (default 10,000), the auditor's verification included,
   against OpenMined PSI cardinality (``openmined-psi``, P-256, no proofs) on the same sets:
   * cold — everything for one exchange: holder blinding, the querier's proven evaluation of the
     holder set, commitment, query blinding, the holder's proven evaluation, matching, and the
     auditor verifying the epoch and the query;
   * warm — the holder set blinded, evaluated, committed and verified once per epoch (the
     pre-warmed state of docs/zktx-protocol.md §5); per query only the query side; compared with
     OpenMined's full run and with its per-request part (server set-up cached).
2. Batch verification of 100 query transcripts (16 selectors each) against a holder set of
   100,000 committed per epoch: p50/p95 wall time of one batch, the per-transcript cost without
   batching, RFC vs random-linear-combination checks, cached tree vs light epoch, threads.
3. Sustained queries per second (all roles on this machine, and the auditor alone).

    .venv/bin/python bench/zktx.py [--quick] [--workers N] [--n 10000] [--holder 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zktx.protocol.selectors import Selector
from zktx.protocol.simulate import Scenario, new_scenario
from zktx.protocol.transcript import Policy
from zktx.protocol.verify import (
    BatchVerifier,
    VerifiedEpoch,
    verify_commitment,
    verify_epoch,
    verify_transcript,
)


def selectors(prefix: str, indices: range) -> list[Selector]:
    # Already-canonical account ids: normalisation is not what is measured here.
    return [Selector("account", f"{prefix}{i}") for i in indices]


def raw_items(prefix: str, indices: range) -> list[str]:
    return [f"{prefix}{i}" for i in indices]


class Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self) -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        out = (w - self.wall, c - self.cpu)
        self.wall, self.cpu = w, c
        return out


def new_session(n: int, seed: bytes) -> Scenario:
    return new_scenario(
        Policy(k=n // 4, min_holder_set=1, max_query=max(n, 16), query_budget=10**6), seed=seed
    )


# --------------------------------------------------------------------------- 1. exchange


def our_exchange(n: int, workers: int, seed: bytes) -> dict[str, tuple[float, float]]:
    """One cold exchange, stage by stage: {stage: (wall s, cpu s)}."""
    holder = selectors("acct-", range(n))
    query = selectors("acct-", range(n // 2, n // 2 + n))  # half overlap
    sc = new_session(n, seed)
    out: dict[str, tuple[float, float]] = {}
    clock = Clock()
    holder_set = sc.holder.blind_set(holder, workers=workers)
    out["holder blinds its set"] = clock.lap()
    evaluation = sc.querier.evaluate_holder_set(holder_set, workers=workers)
    out["querier evaluates + proves"] = clock.lap()
    epoch = sc.exchange.commit_epoch(sc.signed_header, holder_set, evaluation)
    sc.epoch = epoch
    out["exchange commits"] = clock.lap()
    verified = verify_epoch(epoch.transcript, keys=sc.keys, workers=workers)
    out["auditor verifies epoch"] = clock.lap()
    request = sc.querier.make_query(query, query_id="bench", workers=workers)
    out["querier blinds query"] = clock.lap()
    q_eval = sc.holder.evaluate_query(request, workers=workers)
    out["holder evaluates + proves"] = clock.lap()
    transcript = sc.exchange.match(epoch, request, q_eval)
    out["exchange matches"] = clock.lap()
    verdict = verify_transcript(transcript, keys=sc.keys, epoch=verified, workers=workers)
    out["auditor verifies query"] = clock.lap()
    out["(count)"] = (float(verdict.count), 0.0)
    return out


def openmined(n: int) -> dict[str, float]:
    import private_set_intersection.python as psi

    client_items = raw_items("acct-", range(n // 2, n // 2 + n))
    server_items = raw_items("acct-", range(n))
    t0 = time.perf_counter()
    client = psi.client.CreateWithNewKey(False)
    server = psi.server.CreateWithNewKey(False)
    t1 = time.perf_counter()
    setup = server.CreateSetupMessage(1e-9, len(client_items), server_items, psi.DataStructure.RAW)
    t2 = time.perf_counter()
    request = client.CreateRequest(client_items)
    response = server.ProcessRequest(request)
    size = client.GetIntersectionSize(setup, response)
    t3 = time.perf_counter()
    return {"total": t3 - t0, "setup": t2 - t1, "per_request": (t3 - t2) + (t1 - t0), "size": size}


def bench_exchange(n: int, workers: int, repeat: int) -> None:
    print(f"1. Full verifiable exchange, {n:,} × {n:,} (half overlap), {workers} worker thread(s)")
    ours: list[dict[str, tuple[float, float]]] = []
    theirs: list[dict[str, float]] = []
    for r in range(repeat):  # interleaved, so both see the same machine load
        theirs.append(openmined(n))
        ours.append(our_exchange(n, workers, seed=f"bench-{r}".encode()))
    count = int(ours[0].pop("(count)")[0])
    for o in ours[1:]:
        o.pop("(count)")
    stages = list(ours[0])
    print(f"  {'stage':<32} {'wall s':>8} {'cpu s':>8}   (medians of {repeat})")
    for s in stages:
        w = statistics.median(o[s][0] for o in ours)
        c = statistics.median(o[s][1] for o in ours)
        print(f"  {s:<32} {w:>8.2f} {c:>8.2f}")
    epoch_stages = stages[:4]
    query_stages = stages[4:]
    cold = statistics.median(sum(o[s][0] for s in stages) for o in ours)
    cold_cpu = statistics.median(sum(o[s][1] for s in stages) for o in ours)
    warm = statistics.median(sum(o[s][0] for s in query_stages) for o in ours)
    epoch_cost = statistics.median(sum(o[s][0] for s in epoch_stages) for o in ours)
    om = statistics.median(t["total"] for t in theirs)
    om_req = statistics.median(t["per_request"] for t in theirs)
    print(f"  ours, cold (everything, one exchange)      {cold:>7.2f} s wall  ({cold_cpu:.2f} s CPU)")
    print(
        f"  ours, warm (per query; epoch pre-warmed)   {warm:>7.2f} s wall  (epoch work {epoch_cost:.2f} s, once)"
    )
    print(
        f"  OpenMined PSI-CA (P-256, RAW, no proofs)   {om:>7.2f} s wall  (per request, set-up cached: {om_req:.2f} s)"
    )
    print(f"  ratio cold / OpenMined                     x{cold / om:.2f}")
    print(f"  ratio warm / OpenMined                     x{warm / om:.2f}")
    print(f"  ratio warm / OpenMined per request         x{warm / om_req:.2f}")
    print(f"  intersection size: ours {count}, OpenMined {int(theirs[0]['size'])} (expected {n // 2})")


# --------------------------------------------------------------------------- 2-3. batches


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def build_epoch(holder: int, workers: int) -> tuple[Scenario, VerifiedEpoch, VerifiedEpoch]:
    sc = new_scenario(Policy(k=4, min_holder_set=1, max_query=64, query_budget=10**6), seed=b"batch-bench")
    clock = Clock()
    sc.run_epoch(selectors("acct-", range(holder)), workers=workers)
    build = clock.lap()
    assert sc.epoch is not None
    verified = verify_epoch(sc.epoch.transcript, keys=sc.keys, workers=workers)
    check = clock.lap()
    light = verify_commitment(sc.epoch.transcript["commitment"], sc.epoch.transcript["session"], keys=sc.keys)
    print(f"  per-epoch work for a holder set of {holder:,}: build (blind, evaluate + prove, commit) "
          f"{build[0]:.1f} s wall / {build[1]:.1f} s CPU; full epoch verification {check[0]:.1f} s wall / "
          f"{check[1]:.1f} s CPU (once per epoch, cached)")  # fmt: skip
    return sc, verified, light


def make_queries(sc: Scenario, holder: int, count: int, size: int, workers: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        start = holder - size // 2 + i * size  # about half of each query overlaps the holder set
        out.append(sc.run_query(selectors("acct-", range(start, start + size)), query_id=f"q{i}", workers=1))
    return out


def timed(fn: Callable[[], object], runs: int, cpu: list[float] | None = None) -> list[float]:
    out = []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.process_time() - c)
    return out


def bench_batches(holder: int, workers: int, runs: int, sustained: int) -> None:
    print(
        f"\n2. Batch verification: 100 transcripts × 16 selectors, holder set {holder:,} committed per epoch"
    )
    sc, verified, light = build_epoch(holder, workers)
    transcripts = make_queries(sc, holder, 100, 16, workers)

    def batch(epoch: VerifiedEpoch, w: int, mode: str = "rfc") -> Callable[[], object]:
        verifier = BatchVerifier(sc.keys, workers=w, mode=mode)
        verifier.add_epoch(epoch)

        def run() -> object:
            res = verifier.verify(transcripts)
            if not res.all_valid:
                raise RuntimeError(f"batch failed: {res.errors}")
            return res

        return run

    rows = [
        (f"batch, cached tree, {workers} threads, rfc", batch(verified, workers)),
        (f"batch, cached tree, {workers} threads, rlc", batch(verified, workers, "rlc")),
        (f"batch, light epoch, {workers} threads, rfc", batch(light, workers)),
        ("batch, cached tree, 1 thread, rfc", batch(verified, 1)),
    ]

    def one_by_one() -> object:
        return [verify_transcript(t, keys=sc.keys, epoch=verified) for t in transcripts]

    rows.append(("no batching: verify_transcript × 100, 1 thread", one_by_one))
    results: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for _ in range(runs):  # interleave configurations, so all see the same machine load
        for label, fn in rows:
            results.setdefault(label, []).extend(timed(fn, 1, cpu.setdefault(label, [])))
    print(
        f"  {'configuration (100 transcripts)':<48} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8}   ({runs} runs)"
    )
    for label, _ in rows:
        vals = results[label]
        print(f"  {label:<48} {percentile(vals, 0.5) * 1e3:>8.1f} {percentile(vals, 0.95) * 1e3:>8.1f}"
              f" {percentile(cpu[label], 0.5) * 1e3:>8.1f}")  # fmt: skip
    per = percentile(results[rows[-1][0]], 0.5) / len(transcripts)
    best = percentile(results[rows[0][0]], 0.5) / len(transcripts)
    print(f"  per transcript: {per * 1e3:.2f} ms without batching, {best * 1e3:.2f} ms batched "
          f"(x{per / best:.2f})")  # fmt: skip
    rfc, rlc = percentile(results[rows[0][0]], 0.5), percentile(results[rows[1][0]], 0.5)
    print(f"  random linear combination vs RFC checks: x{rfc / rlc:.2f} (>1 means RLC is faster)")

    print(f"\n3. Sustained queries ({sustained} queries × 16 selectors against the {holder:,} epoch)")
    t = time.perf_counter()
    fresh = make_queries(sc, holder + 10_000, sustained, 16, workers)
    produce = time.perf_counter() - t
    verifier = BatchVerifier(sc.keys, workers=workers)
    verifier.add_epoch(verified)
    t = time.perf_counter()
    for i in range(0, len(fresh), 100):
        verifier.verify(fresh[i : i + 100])
    audit = time.perf_counter() - t
    print(
        f"  all roles on this machine (blind, evaluate + prove, match): {sustained / produce:,.0f} queries/s"
    )
    print(f"  auditor alone (batches of 100): {sustained / audit:,.0f} transcripts/s")
    print(f"  end to end incl. auditor: {sustained / (produce + audit):,.0f} queries/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sets and fewer repetitions")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 1))
    parser.add_argument("--only", choices=["exchange", "batch"], default=None, help="run one part")
    parser.add_argument("--n", type=int, default=None, help="set size of the exchange (default 10,000)")
    parser.add_argument(
        "--holder", type=int, default=None, help="holder set of the batch bench (default 100,000)"
    )
    args = parser.parse_args()
    n = args.n or 10_000
    holder = args.holder or (20_000 if args.quick else 100_000)
    load = os.getloadavg()[0]
    print(f"zktx PSI-cardinality benchmark — python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"workers={args.workers}, load average {load:.2f}")  # fmt: skip
    if load > 0.5:
        print("  (the machine is busy: wall-clock figures and thread speed-ups are pessimistic)")
    print()
    if args.only != "batch":
        bench_exchange(n, args.workers, repeat=1 if args.quick else 3)
    if args.only != "exchange":
        bench_batches(
            holder, args.workers, runs=8 if args.quick else 30, sustained=100 if args.quick else 300
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
