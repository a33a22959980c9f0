"""Engine configurations: the production engine, a second production copy, and canaries.

A canary comparison runs one job three times on the same verified dataset (see :mod:`.canary`):

* ``prod``   — the production engine exactly as a manifest describes the job (canonical order);
* ``prod2``  — a second production copy that builds its graph in a different edge insertion order
  (what a replica on another machine does): the order-dependent floating-point sums and
  tie-breaking it shows are the noise a correct engine has;
* ``canary`` — the candidate configuration (:class:`EngineProfile`): its own version label, its
  engine parameters and, for demos and drills, an optional *planted regression*.

Engine parameters of a profile (``params``; unknown keys are refused):

``edge_order``         ``"canonical"`` (default) or ``"shuffled"`` — insertion order of the edges
                       (shuffled with a seeded RNG; ``order_salt`` names the run).
``float_jitter_ulps``  0..64 — move every floating-point output value by up to that many units in the
                       last place (deterministic per value): the harmless noise of another math library
                       or CPU. Default 0.
``pagerank_tol``       override of the pagerank convergence tolerance (> 0), or absent.

Planted regressions (``regression``; ``regression_params`` tune them):

``none``               a correct canary.
``pagerank_damping``   pagerank's damping factor is perturbed: ``alpha * alpha_scale`` (default 0.8,
                       so 0.85 becomes 0.68) — a wrong constant shipped in a release.
``drop_edges``         a loader bug that silently drops edges: every edge whose BLAKE2b hash falls in the
                       lowest ``fraction`` (default 0.02) of the hash space, and at least one — every kind
                       that depends on those edges changes.
``distance_offset``    shortest-path and k-shortest-path costs are off by ``offset`` (default 1) for
                       every target at least two hops away (an off-by-one in a path-length loop).

Everything is a pure function of its arguments: the same profile, job and salt give the same result.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .dataset import GraphDataset
from .jobs import ENGINE_VERSION, run_job
from .results import Result

__all__ = [
    "PARAM_DEFAULTS",
    "REGRESSIONS",
    "EngineProfile",
    "affected_kinds",
    "check_params",
    "prod2_profile",
    "prod_profile",
    "run_profile",
]

PARAM_DEFAULTS: dict[str, Any] = {"edge_order": "canonical", "float_jitter_ulps": 0, "pagerank_tol": None}

REGRESSIONS: dict[str, dict[str, Any]] = {
    "none": {},
    "pagerank_damping": {"alpha_scale": 0.8},
    "drop_edges": {"fraction": 0.02},
    "distance_offset": {"offset": 1},
}

_AFFECTS = {
    "none": frozenset(),
    "pagerank_damping": frozenset({"pagerank"}),
    "drop_edges": frozenset({"pagerank", "betweenness", "shortest_paths", "k_shortest_paths", "louvain", "components"}),
    "distance_offset": frozenset({"shortest_paths", "k_shortest_paths"}),
}


def affected_kinds(regression: str) -> frozenset[str]:
    """Job kinds whose results a planted regression can change."""
    return _AFFECTS[regression]


def check_params(params: Mapping[str, Any]) -> list[str]:
    """Problems with a profile's engine parameters, as ``"params.<key>: message"`` strings."""
    errors = []
    if not isinstance(params, Mapping):
        return ["params: must be an object"]
    for key in sorted(set(params) - set(PARAM_DEFAULTS)):
        errors.append(f"params.{key}: unknown engine parameter (known: {', '.join(sorted(PARAM_DEFAULTS))})")
    order = params.get("edge_order", "canonical")
    if order not in ("canonical", "shuffled"):
        errors.append("params.edge_order: must be 'canonical' or 'shuffled'")
    ulps = params.get("float_jitter_ulps", 0)
    if not isinstance(ulps, int) or isinstance(ulps, bool) or not 0 <= ulps <= 64:
        errors.append("params.float_jitter_ulps: must be an integer from 0 to 64")
    tol = params.get("pagerank_tol")
    if tol is not None and (not isinstance(tol, int | float) or isinstance(tol, bool) or not 0 < tol < 1):
        errors.append("params.pagerank_tol: must be a number between 0 and 1 (exclusive), or null")
    return errors


def _check_regression(name: str, rparams: Mapping[str, Any]) -> list[str]:
    if name not in REGRESSIONS:
        return [f"regression: unknown planted regression {name!r} (known: {', '.join(REGRESSIONS)})"]
    errors = [f"regression_params.{k}: {name} takes no parameter {k!r}" for k in sorted(set(rparams) - set(REGRESSIONS[name]))]
    for key, value in rparams.items():
        if key in REGRESSIONS[name] and (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)):
            errors.append(f"regression_params.{key}: must be a number")
    if name == "drop_edges" and not 0 < float(rparams.get("fraction", 0.02)) <= 0.5:
        errors.append("regression_params.fraction: must be in (0, 0.5]")
    if name == "pagerank_damping" and not 0 < float(rparams.get("alpha_scale", 0.8)) <= 1.1:
        errors.append("regression_params.alpha_scale: must be in (0, 1.1]")
    return errors


