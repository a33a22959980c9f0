"""The exchange end to end through the API: verdicts against ground truth, what each party sees."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from tests.zktx.test_service_support import dataset, drain, make_env, open_epoch, selectors
from witness.models import Entry
from witness.tlog.statement import parse_statement
from zktx.client.api import ApiError
from zktx.client.partner import check_verdict
from zktx.models import Envelope, Epoch, Query, ServiceLog
from zktx.protocol.transcript import b64d

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("seed", [11, 12])
def test_verdicts_match_ground_truth_on_random_sets(world, tmp_path, seed):
    env = make_env(world, tmp_path, k=3)
    ds = dataset(seed, holder_size=200, n_queries=6, query_size=16, k=3)
    eid = open_epoch(env, ds.holder)
    qpks = [env.querier.make_query(eid, selectors(raw))["id"] for raw in ds.queries]
    assert env.holder.answer_pending() == {"setup": 0, "epoch": 0, "query": 6, "errors": 0}
    assert drain() == 6
    assert {q.status for q in Query.objects.all()} == {"verdict"}
    for i, qpk in enumerate(qpks):
        for partner in (env.querier, env.holder):  # both get the receipt, both check it and its log inclusion
            v = partner.verdict(qpk)
            assert v.ok, v.problems
            assert v.verdict == ds.expected(i)
        assert Query.objects.get(pk=qpk).count == ds.overlaps[i]  # the exchange (and auditors) learn the count
    assert {ds.expected(i) for i in range(6)} == {"within", "exceeds"}  # the dataset tests both sides of k


def test_partners_never_see_counts_transcripts_or_the_other_evaluation(world, tmp_path):
    env = make_env(world, tmp_path)
    ds = dataset(3, n_queries=1)
    eid = open_epoch(env, ds.holder)
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    env.holder.answer_pending()
    drain()
    for partner in (env.querier, env.holder):
        detail = partner.api.query(qpk)
        assert "count" not in detail and "transcript_digest" not in detail and detail["verdict"] in ("within", "exceeds")
        for call in (lambda p=partner: p.api.transcript(qpk), lambda p=partner: p.api.epoch_transcript(eid)):
            with pytest.raises(ApiError) as exc:
                call()
            assert exc.value.status == 404
    assert env.operator.query(qpk)["count"] == ds.overlaps[0]
    assert env.operator.transcript(qpk)["type"] == "zktx-query/1"
    assert env.operator.epoch_transcript(eid)["type"] == "zktx-epoch/1"
    # the holder set is for the querier to evaluate; its evaluation (Y2) is served to nobody
    assert env.querier.api.holder_set(eid)["type"] == "zktx-holder-set/1"


def test_every_verdict_is_a_signed_transcript_statement_in_the_log(world, tmp_path):
    env = make_env(world, tmp_path)
    ds = dataset(4, n_queries=2)
    eid = open_epoch(env, ds.holder)
    for raw in ds.queries:
        env.querier.make_query(eid, selectors(raw))
    env.holder.answer_pending()
    drain()
    for q in Query.objects.all():
        entry = Entry.objects.get(leaf_hash=q.witness_leaf_hash)
        st = parse_statement(bytes(entry.payload))
        assert st.type == "zktx.transcript"
        assert st.body["transcript_digest"] == q.transcript_digest == b64d(q.receipt["transcript_digest"]).hex()
        assert st.body["verdict"] == q.verdict and "count" not in st.body
        assert entry.index is not None


def test_a_forged_receipt_fails_the_partners_check(world, tmp_path):
    env = make_env(world, tmp_path)
    ds = dataset(5, n_queries=1)
    eid = open_epoch(env, ds.holder)
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    env.holder.answer_pending()
    drain()
    resp = env.querier.api.verdict(qpk)
    pinned = env.querier.state.config()["exchange"]
    kw = {"exchange_identity": b64d(pinned["identity_key"]), "statement_key": pinned["statement_verifier_key"],
          "log_key": pinned["log_verifier_key"]}
    assert check_verdict(resp, **kw).ok
    flipped = {"within": "exceeds", "exceeds": "within"}[resp["receipt"]["verdict"]]
    forged = {**resp, "receipt": {**resp["receipt"], "verdict": flipped}}
    bad = check_verdict(forged, **kw)
    assert not bad.ok and not bad.receipt_valid and any("verdict" in p for p in bad.problems)
    inc = resp["witness"]["inclusion"]
    moved = {**resp, "witness": {**resp["witness"], "inclusion": {**inc, "leaf_index": inc["leaf_index"] + 1}}}
    assert not check_verdict(moved, **kw).logged
    other = {**resp, "witness": {**resp["witness"], "statement": resp["witness"]["statement"].replace(
        resp["receipt"]["verdict"], flipped)}}
    assert not check_verdict(other, **kw).ok


def test_actions_are_audited_logged_and_enveloped_without_selectors(world, tmp_path):
    from zktx import blobs
    from zktx.bundle.scan import SelectorScanner

    env = make_env(world, tmp_path)
    ds = dataset(6, n_queries=3)
    eid = open_epoch(env, ds.holder)
    for raw in ds.queries:
        env.querier.make_query(eid, selectors(raw))
    env.holder.answer_pending()
    drain()
    actions = set(AuditEvent.objects.filter(action__startswith="zktx.").values_list("action", flat=True))
    assert {"zktx.key.register", "zktx.pilot.create", "zktx.epoch.start", "zktx.epoch.join", "zktx.epoch.sign",
            "zktx.holder_set.upload", "zktx.epoch.evaluation_submit", "zktx.epoch.open", "zktx.query.submit",
            "zktx.query.evaluate", "zktx.query.verdict"} <= actions
    kinds = set(Envelope.objects.values_list("kind", flat=True))
    assert {"key-register", "epoch-join", "epoch-sign", "holder-set", "epoch-evaluation", "query", "query-evaluation"} <= kinds
    scanner = SelectorScanner(ds.raw_selectors())
    for line in ServiceLog.objects.all():
        assert not scanner.scan(repr(line.fields).encode()), line.event
    for env_row in Envelope.objects.all():
        assert not scanner.scan(blobs.get(env_row.body_blob)), env_row.kind
    epoch = Epoch.objects.get(pk=eid)
    assert not scanner.scan(blobs.get(epoch.transcript_blob))
    # the scanner does find a selector when one is there (the check above can fail)
    assert scanner.scan(f"note {ds.holder[0]}".encode())


def test_expired_epoch_rotates_and_partners_rejoin_from_their_inbox(world, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from zktx import services

    env = make_env(world, tmp_path)
    ds = dataset(7, n_queries=2)
    eid = open_epoch(env, ds.holder)
    env.querier.make_query(eid, selectors(ds.queries[0]))
    assert services.epochs_expire() == []  # not yet
    started = services.epochs_expire(now=timezone.now() + timedelta(hours=2))
    assert len(started) == 1 and started[0].number == 2
    assert Epoch.objects.get(pk=eid).status == "closed"
    with pytest.raises(ApiError) as exc:  # no more queries in the old epoch
        env.querier.make_query(eid, selectors(ds.queries[1]))
    assert exc.value.code == "epoch_state"
    # both partners' clients pick the new epoch up from their inbox: join, then sign (after checking the header)
    assert env.holder.answer_pending()["setup"] == 1
    assert env.querier.answer_pending()["setup"] == 1
    assert env.holder.answer_pending()["setup"] == 1
    new = env.operator.epoch(str(started[0].pk))
    assert new["status"] == "holder_set_pending" and new["header"]["holder_key"] != env.operator.epoch(eid)["header"]["holder_key"]
