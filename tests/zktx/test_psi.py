"""The PSI-cardinality flow: counts against ground truth, verdicts, role checks, budgets, progress."""

from __future__ import annotations

import hashlib

import pytest
import voprf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.zktx.psi_support import flip_b64, mutate, phones, scenario
from zktx.protocol import errors
from zktx.protocol.psi import QueryBudget, check_query_novelty, session_key_info
from zktx.protocol.selectors import normalize
from zktx.protocol.simulate import new_scenario
from zktx.protocol.transcript import Policy, b64d, b64e, unpack_elements
from zktx.protocol.verify import verify_epoch, verify_transcript


@pytest.fixture(scope="module")
def session():
    sc = scenario(k=2)
    epoch = sc.run_epoch(phones(range(0, 40)))
    return sc, epoch, verify_epoch(epoch.transcript, keys=sc.keys)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    holder=st.sets(st.integers(0, 60), min_size=4, max_size=30),
    query=st.sets(st.integers(0, 60), min_size=1, max_size=12),
    k=st.integers(0, 6),
)
def test_counts_match_ground_truth(holder: set[int], query: set[int], k: int) -> None:
    sc = scenario(k=k, seed=b"gt")
    sc.run_epoch(phones(sorted(holder)))
    tx = sc.run_query(phones(sorted(query)))
    truth = len(holder & query)
    assert tx["count"] == truth
    assert tx["verdict"] == ("exceeds" if truth > k else "within")
    verdict = verify_transcript(tx, keys=sc.keys, epoch=verify_epoch(sc.epoch.transcript, keys=sc.keys))
    assert (verdict.count, verdict.exceeds) == (truth, truth > k)


def test_mixed_selector_types_and_spellings(session) -> None:
    sc = new_scenario(Policy(k=0, min_holder_set=3), seed=b"types")
    holder = [
        normalize("email", "Alice@Example.com"),
        normalize("account", "ACC-1"),
        normalize("phone", "+33612345678"),
    ]
    sc.run_epoch(holder)
    query = [
        normalize("email", " alice@EXAMPLE.com "),  # same address, other spelling: a member
        normalize("phone", "0033 6 12 34 56 78"),  # same number: a member
        normalize("account", "acc-1"),  # account ids are case-sensitive: not a member
        normalize("iban", "GB82WEST12345698765432"),
    ]
    tx = sc.run_query(query)
    assert tx["count"] == 2 and tx["verdict"] == "exceeds"


def test_verdict_boundary_is_strictly_greater_than_k(session) -> None:
    sc, _, ve = session  # holder set 0..39, k = 2
    at_k = sc.run_query(phones([0, 1, 100, 101]))
    above = sc.run_query(phones([0, 1, 2, 100]))
    assert (at_k["count"], at_k["verdict"]) == (2, "within")
    assert (above["count"], above["verdict"]) == (3, "exceeds")
    for tx in (at_k, above):
        assert verify_transcript(tx, keys=sc.keys, epoch=ve).count == tx["count"]


def test_chunked_evaluations_verify(session) -> None:
    _sc, _epoch, _ = session
    small = scenario(k=1, seed=b"chunks", max_query=64)
    state = small.run_epoch(phones(range(0, 25)), chunk_size=7)
    assert len(state.transcript["evaluation"]["proofs"]) == 4
    ve = verify_epoch(state.transcript, keys=small.keys, workers=2)
    tx = small.run_query(phones(range(20, 31)), chunk_size=3, workers=2)
    assert len(tx["evaluation"]["proofs"]) == 4
    assert verify_transcript(tx, keys=small.keys, epoch=ve, workers=2).count == 5


def test_holder_evaluation_matches_the_rust_voprf_evaluator(session) -> None:
    """The holder's evaluation of a query is RFC 9497 BlindEvaluate: same key, same outputs."""
    sc = new_scenario(Policy(k=1, min_holder_set=4), seed=b"rust", session_id="rust-session", epoch=9)
    sc.run_epoch(phones(range(10)))
    tx = sc.run_query(phones(range(5, 12)))
    x1 = unpack_elements(tx["request"]["elements"], "$")
    x2 = unpack_elements(tx["evaluation"]["elements"], "$")
    seed = hashlib.sha256(b"rust" + b"holder-key").digest()  # as simulate.new_scenario derives it
    rust = voprf.ristretto.Evaluator.from_seed(seed, session_key_info("rust-session", 9, "holder"))
    assert rust.public_key.serialize() == sc.header.holder_key
    wire = rust.evaluate_batch([voprf.ristretto.BlindedInput.deserialize(x) for x in x1]).serialize()
    assert [wire[64 + 32 * i : 96 + 32 * i] for i in range(len(x1))] == x2


