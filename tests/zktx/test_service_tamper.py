"""Tampered uploads are refused with the protocol's error codes, and a refused request writes nothing."""

from __future__ import annotations

import copy

import pytest

from accounts.models import AuditEvent
from tests.zktx.psi_support import flip_b64, replace_element
from tests.zktx.test_service_support import (
    dataset,
    drain,
    make_env,
    open_epoch,
    raw_request,
    selectors,
    start_epoch,
)
from zktx.client.api import ApiError
from zktx.models import Envelope, Epoch, EpochEvaluation, HolderSet, Query
from zktx.protocol.group import GENERATOR
from zktx.protocol.transcript import b64d, b64e, pack_elements

pytestmark = pytest.mark.django_db


def _refused(call, status: int, code: str) -> ApiError:
    with pytest.raises(ApiError) as exc:
        call()
    assert (exc.value.status, exc.value.code) == (status, code), exc.value
    return exc.value


def _resign(env, msg: dict, role: str) -> dict:
    out = {k: v for k, v in msg.items() if k != "signature"}
    identity = (env.holder if role == "holder" else env.querier).identity
    out["signature"] = b64e(identity.sign(role, out))
    return out


def _swap_first_two(text: str) -> str:
    raw = b64d(text)
    return b64e(raw[32:64] + raw[:32] + raw[64:])


@pytest.fixture
def at_holder_set(world, tmp_path):
    """An epoch waiting for the holder set, and the valid message the holder would send."""
    env = make_env(world, tmp_path, min_holder_set=50)
    eid = start_epoch(env)
    ds = dataset(21, holder_size=80, n_queries=1)
    msg = env.holder._role_obj(eid).blind_set(selectors(ds.holder))
    return env, eid, msg, ds


HOLDER_SET_TAMPERS = {
    "signature_invalid": lambda env, m: {**m, "signature": flip_b64(m["signature"])},
    "set_not_canonical": lambda env, m: _resign(env, {**m, "elements": _swap_first_two(m["elements"])}, "holder"),
    "session_mismatch": lambda env, m: _resign(env, {**m, "header_digest": b64e(bytes(32))}, "holder"),
    "transcript_malformed": lambda env, m: _resign(env, {**m, "size": m["size"] + 1}, "holder"),
    "transcript_version": lambda env, m: {**m, "type": "zktx-holder-set/9"},
    "policy_violation": lambda env, m: _resign(env, {**m, "size": 10, "elements": pack_elements(
        [b64d(m["elements"])[32 * i: 32 * i + 32] for i in range(10)])}, "holder"),
}


@pytest.mark.parametrize("code", sorted(HOLDER_SET_TAMPERS))
def test_tampered_holder_set_is_refused(at_holder_set, code):
    env, eid, msg, _ = at_holder_set
    events = AuditEvent.objects.count()
    _refused(lambda: env.holder.api.upload_holder_set(eid, HOLDER_SET_TAMPERS[code](env, msg)), 400, code)
    assert not HolderSet.objects.exists() and not Envelope.objects.filter(kind="holder-set").exists()
    assert Epoch.objects.get(pk=eid).status == "holder_set_pending" and AuditEvent.objects.count() == events
    env.holder.api.upload_holder_set(eid, msg)  # the genuine set is still accepted
    assert Epoch.objects.get(pk=eid).status == "evaluation_pending"


def test_only_the_holder_uploads_and_only_in_its_turn(at_holder_set):
    env, eid, msg, _ = at_holder_set
    _refused(lambda: env.querier.api.upload_holder_set(eid, msg), 403, "zktx_wrong_role")
    env.holder.api.upload_holder_set(eid, msg)
    _refused(lambda: env.holder.api.upload_holder_set(eid, msg), 409, "epoch_state")


@pytest.fixture
def at_evaluation(at_holder_set):
    env, eid, msg, ds = at_holder_set
    env.holder.api.upload_holder_set(eid, msg)
    evaluation = env.querier._role_obj(eid).evaluate_holder_set(env.querier.api.holder_set(eid))
    return env, eid, evaluation, ds


SYNC_EVAL_TAMPERS = {
    "key_mismatch": lambda m: {**m, "key": b64e(GENERATOR.encode())},
    "reference_mismatch": lambda m: {**m, "holder_set_digest": b64e(bytes(32))},
    "transcript_malformed": lambda m: {**m, "elements": b64e(b64d(m["elements"])[:-32])},
    "chunking_invalid": lambda m: {**m, "proofs": [{**m["proofs"][0], "count": m["proofs"][0]["count"] - 1}]},
    "session_mismatch": lambda m: {**m, "session_id": "zs-other"},
}


@pytest.mark.parametrize("code", sorted(SYNC_EVAL_TAMPERS))
def test_malformed_epoch_evaluation_is_refused_at_once(at_evaluation, code):
    env, eid, evaluation, _ = at_evaluation
    _refused(lambda: env.querier.api.submit_epoch_evaluation(eid, SYNC_EVAL_TAMPERS[code](copy.deepcopy(evaluation))), 400, code)
    assert not EpochEvaluation.objects.exists() and Epoch.objects.get(pk=eid).status == "evaluation_pending"


