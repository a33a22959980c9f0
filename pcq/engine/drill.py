"""Canary drills: a labeled set of canary deployments, generated from seeds, judged like production.

Each :class:`Scenario` is one canary deployment seen by the canary stack: a synthetic graph, a few
sampled jobs arriving one after another (exponential gaps, ``mean_gap_s`` on average: the pace at
which the sampler hands jobs to the canary), and the canary's :class:`~.variants.EngineProfile`:

* **benign** (label ``benign``) — a correct canary that differs from production only in harmless
  ways: its own edge insertion order, last-bit float jitter (0–8 ulps), sometimes a tighter pagerank
  tolerance. Any page here is a false alarm.
* **regression** (label ``regression``) — the same plus one planted regression of material size
  (:data:`~.variants.REGRESSIONS`: damping factor scaled by 0.6–0.85, 1–5% of edges dropped, path
  costs off by one). At least one job of a kind the regression affects is in the batch.

:func:`run_scenario` runs every job as prod, prod2 and canary, judges it with the calibrator's prior
bands (then lets the calibrator learn from it), and records when the first page-level verdict came
out (arrival offset of the job + the measured compute time). Everything but the compute times is a
pure function of the seed.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .canary import DEFAULT_METRIC_WEIGHTS, CanaryCase, CanaryConfig, NoiseCalibrator, judge
from .jobs import KINDS
from .variants import EngineProfile, affected_kinds, prod2_profile, prod_profile, run_profile
from .workload import generate_graph, jobs_for_dataset

__all__ = ["DrillJob", "JobOutcome", "Scenario", "ScenarioOutcome", "generate_scenarios", "run_scenario"]

_MODELS = (("ba", False), ("ba", True), ("sbm", False), ("sbm", True), ("gnm", True))


@dataclass(frozen=True)
class DrillJob:
    kind: str
    parameters: dict[str, Any]
    seed: int | None
    tier: int
    offset_s: float  # arrival after the canary's first run


@dataclass(frozen=True)
class Scenario:
    index: int
    seed: int
    label: str  # benign | regression
    profile: EngineProfile
    graph: dict[str, Any]  # generate_graph arguments
    jobs: tuple[DrillJob, ...]

    @property
    def name(self) -> str:
        reg = self.profile.regression
        return f"#{self.index} {self.label}" + (f" ({reg})" if reg != "none" else "")


@dataclass
class JobOutcome:
    kind: str
    tier: int
    offset_s: float
    compute_s: float
    level: str
    severity: float
    flagged: list[str]
    paging: list[str]  # fields at page level
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ScenarioOutcome:
    scenario: Scenario
    jobs: list[JobOutcome] = field(default_factory=list)

    @property
    def paged(self) -> bool:
        return any(j.paging for j in self.jobs)

    @property
    def first_page(self) -> JobOutcome | None:
        return next((j for j in self.jobs if j.paging), None)

    @property
    def seconds_to_page(self) -> float | None:
        """Seconds from the canary's first run (the first job's arrival) to the first page-level verdict."""
        j = self.first_page
        return None if j is None else j.offset_s + j.compute_s

    @property
    def level(self) -> str:
        order = {"none": 0, "info": 1, "ticket": 2, "page": 3}
        return max((j.level for j in self.jobs), key=order.__getitem__, default="none")

    def to_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "index": s.index, "seed": s.seed, "label": s.label, "regression": s.profile.regression,
            "regression_params": s.profile.regression_params, "params": s.profile.params, "version": s.profile.version,
            "graph": s.graph, "kinds": [j.kind for j in s.jobs], "level": self.level, "paged": self.paged,
            "paging_fields": sorted({f for j in self.jobs for f in j.paging}),
            "seconds_to_page": self.seconds_to_page, "jobs": [j.to_dict() for j in self.jobs],
        }


def _benign_profile(rng: random.Random, version: str) -> EngineProfile:
    params: dict[str, Any] = {"edge_order": "shuffled", "float_jitter_ulps": rng.randint(0, 8)}
    if rng.random() < 0.25:
        params["pagerank_tol"] = 1e-11
    return EngineProfile("canary", version, params)


def _regression_profile(rng: random.Random, version: str) -> EngineProfile:
    base = _benign_profile(rng, version)
    kind = rng.choice(["pagerank_damping", "drop_edges", "distance_offset"])
    rparams: dict[str, Any] = {
        "pagerank_damping": {"alpha_scale": round(rng.uniform(0.6, 0.85), 3)},
        "drop_edges": {"fraction": round(rng.uniform(0.01, 0.05), 4)},
        "distance_offset": {"offset": 1},
    }[kind]
    return replace(base, regression=kind, regression_params=rparams)


def generate_scenarios(
    seed: int,
    *,
    benign: int,
    regressions: int,
    version_prefix: str = "drill",
    jobs_per_scenario: tuple[int, int] = (2, 4),
    nodes: tuple[int, int] = (80, 200),
    mean_gap_s: float = 60.0,
) -> list[Scenario]:
    """``benign + regressions`` scenarios in a seeded order; the same arguments give the same list."""
    if benign < 0 or regressions < 0 or benign + regressions == 0:
        raise ValueError("need at least one scenario")
    rng = random.Random(f"pcq-drill:{seed}")
    labels = ["benign"] * benign + ["regression"] * regressions
    rng.shuffle(labels)
    out = []
    kinds = sorted(KINDS)
    for index, label in enumerate(labels):
        s_seed = rng.randrange(1 << 31)
        r = random.Random(f"pcq-drill-scenario:{seed}:{s_seed}")
        version = f"{version_prefix}-{index}"
        profile = _regression_profile(r, version) if label == "regression" else _benign_profile(r, version)
        model, weighted = r.choice(_MODELS)
        graph = {"model": model, "n": r.randint(*nodes), "seed": r.randrange(1 << 20), "weighted": weighted}
        count = r.randint(*jobs_per_scenario)
        picked = [r.choice(kinds) for _ in range(count)]
        if label == "regression" and not set(picked) & affected_kinds(profile.regression):
            picked[r.randrange(count)] = r.choice(sorted(affected_kinds(profile.regression)))
        ds = generate_graph(graph["model"], graph["n"], seed=graph["seed"], weighted=graph["weighted"])
        jobs, t = [], 0.0
        for pos, kind in enumerate(picked):
            params, job_seed = jobs_for_dataset(kind, ds, r)
            if not KINDS[kind].needs_seed(params):
                job_seed = None
            if pos:
                t += r.expovariate(1.0 / mean_gap_s)
            jobs.append(DrillJob(kind, params, job_seed, r.choice([1, 2, 3]), round(t, 3)))
        out.append(Scenario(index, s_seed, label, profile, graph, tuple(jobs)))
    return out


def run_scenario(scenario: Scenario, calibrator: NoiseCalibrator, config: CanaryConfig | None = None) -> ScenarioOutcome:
    """Run and judge every job of ``scenario`` (prod, prod2, canary); the calibrator learns from each."""
    base = config or CanaryConfig(metric_weights=dict(DEFAULT_METRIC_WEIGHTS))
    g = scenario.graph
    ds = generate_graph(g["model"], g["n"], seed=g["seed"], weighted=g["weighted"])
    outcome = ScenarioOutcome(scenario)
    prod, prod2 = prod_profile(), prod2_profile()
    for pos, job in enumerate(scenario.jobs):
        job_id = f"drill-{scenario.index}-{pos}"
        t0 = time.perf_counter()
        try:
            p = run_profile(prod, job.kind, ds, job.parameters, job.seed, order_salt=f"prod:{job_id}")
            p2 = run_profile(prod2, job.kind, ds, job.parameters, job.seed, order_salt=f"prod2:{job_id}")
            c = run_profile(scenario.profile, job.kind, ds, job.parameters, job.seed, order_salt=f"canary:{job_id}")
        except ValueError as exc:  # a job the canary could not run (e.g. a dropped edge leaves no path) is an error
            outcome.jobs.append(JobOutcome(job.kind, job.tier, job.offset_s, time.perf_counter() - t0, "none", 0.0, [], [], str(exc)))
            continue
        case = CanaryCase(job.kind, p, p2, c, tier=job.tier, job_id=job_id)
        cfg = replace(base, prior_bands={**base.prior_bands, **calibrator.bands()})
        report = judge([case], cfg)
        calibrator.observe(case)
        compute = time.perf_counter() - t0
        outcome.jobs.append(JobOutcome(
            job.kind, job.tier, job.offset_s, compute, report.level, report.severity if math.isfinite(report.severity) else 0.0,
            [f.field for f in report.flagged], [f.field for f in report.flagged if f.level == "page"],
        ))
    return outcome
