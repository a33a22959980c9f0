"""Batch verification of query transcripts: same verdicts as one by one, failures isolated and named."""

from __future__ import annotations

from typing import Any

import pytest

from tests.zktx.psi_support import flip_b64, mutate, phones, replace_element, scenario
from zktx.protocol import Element
from zktx.protocol.verify import (
    BatchVerifier,
    verify_commitment,
    verify_epoch,
    verify_transcript,
    verify_transcripts_batch,
)


@pytest.fixture(scope="module")
def batch() -> dict[str, Any]:
    sessions = []
    for i, k in enumerate((3, 8)):
        sc = scenario(k=k, seed=f"batch-{i}".encode(), max_query=64)
        state = sc.run_epoch(phones(range(0, 60)))
        sessions.append((sc, state, verify_epoch(state.transcript, keys=sc.keys)))
    transcripts, owners = [], []
    for j in range(10):
        sc = sessions[j % 2][0]
        transcripts.append(sc.run_query(phones(range(50 + j, 66 + j)), query_id=f"q{j}"))
        owners.append(j % 2)
    return {"sessions": sessions, "transcripts": transcripts, "owners": owners}


def test_batch_matches_one_by_one(batch) -> None:
    for s in (0, 1):  # each session has its own partners, hence its own trust anchors
        sc, _, ve = batch["sessions"][s]
        mine = [t for t, o in zip(batch["transcripts"], batch["owners"], strict=True) if o == s]
        single = [verify_transcript(t, keys=sc.keys, epoch=ve) for t in mine]
        for mode in ("rfc", "rlc"):
            for workers in (1, 2):
                res = verify_transcripts_batch(mine, keys=sc.keys, epochs=[ve], workers=workers, mode=mode)
                assert res.all_valid and res.failed == ()
                assert list(res.verdicts) == single
    counts = [verify_transcript(t, keys=batch["sessions"][o][0].keys, epoch=batch["sessions"][o][2]).count
              for t, o in zip(batch["transcripts"], batch["owners"], strict=True)]  # fmt: skip
    assert counts == [10 - j for j in range(10)]


@pytest.mark.parametrize("mode", ["rfc", "rlc"])
def test_failures_are_isolated_and_named(batch, mode: str) -> None:
    sc, _, ve = batch["sessions"][0]
    mine = [t for t, o in zip(batch["transcripts"], batch["owners"], strict=True) if o == 0]
    tampered = list(mine)
    tampered[1] = mutate(
        mine[1], ("evaluation", "elements"), lambda v: replace_element(v, 0, Element.random().encode())
    )
    tampered[2] = mutate(mine[2], ("count",), lambda v: v + 1)
    tampered[3] = mutate(mine[3], ("evaluation", "proofs", 0, "proof"), flip_b64)
    tampered[4] = mutate(mine[4], ("header_digest",), flip_b64)  # no such epoch registered
    res = verify_transcripts_batch(tampered, keys=sc.keys, epochs=[ve], workers=2, mode=mode)
    assert res.failed == (1, 2, 3, 4)
    codes = [e.code if e else None for e in res.errors]
    assert codes == [None, "proof_invalid", "count_mismatch", "proof_invalid", "session_mismatch"]
    assert res.verdicts[0] == verify_transcript(mine[0], keys=sc.keys, epoch=ve)
    assert all(v is None for v in res.verdicts[1:])


def test_light_and_cached_epochs_agree(batch) -> None:
    sc, state, ve = batch["sessions"][1]
    mine = [t for t, o in zip(batch["transcripts"], batch["owners"], strict=True) if o == 1]
    light = verify_commitment(state.transcript["commitment"], state.transcript["session"], keys=sc.keys)
    assert not light.fully_verified and light.root == ve.root
    cached = BatchVerifier(sc.keys, workers=2)
    cached.add_epoch(ve)
    lite = BatchVerifier(sc.keys, workers=2)
    lite.add_epoch(light)
    a, b = cached.verify(mine), lite.verify(mine)
    assert [v.count for v in a.verdicts] == [v.count for v in b.verdicts]  # type: ignore[union-attr]
    assert all(v.epoch_fully_verified for v in a.verdicts) and not any(
        v.epoch_fully_verified for v in b.verdicts
    )  # type: ignore[union-attr]


def test_non_objects_and_empty_batches(batch) -> None:
    sc, _, ve = batch["sessions"][0]
    res = verify_transcripts_batch([[], "x"], keys=sc.keys, epochs=[ve])  # type: ignore[list-item]
    assert [e.code for e in res.errors] == ["transcript_malformed", "transcript_malformed"]  # type: ignore[union-attr]
    assert verify_transcripts_batch([], keys=sc.keys, epochs=[ve]).all_valid
