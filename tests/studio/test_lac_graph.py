"""Graph metrics agree with networkx (both implementations); bounds evaluate lazily and correctly."""

import math
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.lac import graph as G
from studio.lac.graph import GraphMetrics, GraphMetricUnavailable, metrics_networkx

BACKENDS = ["python", "dense"]
METRICS = ("edge_count", "node_count", "degree", "component_size")
OPS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
       "==": lambda a, b: a == b, "!=": lambda a, b: a != b}

small_ints = st.integers(0, 25)
# node ids as they arrive in requests: strings and ints, sometimes mixed in one graph
labels = st.one_of(small_ints, st.sampled_from(["a", "b", "c", "d", "e", "+4917012", "x\u0430"]))
edges = st.lists(st.tuples(small_ints, small_ints), max_size=60)
mixed_edges = st.lists(st.tuples(labels, labels), max_size=60)


def check_all(graph):
    ref = metrics_networkx(graph)
    for backend in BACKENDS:
        m = GraphMetrics(graph, backend=backend)
        for metric in METRICS:
            assert m.get(metric) == ref[metric], (backend, metric)
        if "path_length" in ref:
            assert m.get("path_length") == ref["path_length"], backend
    return ref


@settings(max_examples=300, deadline=None)
@given(edges, st.lists(st.integers(0, 30), max_size=3))
def test_metrics_match_networkx(es, seeds):
    check_all({"edges": es, "seeds": seeds})


@settings(max_examples=200, deadline=None)
@given(mixed_edges, st.lists(labels, max_size=4))
def test_metrics_match_networkx_with_mixed_node_ids(es, seeds):
    check_all({"edges": [list(e) for e in es], "seeds": seeds})


# integer ids take the dense implementation's dict-free path: a presence table over the id range, or
# np.unique when the ids are spread thinly; ids beyond int64 fall back to interning
wide_ints = st.one_of(st.integers(-3, 40), st.integers(-(2**63), 2**63 - 1), st.sampled_from([2**63, -(2**63) - 1]))
int_like_seeds = st.one_of(st.integers(-3, 40), st.booleans(), st.sampled_from([1.0, 2.5, -3.0, "1", "a", 2**70]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(small_ints, st.booleans()), small_ints), max_size=60),
       st.lists(int_like_seeds, max_size=4), st.integers(-(2**40), 2**40))
def test_int_ids_match_networkx(es, seeds, shift):
    check_all({"edges": es, "seeds": seeds})
    # the same graph moved along the number line (negative ids, a table far from zero)
    check_all({"edges": [(u + shift, v + shift) for u, v in es], "seeds": [s + shift for s in seeds if type(s) is int]})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(wide_ints, wide_ints), max_size=40), st.lists(wide_ints, max_size=3))
def test_spread_and_huge_int_ids_match_networkx(es, seeds):
    check_all({"edges": es, "seeds": seeds})


def test_int_ids_skip_the_dict_and_other_ids_do_not():
    assert G._Dense([(1, 2), (True, 2**40)])._values is not None
    assert G._Dense([(1, 2), (3, 2**63)])._values is None  # beyond int64
    assert G._Dense([(1, 2), (3, 4.0)])._values is None
    assert G._Dense([(1, 2), (3, "4")])._values is None


@pytest.mark.parametrize("seeds", [[np.int64(3)], [3.0], [Decimal(3)], [Fraction(3, 1)], ["3"], [3 + 0j]])
def test_seeds_compare_with_int_nodes_as_dict_keys_do(seeds):
    es = [(i, i + 1) for i in range(200)]
    check_all({"edges": es, "seeds": seeds})
    check_all({"edges": es, "seeds": [*seeds, 500, "x"]})


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(2, 40), st.integers(0, 2**32), st.integers(1, 8))
def test_sparse_forests_with_many_seeds_match_networkx(components, size, seed, n_seeds):
    # trees of several components, plus repeated edges and self-loops; seeds spread over them
    rnd = random.Random(seed)
    es = []
    for c in range(components):
        base = c * 1000
        es += [(base + i, base + rnd.randrange(i)) for i in range(1, size)]
    es += rnd.sample(es, min(len(es), 5)) + [(x, x) for x, _ in rnd.sample(es, min(len(es), 3))]
    rnd.shuffle(es)
    nodes = sorted({x for e in es for x in e})
    seeds = rnd.sample(nodes, min(n_seeds, len(nodes))) if nodes else [0]
    check_all({"edges": es, "seeds": seeds})
    check_all({"edges": es, "seeds": [c * 1000 for c in range(components)]})


@settings(max_examples=200, deadline=None)
@given(edges, st.integers(0, 12), st.sampled_from(sorted(OPS)),
       st.sampled_from(["degree", "component_size", "node_count", "edge_count"]), st.sampled_from(BACKENDS))
def test_bound_shortcuts_agree_with_exact_value(es, bound, op, metric, backend):
    exact = metrics_networkx(es)[metric]
    ok, value = GraphMetrics(es, backend=backend).holds(metric, op, bound)
    assert ok == OPS[op](exact, bound)
    if not ok:
        assert value == exact  # a failed bound reports the exact value (it goes into the reason)