@dataclass(frozen=True)
class EngineProfile:
    """One engine configuration: a name and version label, engine parameters, a planted regression."""

    name: str
    version: str
    params: dict[str, Any] = field(default_factory=dict)
    regression: str = "none"
    regression_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        errors = check_params(self.params) + _check_regression(self.regression, self.regression_params)
        if errors:
            raise ValueError("; ".join(errors))

    def param(self, key: str) -> Any:
        value = self.params.get(key)
        return PARAM_DEFAULTS[key] if value is None else value

    def regression_param(self, key: str) -> float:
        return float(self.regression_params.get(key, REGRESSIONS[self.regression][key]))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "params": dict(self.params), "regression": self.regression,
                "regression_params": dict(self.regression_params)}


def prod_profile() -> EngineProfile:
    """The production engine as manifests describe it."""
    return EngineProfile("prod", ENGINE_VERSION)


def prod2_profile() -> EngineProfile:
    """The second production copy: same engine and parameters, its own edge insertion order."""
    return EngineProfile("prod2", ENGINE_VERSION, {"edge_order": "shuffled"})


# --- datasets as a run sees them --------------------------------------------------------------------


def _edge_hash(dataset: GraphDataset, k: int) -> float:
    i, j = dataset.edges[k]
    h = hashlib.blake2b(f"{dataset.nodes[i]}\x00{dataset.nodes[j]}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def _view(dataset: GraphDataset, edges: list[int]) -> GraphDataset:
    """A dataset whose edge list is ``dataset.edges[k] for k in edges`` (in that order).

    Job runners read ``nodes``, ``edges``, ``weights`` and ``directed`` only; the canonical bytes (and
    digest) of a view are not meaningful and never used.
    """
    view = GraphDataset(
        directed=dataset.directed,
        nodes=dataset.nodes,
        edges=tuple(dataset.edges[k] for k in edges),
        weights=tuple(dataset.weights[k] for k in edges) if dataset.weights is not None else None,
    )
    view._index.update(dataset._index)
    return view


def _dataset_for(profile: EngineProfile, dataset: GraphDataset, order_salt: str) -> GraphDataset:
    keep = list(range(len(dataset.edges)))
    if profile.regression == "drop_edges" and keep:
        fraction = profile.regression_param("fraction")
        hashes = [_edge_hash(dataset, k) for k in keep]
        dropped = {k for k in keep if hashes[k] < fraction} or {min(keep, key=hashes.__getitem__)}
        keep = [k for k in keep if k not in dropped]
    if profile.param("edge_order") == "shuffled":
        random.Random(f"pcq-edge-order:{order_salt}").shuffle(keep)
    if keep == list(range(len(dataset.edges))):
        return dataset
    return _view(dataset, keep)


# --- results as a run reports them ------------------------------------------------------------------


def _jitter(value: Any, key: str, salt: str, ulps: int) -> Any:
    if not isinstance(value, float) or not math.isfinite(value) or ulps <= 0:
        return value
    h = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=2).digest()
    steps = h[0] % (ulps + 1)
    direction = math.inf if h[1] & 1 else -math.inf
    for _ in range(steps):
        value = math.nextafter(value, direction)
    return value


def _offset(value: Any, offset: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 2:
        return value
    return value + (int(offset) if isinstance(value, int) and float(offset).is_integer() else offset)


def _postprocess(profile: EngineProfile, kind: str, body: dict[str, Any], salt: str) -> dict[str, Any]:
    ulps = int(profile.param("float_jitter_ulps"))
    offset = profile.regression_param("offset") if profile.regression == "distance_offset" else None
    if not ulps and offset is None:
        return body
    out = dict(body)
    if kind in ("pagerank", "betweenness"):
        out["values"] = {k: _jitter(v, k, salt, ulps) for k, v in body["values"].items()}
    elif kind == "shortest_paths":
        out["distances"] = {
            s: {t: _jitter(d if offset is None else _offset(d, offset), f"{s}->{t}", salt, ulps) for t, d in row.items()}
            for s, row in body["distances"].items()
        }
    elif kind == "k_shortest_paths":
        out["pairs"] = [
            dict(q, paths=[
                dict(p, cost=_jitter(p["cost"] if offset is None else _offset(p["cost"], offset),
                                     f"{q['source']}->{q['target']}#{r}", salt, ulps))
                for r, p in enumerate(q["paths"])
            ])
            for q in body["pairs"]
        ]
    elif kind == "louvain":
        out["modularity"] = _jitter(body["modularity"], "modularity", salt, ulps)
    return out


def run_profile(
    profile: EngineProfile,
    kind: str,
    dataset: GraphDataset,
    parameters: dict[str, Any],
    seed: int | None = None,
    *,
    order_salt: str = "",
) -> Result:
    """Run a job (complete ``parameters``) the way ``profile`` would.

    ``order_salt`` names the run (e.g. ``"prod2:<job id>"``): it seeds the shuffled edge order and the
    float jitter, so two copies with different salts show independent noise.
    """
    params = dict(parameters)
    if kind == "pagerank":
        if profile.param("pagerank_tol") is not None:
            params["tol"] = float(profile.param("pagerank_tol"))
        if profile.regression == "pagerank_damping":
            params["alpha"] = params["alpha"] * profile.regression_param("alpha_scale")
    result = run_job(kind, _dataset_for(profile, dataset, order_salt), params, seed)
    body = _postprocess(profile, kind, result.body, f"{profile.name}:{profile.version}:{order_salt}")
    return result if body is result.body else Result(body)