def test_progress_is_reported_per_stage() -> None:
    sc = scenario(k=1, seed=b"progress", max_query=100)
    events: list[tuple[str, int, int]] = []
    sc.run_epoch(phones(range(30)), chunk_size=8, progress=lambda *e: events.append(e))
    sc.run_query(phones(range(10)), chunk_size=4, progress=lambda *e: events.append(e))
    stages = {s for s, _, _ in events}
    assert {"blind", "evaluate", "commit", "match"} <= stages
    evaluate = [(d, t) for s, d, t in events if s == "evaluate"]
    assert evaluate[:4] == [(8, 30), (16, 30), (24, 30), (30, 30)]
    assert evaluate[4:] == [(4, 10), (8, 10), (10, 10)]


def test_roles_refuse_foreign_or_forged_messages(session) -> None:
    sc, epoch, _ = session
    other = scenario(k=2, seed=b"other-session")
    request = sc.querier.make_query(phones(range(3)), query_id="q")
    with pytest.raises(errors.SessionMismatchError):
        other.holder.evaluate_query(request)
    with pytest.raises(errors.SignatureInvalidError):
        sc.holder.evaluate_query(mutate(request, ("query_id",), lambda v: v + "x"))
    with pytest.raises(errors.KMismatchError):
        sc.holder.evaluate_query(mutate(request, ("k",), lambda v: v + 1))
    with pytest.raises(errors.SetNotCanonicalError):
        raw = b64d(request["elements"])
        swapped = raw[32:64] + raw[:32] + raw[64:]
        sc.holder.evaluate_query(mutate(request, ("elements",), lambda _: b64e(swapped)))
    # the exchange refuses an evaluation of another request, or of another holder set
    other_request = sc.querier.make_query(phones(range(4)), query_id="q2")
    with pytest.raises(errors.ReferenceMismatchError):
        sc.exchange.match(epoch, request, sc.holder.evaluate_query(other_request))
    holder_set = epoch.transcript["holder_set"]
    with pytest.raises(errors.ReferenceMismatchError):
        sc.exchange.commit_epoch(
            sc.signed_header, sc.holder.blind_set(phones(range(5))), epoch.transcript["evaluation"]
        )
    with pytest.raises(errors.SignatureInvalidError):
        sc.querier.evaluate_holder_set(mutate(holder_set, ("signature",), flip_b64))
    with pytest.raises(errors.SessionMismatchError):
        other.querier.evaluate_holder_set(holder_set)


def test_policy_sizes_are_enforced() -> None:
    sc = new_scenario(Policy(k=1, min_holder_set=10, min_query=3, max_query=5), seed=b"policy")
    with pytest.raises(errors.PolicyViolationError):
        sc.holder.blind_set(phones(range(9)))
    with pytest.raises(errors.PolicyViolationError):
        sc.querier.make_query(phones(range(2)), query_id="small")
    with pytest.raises(errors.PolicyViolationError):
        sc.querier.make_query(phones(range(6)), query_id="large")
    # duplicates (after normalisation) count once
    dupes = [normalize("phone", "+33612345678"), normalize("phone", "0033612345678"), *phones(range(2))]
    with pytest.raises(errors.PolicyViolationError):
        sc.querier.make_query(dupes[:3], query_id="dupes")


def test_query_budget_and_novelty() -> None:
    budget = QueryBudget(limit=2)
    budget = budget.charge().charge()
    assert budget.remaining == 0
    with pytest.raises(errors.QueryBudgetExhaustedError) as exc:
        budget.charge()
    assert exc.value.code == "query_budget_exhausted"
    seen = {b"a" * 32, b"b" * 32}
    assert check_query_novelty([b"a" * 32, b"c" * 32, b"d" * 32], seen, min_novel=2) == 2
    with pytest.raises(errors.QueryNotNovelError) as exc2:
        check_query_novelty([b"a" * 32, b"b" * 32, b"c" * 32], seen, min_novel=2)
    assert exc2.value.code == "query_not_novel"


def test_blinded_queries_are_deterministic_within_an_epoch_only() -> None:
    """What makes novelty checks possible, and why keys rotate per epoch."""
    a = scenario(seed=b"det")
    b = scenario(seed=b"det")
    c = new_scenario(Policy(k=3, min_holder_set=4), seed=b"det", epoch=2)
    q = phones(range(5))
    ra, rb, rc = (s.querier.make_query(q, query_id="q") for s in (a, b, c))
    assert ra["elements"] == rb["elements"]
    assert not set(unpack_elements(ra["elements"], "$")) & set(unpack_elements(rc["elements"], "$"))
