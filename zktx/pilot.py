"""Pilots A and B: both partners' clients driven end to end through the real API.

``manage.py zktx pilot run A`` (or ``B``) creates API tokens for the partners' users and an
operator, runs each partner's :class:`~zktx.client.partner.PartnerClient` (secrets in its own
state directory) against the API — in-process through Django's test client, or over HTTP with
``--url`` — and prints a summary. Steps: key registration (BLS with proof of possession), pepper
agreement between the partners (out of band: a file), run and epoch set-up, holder set upload, the
querier's evaluation of the holder set, ≤k queries, the holder's evaluations, verdicts (receipts
and witness inclusion checked by the partners), batch verification of every transcript by an
auditor, and the signed audit bundle (both partners accept with BLS), verified offline.

* **Pilot A**: northwind holds, contoso queries; phone numbers (holder 5,000, queries of 16).
* **Pilot B**: the heavy-skew variant, e-mail selectors, two lanes sharing the exchange: contoso
  bursts many large queries against northwind's set (lane ``B``) while northwind asks a few small
  ones against contoso's set (lane ``B-rev``). Contoso's token bucket throttles the burst (429 +
  Retry-After) and weighted fair queueing keeps northwind's queries flowing; the report shows
  per-tenant throughput and the FIFO counterfactual.

Datasets are synthetic and deterministic from ``--seed`` (:mod:`zktx.datasets`); the ground truth
stays in this process (never in the bundle, whose scan against every raw selector must be clean).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from accounts import services as accounts
from accounts.models import Organization
from zktx import fairness, services
from zktx.client.api import ApiError, ExchangeApi, UrllibTransport
from zktx.client.audit import BundleTranscriptVerifier, audit_via_api
from zktx.client.partner import PartnerClient
from zktx.client.state import LocalState
from zktx.datasets import Dataset, make_dataset
from zktx.models import AuditBundle, EpochEvaluation, Pilot
from zktx.protocol.selectors import normalize_many

Out = Callable[[str], None]


@dataclass
class Lane:
    pilot: str
    holder: str
    querier: str
    kind: str
    k: int
    holder_size: int
    queries: int
    query_size: int
    per_round: int  # queries the querier tries to submit per round (a burst: all of them)


@dataclass
class Preset:
    lanes: list[Lane]
    capacity: int | None  # queries the exchange serves per round in-process (None: all)
    quotas: dict[str, dict[str, float]] = field(default_factory=dict)


def presets(**o: Any) -> dict[str, Preset]:
    hs, nq, qs = o.get("holder_size"), o.get("queries"), o.get("query_size")
    return {
        "A": Preset(lanes=[Lane("A", "northwind", "contoso", "phone", 3, hs or 5000, nq or 8, qs or 16, nq or 8)],
                    capacity=None),
        "B": Preset(
            lanes=[
                Lane("B", "northwind", "contoso", "email", 2, hs or 3000, nq or 40, qs or 64, nq or 40),
                Lane("B-rev", "contoso", "northwind", "email", 2, max(100, (hs or 3000) // 3),
                     o.get("light_queries") or 8, 16, 1),
            ],
            capacity=o.get("capacity") or 3,
            quotas={"contoso": {"burst": o.get("burst") or 12, "rate_per_minute": o.get("rate") or 240.0}},
        ),
    }


@dataclass
class PilotReport:
    name: str
    run_id: str = ""
    run_label: str = ""
    lanes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    correct: int = 0
    total: int = 0
    partner_verified: int = 0
    throttled: dict[str, int] = field(default_factory=dict)
    batch: dict[str, Any] = field(default_factory=dict)
    bundle: dict[str, Any] = field(default_factory=dict)
    fifo_first_light: int | None = None
    light_tenant: str | None = None
    service_order: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Pilot_:
    """One pilot run (use :func:`run_pilot`)."""

    def __init__(self, name: str, *, url: str | None, state_root: Path, seed: int, out: Out, bundle: bool,
                 workers: int, **sizes: Any) -> None:
        table = presets(**sizes)
        if name not in table:
            raise ValueError(f"unknown pilot {name!r}; known: {', '.join(table)}")
        self.name, self.preset, self.url, self.seed, self.out = name, table[name], url, seed, out
        self.do_bundle, self.workers = bundle, workers
        self.state_root = state_root
        self.inprocess = url is None
        self.tokens: list[Any] = []
        self.report = PilotReport(name)

    # ------------------------------------------------------------------ set-up
    def _transport(self):
        if self.inprocess:
            from zktx.inprocess import DjangoClientTransport

            return DjangoClientTransport()
        return UrllibTransport(self.url)

    def _token_for(self, username: str) -> str:
        user = get_user_model().objects.get(username=username)
        token, plaintext = accounts.api_token_create(actor=user, user=user, name=f"zktx pilot {self.name}",
                                                     expires_in=timedelta(days=1))
        self.tokens.append(token)
        return plaintext

    def _partner_user(self, slug: str) -> str:
        org = Organization.objects.get(slug=slug)
        m = org.memberships.filter(role="partner_user").select_related("user").first()
        if m is None:
            raise RuntimeError(f"{slug} has no partner user; run manage.py seed_demo")
        return m.user.get_username()

    def _operator_user(self) -> str:
        from accounts.models import Membership

        m = Membership.objects.filter(organization__kind="operator", role="admin").select_related("user").first()
        if m is None:
            raise RuntimeError("no operator admin; run manage.py seed_demo")
        return m.user.get_username()

    def setup(self) -> None:
        slugs = {x for lane in self.preset.lanes for x in (lane.holder, lane.querier)}
        if Organization.objects.filter(slug__in=slugs).count() < len(slugs):
            from django.core.management import call_command

            call_command("seed_demo", quiet=True)
        transport = self._transport()
        self.operator = ExchangeApi(transport, self._token_for(self._operator_user()))
        self.clients: dict[str, PartnerClient] = {}
        for slug in sorted(slugs):
            state = LocalState(self.state_root / slug).ensure()
            api = ExchangeApi(transport, self._token_for(self._partner_user(slug)))
            c = PartnerClient(api, state, workers=self.workers)
            c.init()
            self.clients[slug] = c

    def register_keys(self) -> None:
        for slug, c in self.clients.items():
            c.register_keys()
            self.out(f"  {slug}: identity and BLS keys registered (proof of possession verified by the exchange)")

    def ensure_pilots(self) -> dict[str, dict]:
        existing = {p["name"]: p for p in self.operator.pilots()}
        pilots = {}
        for lane in self.preset.lanes:
            policy = {"k": lane.k, "min_holder_set": min(lane.holder_size, 100), "min_query": min(16, lane.query_size),
                      "max_query": 4096, "query_budget": max(100, lane.queries + 10), "min_novel": min(8, lane.query_size)}
            if lane.pilot not in existing:
                p = self.operator.call("POST", "pilots", {"name": lane.pilot, "holder": lane.holder,
                                                          "querier": lane.querier, "selector_type": lane.kind,
                                                          "epoch_seconds": 86400, **policy})
            else:
                p = existing[lane.pilot]
                if (p["policy"] != policy or p["selector_type"] != lane.kind) and self.inprocess:
                    services.pilot_configure(actor=self._operator_obj(), pilot=Pilot.objects.get(pk=p["id"]),
                                             selector_type=lane.kind, **policy)
                    p = self.operator.pilot(p["id"])
            pilots[lane.pilot] = p
        return pilots

    def _operator_obj(self):
        return get_user_model().objects.get(username=self._operator_user())

    def share_peppers(self) -> None:
        """The partners agree on a pepper root per pilot, out of band (here: a 0600 file in a temp dir)."""
        for lane in self.preset.lanes:
            h, q = self.clients[lane.holder], self.clients[lane.querier]
            if h.state.has_pepper(lane.pilot) and q.state.has_pepper(lane.pilot) and \
                    h.state.pepper_root(lane.pilot) == q.state.pepper_root(lane.pilot):
                continue
            if not h.state.has_pepper(lane.pilot):
                h.pepper_init(lane.pilot)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "pepper.hex"
                h.pepper_export(lane.pilot, path)
                q.pepper_import(lane.pilot, path)

    # ------------------------------------------------------------------ exchange work
    def drain(self, *, capacity: int | None = None) -> int:
        """In-process: run what the exchange's workers would (epoch commits, the fair queue, exports)."""
        if not self.inprocess:
            return 0
        from witness import services as witness

        for ev in EpochEvaluation.objects.filter(status=EpochEvaluation.Status.VERIFYING):
            services.epoch_commit_run(evaluation_id=ev.pk)
        served = services.queue_process(limit=capacity)
        for b in AuditBundle.objects.filter(status__in=[AuditBundle.Status.DRAFTING, AuditBundle.Status.SEALING]):
            services.bundle_export_run(bundle_id=b.pk)
        witness.sequence_until_idle()
        return served

    def _wait(self, what: str, probe: Callable[[], bool], timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            if self.inprocess:
                self.drain()
            else:
                time.sleep(0.5)

    # ------------------------------------------------------------------ the run
    def run(self) -> PilotReport:
        t0 = time.perf_counter()
        rep = self.report
        self.out(f"Pilot {self.name}: set-up")
        self.setup()
        try:
            self._run(rep)
        finally:
            for token in self.tokens:
                accounts.api_token_revoke(actor=token.user, token=token, reason="pilot run finished")
        rep.seconds = time.perf_counter() - t0
        return rep

    def _run(self, rep: PilotReport) -> None:
        self.register_keys()
        pilots = self.ensure_pilots()
        self.share_peppers()
        saved_quotas = self._apply_quotas()
        try:
            datasets = {lane.pilot: make_dataset(seed=self.seed + i, holder_size=lane.holder_size,
                                                 n_queries=lane.queries, query_size=lane.query_size, k=lane.k,
                                                 kind=lane.kind)
                        for i, lane in enumerate(self.preset.lanes)}
            config = {"lanes": [{"pilot": lane.pilot, "holder_size": lane.holder_size, "queries": lane.queries,
                                 "query_size": lane.query_size, "selector_type": lane.kind} for lane in self.preset.lanes],
                      "capacity_per_round": self.preset.capacity, "quotas": self.preset.quotas}
            run = self.operator.start_run(self.name, [pilots[lane.pilot]["id"] for lane in self.preset.lanes], config)
            rep.run_id, rep.run_label = run["id"], run["label"]
            self.out(f"  run {run['label']}")
            epochs = {lane.pilot: self._epoch(lane, pilots[lane.pilot], run["id"], datasets[lane.pilot])
                      for lane in self.preset.lanes}
            submitted = self._queries(datasets, epochs, rep)
            self._verdicts(datasets, submitted, rep)
        finally:
            self._restore_quotas(saved_quotas)
        self._audit(rep)
        if self.do_bundle:
            self._bundle(rep, datasets)
        if self.inprocess:
            from zktx.models import PilotRun
            from zktx.reports import run_stats

            run_obj = PilotRun.objects.get(pk=rep.run_id)
            rep.tenants = run_stats(run_obj)["tenants"]
            services.run_finish(actor=self._operator_obj(), run=run_obj, summary=_jsonable(rep))
        else:
            rep.tenants = self.operator.run(rep.run_id)["stats"]["tenants"]

    def _apply_quotas(self) -> dict[str, dict]:
        saved = {}
        if not self.inprocess:
            return saved
        for slug, q in self.preset.quotas.items():
            org = Organization.objects.get(slug=slug)
            cur = services.quota_for(org)
            saved[slug] = {"burst": cur.burst, "rate_per_minute": cur.rate_per_minute, "weight": cur.weight}
            services.quota_set(actor=self._operator_obj(), organization=org, reason=f"pilot {self.name}", **q)
        return saved

    def _restore_quotas(self, saved: dict[str, dict]) -> None:
        for slug, q in saved.items():
            services.quota_set(actor=self._operator_obj(), organization=Organization.objects.get(slug=slug),
                               reason=f"pilot {self.name} finished", **q)

    def _epoch(self, lane: Lane, pilot: dict, run_id: str, ds: Dataset) -> str:
        e = self.operator.start_epoch(pilot["id"], run=run_id)
        h, q = self.clients[lane.holder], self.clients[lane.querier]
        h.setup_epoch(e["id"])  # join
        q.setup_epoch(e["id"])  # join (the header is built) and sign
        h.setup_epoch(e["id"])  # sign
        holder_selectors, rejected = normalize_many(lane.kind, ds.holder, strict=False)
        t = time.perf_counter()
        h.upload_holder_set(e["id"], holder_selectors)
        t_blind = time.perf_counter() - t
        t = time.perf_counter()
        q.answer_pending()
        t_eval = time.perf_counter() - t
        t = time.perf_counter()
        self._wait("the epoch commitment", lambda: self.operator.epoch(e["id"])["status"] == "open")
        t_commit = time.perf_counter() - t
        detail = self.operator.epoch(e["id"])
        self.report.lanes[lane.pilot] = {
            "holder": lane.holder, "querier": lane.querier, "kind": lane.kind, "k": lane.k,
            "holder_size": detail["commitment"]["size"], "rejected_inputs": len(rejected),
            "epoch": detail["number"], "blind_s": t_blind, "evaluate_s": t_eval, "commit_verify_s": t_commit,
            "queries": lane.queries, "query_size": lane.query_size,
        }
        self.out(f"  lane {lane.pilot}: epoch {detail['number']} open — {detail['commitment']['size']} blinded holder "
                 f"elements; blind {t_blind:.2f} s, querier evaluation {t_eval:.2f} s, verify+commit {t_commit:.2f} s")
        return e["id"]

    def _queries(self, datasets: dict[str, Dataset], epochs: dict[str, str], rep: PilotReport) -> dict[str, list]:
        """Round by round: queriers submit (a burst is refused with 429 past its bucket), holders answer,
        the exchange serves ``capacity`` queries per round in fair order."""
        lanes = self.preset.lanes
        todo = {lane.pilot: list(range(lane.queries)) for lane in lanes}
        next_ok = {lane.pilot: 0.0 for lane in lanes}
        submitted: dict[str, list] = {lane.pilot: [] for lane in lanes}
        arrivals: list[tuple[float, str, float]] = []
        t_start = time.monotonic()
        rounds = 0
        while any(todo.values()) or self._outstanding(submitted):
            rounds += 1
            if rounds > 10_000:
                raise RuntimeError("the pilot does not make progress")
            now = time.monotonic()
            for lane in lanes:
                q = self.clients[lane.querier]
                for _ in range(lane.per_round):
                    if not todo[lane.pilot] or now < next_ok[lane.pilot]:
                        break
                    i = todo[lane.pilot][0]
                    selectors, _ = normalize_many(lane.kind, datasets[lane.pilot].queries[i], strict=False)
                    arrivals.append((now - t_start, lane.querier, float(len(selectors))))
                    try:
                        resp = q.make_query(epochs[lane.pilot], selectors)
                    except ApiError as exc:
                        if exc.status == 429 and exc.code == "rate_limited":
                            rep.throttled[lane.querier] = rep.throttled.get(lane.querier, 0) + 1
                            next_ok[lane.pilot] = now + (exc.retry_after or 1)
                            arrivals.pop()
                            break
                        raise
                    todo[lane.pilot].pop(0)
                    submitted[lane.pilot].append((i, resp["id"]))
            for lane in lanes:
                self.clients[lane.holder].answer_pending(limit=max(10, lane.per_round))
            served = self.drain(capacity=self.preset.capacity)
            if not served and any(todo.values()):
                wait = min((next_ok[p] for p, t in todo.items() if t), default=now) - time.monotonic()
                if wait > 0:
                    time.sleep(min(wait, 2.0))
            elif not self.inprocess:
                time.sleep(0.2)
        if len(lanes) > 1 and arrivals:
            # FIFO counterfactual: one server taking jobs in arrival order (same admitted arrivals)
            rep.light_tenant = lanes[-1].querier
            sim = fairness.simulate(arrivals, service_rate=1e9, fair=False)
            fifo = [i + 1 for i, t in enumerate(sim.order) if t == rep.light_tenant]
            rep.fifo_first_light = fifo[0] if fifo else None
        return submitted

    def _outstanding(self, submitted: dict[str, list]) -> bool:
        if self.inprocess:
            from zktx.models import Query

            ids = [qid for items in submitted.values() for _, qid in items]
            return Query.objects.filter(pk__in=ids).exclude(status__in=["verdict", "failed"]).exists()
        for lane in self.preset.lanes:
            for _, qid in submitted[lane.pilot]:
                if self.clients[lane.querier].api.query(qid)["status"] not in ("verdict", "failed"):
                    return True
        return False

    def _verdicts(self, datasets: dict[str, Dataset], submitted: dict[str, list], rep: PilotReport) -> None:
        for lane in self.preset.lanes:
            ds = datasets[lane.pilot]
            lane_rep = rep.lanes[lane.pilot]
            lane_rep.update({"within": 0, "exceeds": 0, "correct": 0, "verified_by_partners": 0})
            for i, qid in submitted[lane.pilot]:
                checks = [self.clients[slug].verdict(qid) for slug in (lane.querier, lane.holder)]
                got = checks[0].verdict
                lane_rep[got] = lane_rep.get(got, 0) + 1
                ok = got == ds.expected(i)
                lane_rep["correct"] += ok
                lane_rep["verified_by_partners"] += all(c.ok for c in checks)
                rep.total += 1
                rep.correct += ok
                rep.partner_verified += all(c.ok for c in checks)
            self.out(f"  lane {lane.pilot}: {len(submitted[lane.pilot])} verdicts ({lane_rep['within']} within, "
                     f"{lane_rep['exceeds']} exceeds), {lane_rep['correct']} match the ground truth, "
                     f"{lane_rep['verified_by_partners']} verified by both partners (receipt + log inclusion)")

    def _audit(self, rep: PilotReport) -> None:
        res = audit_via_api(self.operator, run=rep.run_id, workers=self.workers)
        rep.batch = {"epochs": res.epochs, "transcripts": len(res.verdicts), "ok": res.ok, "errors": res.errors,
                     "epoch_verify_s": res.epoch_seconds, "batch_verify_s": res.batch_seconds}
        self.out(f"  auditor: {res.epochs} epoch(s) verified in {res.epoch_seconds:.2f} s; {len(res.verdicts)} "
                 f"transcripts batch-verified in {res.batch_seconds:.3f} s — {'all valid' if res.ok else res.errors}")

    def _bundle(self, rep: PilotReport, datasets: dict[str, Dataset]) -> None:
        from zktx.bundle.verify import verify_bundle

        b = self.operator.export_bundle(rep.run_id)
        self._wait("the bundle draft", lambda: self.operator.bundle(b["id"])["status"] != "drafting")
        for slug in sorted(self.clients):
            self.clients[slug].sign_acceptance(b["id"])
        self._wait("the sealed bundle", lambda: self.operator.bundle(b["id"])["status"] in ("ready", "failed"))
        detail = self.operator.bundle(b["id"])
        if detail["status"] != "ready":
            raise RuntimeError(f"bundle export failed: {detail['error']}")
        data = self.operator.download_bundle(b["id"])
        out_dir = Path(settings.VAR_DIR) / "zktx" / "bundles"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{rep.run_label}.tar.gz"
        path.write_bytes(data)
        trust = out_dir / f"{rep.run_label}.trust.json"
        trust.write_text(json.dumps(detail["trust"], indent=1))
        raw = sorted({s for ds in datasets.values() for s in ds.raw_selectors()})
        report = verify_bundle(
            data, trusted_exchange_keys=[_exchange_key(detail["trust"]["exchange_keys"][0])],
            trusted_partner_keys={k: bytes.fromhex(v) for k, v in detail["trust"]["partner_keys"].items()},
            witness_key=detail["trust"]["witness_key"], transcript_verifier=BundleTranscriptVerifier(self.workers),
            required_partners=detail["trust"]["required_partners"], raw_selectors=raw,
        )
        rep.bundle = {"id": b["id"], "digest": detail["bundle_digest"], "size": len(data), "files": detail["file_count"],
                      "path": str(path), "trust": str(trust), "verified": report.exit_code == 0,
                      "checks": {c.name: c.status for c in report.checks}, "scanned_selectors": len(raw)}
        self.out(f"  bundle {detail['bundle_digest'][:16]}…: {len(data)} bytes, {detail['file_count']} files, accepted by "
                 f"{', '.join(p['id'] for p in detail['partners'])}; offline verification "
                 f"{'OK' if report.exit_code == 0 else 'FAILED ' + str(report.exit_code)} (scanned for {len(raw)} raw selectors)")


def _exchange_key(vkey: str) -> bytes:
    from witness.tlog.note import Ed25519Verifier

    return Ed25519Verifier.from_key_string(vkey).public_key


def _jsonable(rep: PilotReport) -> dict[str, Any]:
    return json.loads(json.dumps(rep.__dict__, default=str))


def run_pilot(name: str, *, url: str | None = None, state_root: str | os.PathLike[str] | None = None, seed: int = 7,
              out: Out = print, bundle: bool = True, workers: int = 1, **sizes: Any) -> PilotReport:
    root = Path(state_root) if state_root else Path(settings.VAR_DIR) / "zktx" / "pilot-clients"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Pilot_(name, url=url, state_root=root, seed=seed, out=out, bundle=bundle, workers=workers, **sizes).run()


def format_report(rep: PilotReport) -> str:
    lines = [f"Pilot {rep.name} — run {rep.run_label} ({rep.seconds:.1f} s)", ""]
    lines.append(f"{'lane':<7} {'holder':<10} {'querier':<10} {'type':<6} {'k':>2} {'set':>6} {'queries':>7} "
                 f"{'within':>6} {'exceeds':>7} {'correct':>7} {'verified':>8}")
    for name, ln in rep.lanes.items():
        lines.append(f"{name:<7} {ln['holder']:<10} {ln['querier']:<10} {ln['kind']:<6} {ln['k']:>2} "
                     f"{ln['holder_size']:>6} {ln['queries']:>7} {ln.get('within', 0):>6} {ln.get('exceeds', 0):>7} "
                     f"{ln.get('correct', 0):>7} {ln.get('verified_by_partners', 0):>8}")
    lines += ["", f"{'tenant':<10} {'submitted':>9} {'429s':>5} {'verdicts':>8} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'err %':>6} {'verdicts/s':>10} {'first':>5} {'last':>5}"]
    for slug, t in sorted(rep.tenants.items()):
        lines.append(f"{slug:<10} {t['submitted']:>9} {rep.throttled.get(slug, 0):>5} {t['verdicts']:>8} "
                     f"{_f(t['latency_p50_ms']):>8} {_f(t['latency_p95_ms']):>8} {100 * t['error_rate']:>6.1f} "
                     f"{t['throughput_per_s']:>10.2f} {t['first_verdict_rank'] or '-':>5} {t['last_verdict_rank'] or '-':>5}")
    lines.append("")
    lines.append(f"ground truth: {rep.correct}/{rep.total} verdicts correct; {rep.partner_verified}/{rep.total} "
                 f"verified by both partners")
    if rep.light_tenant and rep.light_tenant in rep.tenants:
        lines.append(f"fairness: the light tenant ({rep.light_tenant}) got its first verdict at rank "
                     f"{rep.tenants[rep.light_tenant]['first_verdict_rank']} under weighted fair queueing; "
                     f"in arrival (FIFO) order it would have been served at rank {rep.fifo_first_light}")
    b = rep.batch
    if b:
        lines.append(f"batch verification: {b['transcripts']} transcripts in {b['batch_verify_s']:.3f} s "
                     f"(+ {b['epochs']} epoch(s) in {b['epoch_verify_s']:.2f} s): {'all valid' if b['ok'] else b['errors']}")
    if rep.bundle:
        lines.append(f"audit bundle: {rep.bundle['path']} ({rep.bundle['size']} bytes, digest {rep.bundle['digest'][:16]}…), "
                     f"offline verification {'OK' if rep.bundle['verified'] else 'FAILED'}")
        lines.append(f"  verify: python -m zktx.verify_bundle {rep.bundle['path']} --trust {rep.bundle['trust']} "
                     f"--transcript-verifier zktx.client.audit:bundle_verifier")
    return "\n".join(lines)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"
