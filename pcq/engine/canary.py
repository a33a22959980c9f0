"""Canary judging with learned noise (after Twitter's Diffy).

Each case is one job run three times on the same input: by production (``prod``), by a second
production copy (``prod2``) and by the canary. Prod-vs-prod differences measure the noise a correct
engine shows (floating-point order, tie-breaking); the canary is flagged only for differences
beyond that noise, and only when they happen more often than the noise does.

Per metric field ``m`` (``"<kind>.<metric>"``: ``pagerank.score``, ``betweenness.score``,
``shortest_paths.distance``, ``k_shortest_paths.cost``, ``louvain.modularity``,
``louvain.partition``, ``components.partition``), pooling the items ``i`` of all cases (a node's
score, a source→target distance, a path cost; for partitions one item per case, whose value is the
distance ``1 - NMI`` to prod for communities and the fraction of nodes in a different component for
components)::

    floor_i  = abs_floor + rel_floor * |prod_i|                   (last-bit noise; 1e-12, 1e-9)
    band_m   = noise_multiplier * Q_q(|prod2_i - prod_i|)           (learned noise band; 2 × max)
    differs(x)_i = |x_i - prod_i| > band_m + floor_i             (missing / extra items always differ)
    noise_rate ν = share of items where prod2 differs;  raw_rate ρ = share where the canary differs
    flagged  ⇔  ρ > ν  and  (ρ − ν) / ρ > relative_threshold (20%)  and  ρ − ν > absolute_threshold (0.03%)

(Diffy's two thresholds, applied to difference rates, both strict: "past" the threshold. With the
default ``Q_q = max`` the prod copy never leaves the band, so ν = 0 and a field is flagged once more
than 0.03% of its items move past the noise band.)

Severity of a flagged field (0 when not flagged)::

    magnitude = min(1, max over differing canary items of (|canary_i - prod_i| - band_m) / max(|prod_i|, abs_floor))
    severity  = magnitude × weight_m × tier_weight[tier]      (weights default 1; tier 1 → 3, 2 → 2, 3 → 1)
    level     = "page" if severity ≥ 1, "ticket" if ≥ 0.1, else "info"

so a field that is completely off in a tier-3 job pages, while a 5% drift in it opens a ticket only
for tier 1 (0.05 × 3 = 0.15). The tier of a field is the most critical tier among cases where the
canary differs.

Calibration that persists (:class:`NoiseCalibrator`)
-------------------------------------------------------

A batch of one or a few jobs measures noise poorly: a second production copy may happen to agree
with the first on this input although the field is noisy in general (Louvain partitions under a
different insertion order, for instance). The calibrator remembers, per field, the largest finite
prod-vs-prod difference of each of the last ``window`` cases and offers::

    prior_band_m = noise_multiplier * Q_q(recent per-case maxima)      (q = 1: the window's maximum)

which :func:`judge` uses through ``CanaryConfig.prior_bands`` as a lower bound on the batch band
(``band_m = max(batch band, prior_band_m)``). It improves as cases accumulate and forgets noise older
than the window (a quieter engine tightens the band again). Its state round-trips through JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .compare import nmi, partition_diff
from .results import Result

__all__ = [
    "DEFAULT_METRIC_WEIGHTS",
    "TIER_WEIGHTS",
    "CanaryCase",
    "CanaryConfig",
    "CanaryReport",
    "FieldJudgement",
    "FieldNoise",
    "NoiseCalibrator",
    "judge",
    "noise_maxima",
]

TIER_WEIGHTS = {1: 3.0, 2: 2.0, 3: 1.0}

# Weights the service and the drills use (``CanaryConfig`` itself defaults to 1 for every field): how
# much a relative change of each field matters. With 4, a 25% shift of a score or a distance pages even
# in a tier-3 job; partitions of components must be exact (10); Louvain partitions are compared by
# 1 - NMI, which moves more for the same harm (2).
DEFAULT_METRIC_WEIGHTS: dict[str, float] = {
    "pagerank.score": 4.0,
    "betweenness.score": 2.0,
    "shortest_paths.distance": 4.0,
    "k_shortest_paths.cost": 4.0,
    "louvain.modularity": 4.0,
    "louvain.partition": 2.0,
    "components.partition": 10.0,
}


@dataclass(frozen=True)
class CanaryCase:
    """One job's three results; ``tier`` is the job tier (1 critical .. 3 best effort)."""

    kind: str
    prod: Result | Mapping[str, Any]
    prod2: Result | Mapping[str, Any]
    canary: Result | Mapping[str, Any]
    tier: int = 3
    job_id: str = ""


@dataclass
class CanaryConfig:
    relative_threshold: float = 0.20
    absolute_threshold: float = 0.0003  # 0.03 %
    noise_multiplier: float = 2.0
    noise_quantile: float = 1.0
    abs_floor: float = 1e-12
    rel_floor: float = 1e-9
    metric_weights: dict[str, float] = field(default_factory=dict)
    tier_weights: dict[int, float] = field(default_factory=lambda: dict(TIER_WEIGHTS))
    page_at: float = 1.0
    ticket_at: float = 0.1
    top_n: int = 10
    prior_bands: dict[str, float] = field(default_factory=dict)  # lower bounds on the learned band