@settings(max_examples=100, deadline=None)
@given(edges, st.lists(st.integers(0, 30), min_size=1, max_size=3), st.integers(0, 6), st.sampled_from(BACKENDS))
def test_path_bound_agrees_with_networkx(es, seeds, bound, backend):
    exact = metrics_networkx({"edges": es, "seeds": seeds})["path_length"]
    ok, value = GraphMetrics({"edges": es, "seeds": seeds}, backend=backend).holds("path_length", "<=", bound)
    assert ok == (exact <= bound) and value == exact


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_graph(backend):
    m = GraphMetrics({"edges": [], "seeds": []}, backend=backend)
    assert [m.get(k) for k in METRICS] == [0, 0, 0, 0]
    m = GraphMetrics({"edges": [], "seeds": ["s"]}, backend=backend)
    assert (m.get("node_count"), m.get("component_size"), m.get("path_length")) == (1, 1, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_and_reversed_edges_count_once(backend):
    m = GraphMetrics([("a", "b"), ("b", "a"), ("a", "b"), ("b", "c")], backend=backend)
    assert (m.get("edge_count"), m.get("degree"), m.get("component_size")) == (2, 2, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_self_loops_count_twice_in_degree(backend):
    m = GraphMetrics([("a", "a"), ("a", "a"), ("a", "b")], backend=backend)
    assert (m.get("edge_count"), m.get("node_count"), m.get("degree")) == (2, 2, 3)
    assert m.holds("degree", "<=", 2) == (False, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_path_length_needs_seeds_and_unreached_nodes_are_unbounded(backend):
    with pytest.raises(GraphMetricUnavailable):
        GraphMetrics([("a", "b")], backend=backend).get("path_length")
    disconnected = {"edges": [("a", "b"), ("c", "d")], "seeds": ["a"]}
    assert math.isinf(GraphMetrics(disconnected, backend=backend).get("path_length"))
    assert GraphMetrics({"edges": [("a", "b"), ("b", "c")], "seeds": ["b"]}, backend=backend).get("path_length") == 1
    # one seed per component: every node is reached
    both = {"edges": [("a", "b"), ("b", "x"), ("c", "d")], "seeds": ["a", "d"]}
    assert GraphMetrics(both, backend=backend).get("path_length") == 2
    # seeds that are not in the subgraph are isolated nodes: the edges' nodes stay unreached
    assert math.isinf(GraphMetrics({"edges": [("a", "b")], "seeds": ["zz"]}, backend=backend).get("path_length"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [[("a", "b", "c")], [("a",)], [("a", "b"), ("c", "d", "e"), ("f",)],
                                 [(["unhashable"], "b")], [None]])
def test_malformed_edges_make_the_metrics_unavailable(backend, bad):
    m = GraphMetrics({"edges": bad * 200, "seeds": ["a"]}, backend=backend)
    for metric in ("degree", "component_size", "path_length", "node_count"):
        with pytest.raises(GraphMetricUnavailable) as e:
            m.get(metric)
        assert e.value.metric == "edges"


def test_missing_graph_is_unavailable():
    with pytest.raises(GraphMetricUnavailable):
        GraphMetrics(None)


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError):
        GraphMetrics([], backend="gpu")


def test_auto_backend_switches_on_size():
    assert not GraphMetrics([(1, 2)] * (G.DENSE_MIN_EDGES - 1)).use_dense
    assert GraphMetrics([(1, 2)] * G.DENSE_MIN_EDGES).use_dense == G.HAVE_DENSE


@pytest.mark.parametrize("ids", [int, str])
def test_private_scipy_kernels_match_the_public_ones(monkeypatch, ids):
    rnd = random.Random(5)
    es = [(ids(rnd.randrange(300)), ids(rnd.randrange(300))) for _ in range(400)] + [(ids(7), ids(7))] * 2
    fast = GraphMetrics({"edges": es, "seeds": [ids(1), ids(2)]}, backend="dense")
    monkeypatch.setattr(G, "_to_csr", G._to_csr_public)
    monkeypatch.setattr(G, "_components", G._components_public)
    monkeypatch.setattr(G, "_bfs", G._bfs_public)
    slow = GraphMetrics({"edges": es, "seeds": [ids(1), ids(2)]}, backend="dense")
    for metric in (*METRICS, "path_length"):
        assert fast.get(metric) == slow.get(metric)


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_graph_metrics(backend):
    # a 10k-edge subgraph: a grid of 100 x 51 nodes
    es = [((i, j), (i, j + 1)) for i in range(100) for j in range(50)]
    es += [((i, j), (i + 1, j)) for i in range(99) for j in range(51)]
    es = es[:10000]
    m = GraphMetrics({"edges": es, "seeds": [(0, 0)]}, backend=backend)
    ref = metrics_networkx({"edges": es, "seeds": [(0, 0)]})
    assert len(es) == 10000
    assert {k: m.get(k) for k in ref} == ref


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_path_depth(backend):
    es = [(f"n{i}", f"n{i + 1}") for i in range(3000)]
    assert GraphMetrics({"edges": es, "seeds": ["n0"]}, backend=backend).get("path_length") == 3000
    assert GraphMetrics({"edges": es, "seeds": ["n1500"]}, backend=backend).get("path_length") == 1500


@pytest.mark.parametrize("backend", BACKENDS)
def test_size_shortcuts_do_not_accept_malformed_edges(backend):
    m = GraphMetrics({"edges": [("a", "b", "c")], "seeds": ["a"]}, backend=backend)
    for metric in ("degree", "component_size"):
        with pytest.raises(GraphMetricUnavailable):
            m.holds(metric, "<=", 5000)
