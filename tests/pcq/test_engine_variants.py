"""pcq.engine.variants: engine configurations, the second production copy, planted regressions."""

from __future__ import annotations

import math

import pytest

from pcq.engine.canary import CanaryCase, judge
from pcq.engine.jobs import normalize_parameters, run_job
from pcq.engine.variants import (
    REGRESSIONS,
    EngineProfile,
    check_params,
    prod2_profile,
    prod_profile,
    run_profile,
)
from pcq.engine.workload import generate_graph

DS = generate_graph("gnm", 120, seed=4, weighted=True)
SP = normalize_parameters("shortest_paths", {"sources": ["n0", "n1"], "weighted": True})
PR = normalize_parameters("pagerank", {"weighted": True})


def test_prod_is_the_engine_and_prod2_reproduces_order_independent_kinds():
    for kind, params, seed in (("pagerank", PR, None), ("shortest_paths", SP, None), ("components", normalize_parameters("components"), None)):
        recorded = run_job(kind, DS, params, seed)
        assert run_profile(prod_profile(), kind, DS, params, seed).digest == recorded.digest
        assert run_profile(prod2_profile(), kind, DS, params, seed, order_salt="x").digest == recorded.digest


def test_shuffled_insertion_order_moves_louvain_on_a_graph_without_clear_communities():
    ba = generate_graph("ba", 300, seed=0)
    params = normalize_parameters("louvain")
    a = run_profile(prod_profile(), "louvain", ba, params, 7)
    b = run_profile(prod2_profile(), "louvain", ba, params, 7, order_salt="one")
    c = run_profile(prod2_profile(), "louvain", ba, params, 7, order_salt="one")
    assert a.digest != b.digest  # a second copy is noisy here...
    assert b.digest == c.digest  # ...but deterministic for its salt


def test_float_jitter_moves_only_last_bits():
    profile = EngineProfile("canary", "1.1", {"float_jitter_ulps": 4})
    prod = run_job("pagerank", DS, PR).body["values"]
    jittered = run_profile(profile, "pagerank", DS, PR, order_salt="j").body["values"]
    assert jittered != prod
    assert all(abs(jittered[k] - v) <= 4 * math.ulp(v) for k, v in prod.items())
    body = run_job("pagerank", DS, PR).body
    report = judge([CanaryCase("pagerank", body, body, run_profile(profile, "pagerank", DS, PR, order_salt="j").body)])
    assert not report.flagged  # within the last-bit floors


@pytest.mark.parametrize(("regression", "kind", "params"), [
    ("pagerank_damping", "pagerank", PR),
    ("drop_edges", "shortest_paths", SP),
    ("drop_edges", "pagerank", PR),
    ("distance_offset", "shortest_paths", SP),
])
def test_planted_regressions_change_what_they_claim_to(regression, kind, params):
    good = run_job(kind, DS, params)
    bad = run_profile(EngineProfile("canary", "1.1", regression=regression), kind, DS, params, order_salt="r")
    assert bad.digest != good.digest
    report = judge([CanaryCase(kind, good, good, bad, tier=1)])
    assert report.flagged and report.severity > 0


def test_regressions_leave_unaffected_kinds_alone():
    comps = normalize_parameters("components")
    good = run_job("components", DS, comps)
    assert run_profile(EngineProfile("c", "1", regression="pagerank_damping"), "components", DS, comps).digest == good.digest
    assert run_profile(EngineProfile("c", "1", regression="distance_offset"), "pagerank", DS, PR).digest == run_job("pagerank", DS, PR).digest


def test_drop_edges_drops_at_least_one_edge_and_the_same_ones_every_time():
    tiny = generate_graph("gnm", 30, seed=1, m=1)
    pr = normalize_parameters("pagerank")
    prof = EngineProfile("c", "1", regression="drop_edges", regression_params={"fraction": 1e-9})
    a = run_profile(prof, "pagerank", tiny, pr)
    b = run_profile(prof, "pagerank", tiny, pr, order_salt="other")
    assert a.digest == b.digest  # the same edge is dropped whatever the run
    assert a.digest != run_job("pagerank", tiny, pr).digest  # and one is, even at a tiny fraction


def test_profiles_refuse_unknown_parameters_and_regressions():
    assert check_params({"edge_order": "random"}) == ["params.edge_order: must be 'canonical' or 'shuffled'"]
    assert any("unknown engine parameter" in e for e in check_params({"turbo": True}))
    assert check_params({"float_jitter_ulps": 65})
    assert check_params({"pagerank_tol": 0})
    for bad in ({"regression": "nope"}, {"regression": "drop_edges", "regression_params": {"fraction": 0.9}},
                {"regression": "pagerank_damping", "regression_params": {"beta": 1}}):
        with pytest.raises(ValueError):
            EngineProfile("c", "1", **bad)
    assert set(REGRESSIONS) == {"none", "pagerank_damping", "drop_edges", "distance_offset"}
    assert EngineProfile("c", "1", {"edge_order": "shuffled"}, "drop_edges", {"fraction": 0.1}).to_dict()["regression_params"] == {"fraction": 0.1}