@dataclass
class FieldJudgement:
    field: str
    items: int
    noise_band: float
    noise_rate: float
    raw_rate: float
    relative: float
    absolute: float
    flagged: bool
    magnitude: float
    weight: float
    tier: int | None
    severity: float
    level: str
    top: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CanaryReport:
    fields: list[FieldJudgement]

    @property
    def flagged(self) -> list[FieldJudgement]:
        return [f for f in self.fields if f.flagged]

    @property
    def severity(self) -> float:
        return max((f.severity for f in self.fields), default=0.0)

    @property
    def level(self) -> str:
        order = {"none": 0, "info": 1, "ticket": 2, "page": 3}
        return max((f.level for f in self.flagged), key=order.__getitem__, default="none")

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": [f.field for f in self.flagged],
            "severity": self.severity,
            "level": self.level,
            "fields": [f.to_dict() for f in self.fields],
        }


# --- item extraction ------------------------------------------------------------------------------

# An item: (key, |prod value| used for floors and magnitudes, |x - prod| or inf when missing/extra).
Item = tuple[str, float, float]


def _body(r: Result | Mapping[str, Any]) -> Mapping[str, Any]:
    return r.body if isinstance(r, Result) else r


def _map_items(prefix: str, p: Mapping[str, Any], x: Mapping[str, Any]) -> list[Item]:
    out = []
    for key in sorted(p.keys() | x.keys()):
        if key in p and key in x:
            out.append((prefix + key, abs(p[key]), abs(x[key] - p[key])))
        else:
            out.append((prefix + key, abs(p[key]) if key in p else 0.0, math.inf))
    return out


def _items(kind: str, p: Mapping[str, Any], x: Mapping[str, Any], case: str) -> dict[str, list[Item]]:
    c = f"{case}:" if case else ""
    if kind in ("pagerank", "betweenness"):
        return {f"{kind}.score": _map_items(c, p["values"], x["values"])}
    if kind == "shortest_paths":
        items: list[Item] = []
        for src in sorted(p["distances"].keys() | x["distances"].keys()):
            items += _map_items(f"{c}{src}->", p["distances"].get(src, {}), x["distances"].get(src, {}))
        return {"shortest_paths.distance": items}
    if kind == "k_shortest_paths":
        flat_p = {
            f"{q['source']}->{q['target']}#{r + 1}": path["cost"]
            for q in p["pairs"]
            for r, path in enumerate(q["paths"])
        }
        flat_x = {
            f"{q['source']}->{q['target']}#{r + 1}": path["cost"]
            for q in x["pairs"]
            for r, path in enumerate(q["paths"])
        }
        return {"k_shortest_paths.cost": _map_items(c, flat_p, flat_x)}
    if kind == "louvain":
        pd = partition_diff(p["communities"], x["communities"])
        dist = (
            math.inf
            if (pd["missing_nodes"] or pd["extra_nodes"])
            else 1.0 - nmi(p["communities"], x["communities"])
        )
        return {
            "louvain.modularity": [
                (c + "modularity", abs(p["modularity"]), abs(x["modularity"] - p["modularity"]))
            ],
            "louvain.partition": [(c + "partition", 1.0, dist)],
        }
    if kind == "components":
        pd = partition_diff(p["components"], x["components"])
        n = max(1, sum(len(b) for b in p["components"]))
        moved = len(pd["moved_nodes"]) + len(pd["missing_nodes"]) + len(pd["extra_nodes"])
        dist = 0.0 if pd["equal"] else max(moved, 1) / n
        return {"components.partition": [(c + "partition", 1.0, dist)]}
    raise ValueError(f"unknown job kind {kind!r}")


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


# --- judging --------------------------------------------------------------------------------------


def judge(cases: Iterable[CanaryCase], config: CanaryConfig | None = None) -> CanaryReport:
    """Judge a canary against prod over ``cases`` (see the module docstring for the formulas)."""
    cfg = config or CanaryConfig()
    noise: dict[str, list[Item]] = {}
    raw: dict[str, list[tuple[Item, int]]] = {}
    for case in cases:
        p, p2, cn = _body(case.prod), _body(case.prod2), _body(case.canary)
        for name, items in _items(case.kind, p, p2, case.job_id).items():
            noise.setdefault(name, []).extend(items)
        for name, items in _items(case.kind, p, cn, case.job_id).items():
            raw.setdefault(name, []).extend((it, case.tier) for it in items)
    fields = []
    for name in sorted(noise.keys() | raw.keys()):
        fields.append(_judge_field(name, noise.get(name, []), raw.get(name, []), cfg))
    return CanaryReport(fields)