@pytest.mark.parametrize("code,tamper", [
    ("proof_invalid", lambda m: {**m, "proofs": [{**m["proofs"][0], "proof": flip_b64(m["proofs"][0]["proof"], 40)}]}),
    ("proof_invalid", lambda m: {**m, "elements": replace_element(m["elements"], 3, GENERATOR.encode())}),
    ("invalid_element", lambda m: {**m, "elements": replace_element(m["elements"], 5, b"\xff" * 32)}),
])
def test_epoch_evaluation_with_bad_proofs_is_rejected_by_the_commit_task(at_evaluation, code, tamper):
    env, eid, evaluation, _ = at_evaluation
    env.querier.api.submit_epoch_evaluation(eid, tamper(copy.deepcopy(evaluation)))
    assert Epoch.objects.get(pk=eid).status == "committing"
    drain()
    ev = EpochEvaluation.objects.get()
    assert (ev.status, ev.error_code) == ("rejected", code)
    detail = env.querier.api.epoch(eid)
    assert detail["status"] == "evaluation_pending" and detail["error"]["code"] == code
    assert env.querier.api.pending()[0]["last_error"] == code  # the querier sees why, and may send it again
    env.querier.api.submit_epoch_evaluation(eid, evaluation)
    drain()
    assert env.querier.api.epoch(eid)["status"] == "open"


@pytest.fixture
def open_env(world, tmp_path):
    env = make_env(world, tmp_path, k=2, min_query=8, min_novel=4)
    ds = dataset(31, holder_size=120, n_queries=3, query_size=16, k=2)
    eid = open_epoch(env, ds.holder)
    return env, eid, ds


REQUEST_TAMPERS = {
    "signature_invalid": lambda env, r: {**r, "signature": flip_b64(r["signature"])},
    "k_mismatch": lambda env, r: _resign(env, {**r, "k": r["k"] + 1}, "querier"),
    "set_not_canonical": lambda env, r: _resign(env, {**r, "elements": _swap_first_two(r["elements"])}, "querier"),
    "policy_violation": lambda env, r: _resign(env, {**r, "size": 4, "elements": pack_elements(
        [b64d(r["elements"])[32 * i: 32 * i + 32] for i in range(4)])}, "querier"),
    "session_mismatch": lambda env, r: _resign(env, {**r, "session_id": "zs-elsewhere"}, "querier"),
}


@pytest.mark.parametrize("code", sorted(REQUEST_TAMPERS))
def test_tampered_query_request_is_refused(open_env, code):
    env, eid, ds = open_env
    request = raw_request(env, eid, ds.queries[0], query_id=f"q-{code}")
    _refused(lambda: env.querier.api.submit_query(eid, REQUEST_TAMPERS[code](env, request)), 400, code)
    assert not Query.objects.exists() and Epoch.objects.get(pk=eid).queries_used == 0


def test_a_query_id_is_never_reused(open_env):
    env, eid, ds = open_env
    request = raw_request(env, eid, ds.queries[0], query_id="q-once")
    env.querier.api.submit_query(eid, request)
    again = raw_request(env, eid, ds.queries[1], query_id="q-once")
    _refused(lambda: env.querier.api.submit_query(eid, again), 409, "query_id_taken")


QUERY_EVAL_TAMPERS = {
    "reference_mismatch": lambda m: {**m, "request_digest": b64e(bytes(32))},
    "key_mismatch": lambda m: {**m, "key": b64e(GENERATOR.encode())},
    "transcript_malformed": lambda m: {**m, "elements": b64e(b64d(m["elements"])[:-32])},
    "invalid_element": lambda m: {**m, "elements": replace_element(m["elements"], 0, bytes(32))},
    "chunking_invalid": lambda m: {**m, "proofs": []},
}


@pytest.mark.parametrize("code", sorted(QUERY_EVAL_TAMPERS))
def test_malformed_query_evaluation_is_refused_at_once(open_env, code):
    env, eid, ds = open_env
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    item = env.holder.api.pending()[0]
    msg = env.holder._role_obj(eid).evaluate_query(item["request"])
    expected = "transcript_malformed" if code == "chunking_invalid" else code  # an empty proof list is malformed
    _refused(lambda: env.holder.api.submit_query_evaluation(qpk, QUERY_EVAL_TAMPERS[code](copy.deepcopy(msg))), 400, expected)
    assert Query.objects.get(pk=qpk).status == "pending_evaluation"


def test_query_evaluation_with_a_bad_proof_is_rejected_then_answered_again(open_env):
    env, eid, ds = open_env
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    request = env.holder.api.pending()[0]["request"]
    msg = env.holder._role_obj(eid).evaluate_query(request)
    bad = {**msg, "elements": replace_element(msg["elements"], 2, GENERATOR.encode())}  # a valid point, but not b·X1
    env.holder.api.submit_query_evaluation(qpk, bad)
    assert drain() == 1
    q = Query.objects.get(pk=qpk)
    assert (q.status, q.error_code, q.verdict) == ("pending_evaluation", "proof_invalid", "")
    assert env.querier.api.verdict(qpk)["receipt"] is None  # nothing is released for a bad evaluation
    env.holder.answer_pending()
    drain()
    q.refresh_from_db()
    assert q.status == "verdict" and q.verdict == ds.expected(0) and q.attempts == 2