def _judge_field(
    name: str, noise: list[Item], raw: list[tuple[Item, int]], cfg: CanaryConfig
) -> FieldJudgement:
    finite_noise = [d for _, _, d in noise if math.isfinite(d)]
    band = max(cfg.noise_multiplier * _quantile(finite_noise, cfg.noise_quantile), cfg.prior_bands.get(name, 0.0))

    def beyond(base: float, d: float) -> bool:
        return d > band + cfg.abs_floor + cfg.rel_floor * base

    nu = sum(beyond(b, d) for _, b, d in noise) / len(noise) if noise else 0.0
    differing = [(it, tier) for it, tier in raw if beyond(it[1], it[2])]
    rho = len(differing) / len(raw) if raw else 0.0
    excess = rho - nu
    relative = excess / rho if rho > 0 else 0.0
    flagged = rho > nu and relative > cfg.relative_threshold and excess > cfg.absolute_threshold

    def rel_excess(it: Item) -> float:
        _, base, d = it
        return min(1.0, (d - band) / max(base, cfg.abs_floor)) if math.isfinite(d) else 1.0

    magnitude = max((rel_excess(it) for it, _ in differing), default=0.0)
    tier = min((t for _, t in differing), default=None)
    weight = cfg.metric_weights.get(name, 1.0)
    severity = magnitude * weight * cfg.tier_weights.get(tier, 1.0) if flagged and tier is not None else 0.0
    level = "page" if severity >= cfg.page_at else "ticket" if severity >= cfg.ticket_at else "info"
    top = sorted(differing, key=lambda e: (-rel_excess(e[0]), e[0][0]))[: cfg.top_n]
    return FieldJudgement(
        field=name,
        items=len(raw),
        noise_band=band,
        noise_rate=nu,
        raw_rate=rho,
        relative=relative,
        absolute=excess,
        flagged=flagged,
        magnitude=magnitude,
        weight=weight,
        tier=tier,
        severity=severity,
        level=level if flagged else "none",
        top=[
            {
                "key": k,
                "abs_diff": d if math.isfinite(d) else None,
                "rel_excess": rel_excess((k, b, d)),
                "tier": t,
            }
            for (k, b, d), t in top
        ],
    )


# --- persistent noise calibration -----------------------------------------------------------------


def noise_maxima(case: CanaryCase) -> dict[str, float]:
    """Per field of ``case``: the largest finite ``|prod2_i - prod_i|`` (0 when the copies agree)."""
    items = _items(case.kind, _body(case.prod), _body(case.prod2), case.job_id)
    return {name: max((d for _, _, d in its if math.isfinite(d)), default=0.0) for name, its in items.items()}


@dataclass
class FieldNoise:
    """What the calibrator knows about one field."""

    observations: int = 0  # cases seen in total
    noisy: int = 0  # cases whose prod copies differed at all
    recent: list[float] = field(default_factory=list)  # per-case maxima, newest last, at most ``window``

    def to_dict(self) -> dict[str, Any]:
        return {"observations": self.observations, "noisy": self.noisy, "recent": list(self.recent)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldNoise:
        return cls(int(data.get("observations", 0)), int(data.get("noisy", 0)),
                   [float(x) for x in data.get("recent", [])])


class NoiseCalibrator:
    """Per-field noise learned from prod-vs-prod differences across cases (see the module docstring)."""

    def __init__(self, *, window: int = 200, noise_multiplier: float = 2.0, noise_quantile: float = 1.0):
        if window < 1 or noise_multiplier <= 0 or not 0 < noise_quantile <= 1:
            raise ValueError("window >= 1, noise_multiplier > 0 and 0 < noise_quantile <= 1 are required")
        self.window = window
        self.noise_multiplier = noise_multiplier
        self.noise_quantile = noise_quantile
        self.fields: dict[str, FieldNoise] = {}

    def observe(self, case: CanaryCase) -> dict[str, float]:
        """Learn from one case's prod copies; returns the maxima observed."""
        maxima = noise_maxima(case)
        for name, value in maxima.items():
            fn = self.fields.setdefault(name, FieldNoise())
            fn.observations += 1
            fn.noisy += value > 0
            fn.recent.append(value)
            del fn.recent[: max(0, len(fn.recent) - self.window)]
        return maxima

    def band(self, name: str) -> float:
        fn = self.fields.get(name)
        if fn is None or not fn.recent:
            return 0.0
        return self.noise_multiplier * _quantile(fn.recent, self.noise_quantile)

    def bands(self) -> dict[str, float]:
        return {name: self.band(name) for name in sorted(self.fields)}

    def state_dict(self) -> dict[str, Any]:
        return {"version": 1, "fields": {k: v.to_dict() for k, v in sorted(self.fields.items())}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], **kwargs: Any) -> NoiseCalibrator:
        if state and state.get("version") != 1:
            raise ValueError("unknown calibration state version")
        c = cls(**kwargs)
        c.fields = {k: FieldNoise.from_dict(v) for k, v in (state or {}).get("fields", {}).items()}
        for fn in c.fields.values():
            del fn.recent[: max(0, len(fn.recent) - c.window)]
        return c
