"""Transcripts: canonical encodings, and every tampered field rejected with its stable code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785

from tests.zktx.psi_support import flip_b64, mutate, phones, replace_element, scenario
from zktx.protocol import Element, errors
from zktx.protocol.group import ORDER
from zktx.protocol.transcript import b64d, b64e, canonical_bytes, digest
from zktx.protocol.verify import verify_commitment, verify_epoch, verify_receipt, verify_transcript

NON_CANONICAL = (2**255 - 18).to_bytes(32, "little")
IDENTITY = bytes(32)


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    sc = scenario(k=2, seed=b"tamper", max_query=64)
    epoch = sc.run_epoch(phones(range(0, 24)), chunk_size=10)
    ve = verify_epoch(epoch.transcript, keys=sc.keys)
    tx = sc.run_query(phones([1, 2, 3, 30, 31, 32, 33]), query_id="query-1", chunk_size=4)
    assert tx["count"] == 3 and len(tx["evaluation"]["proofs"]) == 2
    return {"sc": sc, "epoch": epoch, "ve": ve, "tx": tx}


def test_honest_transcripts_verify_and_survive_the_wire(world) -> None:
    sc, ve, tx = world["sc"], world["ve"], world["tx"]
    wire = json.loads(json.dumps(tx))
    verdict = verify_transcript(wire, keys=sc.keys, epoch=ve)
    assert (verdict.count, verdict.k, verdict.exceeds, verdict.verdict) == (3, 2, True, "exceeds")
    assert verdict.transcript_digest == digest(tx) and verdict.epoch_fully_verified
    again = verify_epoch(json.loads(json.dumps(world["epoch"].transcript)), keys=sc.keys)
    assert again.root == ve.root and again.size == 24


def test_canonical_json_is_rfc8785(world) -> None:
    for obj in (world["tx"], world["epoch"].transcript, {"é": ["ü", 1, None, True], "a": {"b": "\u0001"}}):
        assert canonical_bytes(obj) == rfc8785.dumps(obj)


@pytest.mark.parametrize(
    "text",
    ["AAEC=", "AA+C", "AA/C", "A", "AAF", "AA EC", "ÄÄ"],
    ids=["pad", "plus", "slash", "len1", "bits", "space", "uni"],
)
def test_base64url_is_strict(text: str) -> None:
    with pytest.raises(errors.TranscriptMalformedError):
        b64d(text)
    assert b64d(b64e(b"\x00\x01\x02")) == b"\x00\x01\x02"


def other_key() -> str:
    return b64e(Element.random().encode())


def swap_first_two(text: str) -> str:
    raw = b64d(text)
    return b64e(raw[32:64] + raw[:32] + raw[64:])


def flip_last(text: str) -> str:
    raw = bytearray(b64d(text))
    raw[-1] ^= 0x01
    return b64e(bytes(raw))


def big_s(text: str) -> str:
    raw = b64d(text)
    s = (int.from_bytes(raw[32:], "little") + ORDER).to_bytes(32, "little")
    return b64e(raw[:32] + s)


T = tuple[tuple[str | int, ...], Callable[[Any], Any], str]
QUERY_TAMPERS: list[T] = [
    (("type",), lambda _: "zktx-query/2", "transcript_version"),
    (("suite",), lambda _: "P256-SHA256", "transcript_suite"),
    (("encoding",), lambda _: "hex", "transcript_suite"),
    (("session_id",), lambda v: v + "x", "session_mismatch"),
    (("header_digest",), flip_b64, "session_mismatch"),
    (("commitment", "root"), flip_b64, "epoch_mismatch"),
    (("commitment", "size"), lambda v: v + 1, "epoch_mismatch"),
    (("request", "type"), lambda _: "zktx-query-request/9", "transcript_version"),
    (("request", "session_id"), lambda v: v + "x", "session_mismatch"),
    (("request", "k"), lambda v: v - 1, "k_mismatch"),
    (("request", "size"), lambda v: v + 1, "transcript_malformed"),
    (("request", "elements"), swap_first_two, "set_not_canonical"),
    (("request", "elements"), flip_last, "signature_invalid"),
    (("request", "elements"), lambda v: v[:-2], "transcript_malformed"),
    (("request", "query_id"), lambda v: v + "x", "signature_invalid"),
    (("request", "signature"), flip_b64, "signature_invalid"),
    (("evaluation", "type"), lambda _: "x", "transcript_version"),
    (("evaluation", "header_digest"), flip_b64, "session_mismatch"),
    (("evaluation", "query_id"), lambda v: v + "x", "reference_mismatch"),
    (("evaluation", "request_digest"), flip_b64, "reference_mismatch"),
    (("evaluation", "key"), lambda _: other_key(), "key_mismatch"),
    (("evaluation", "elements"), lambda v: replace_element(v, 1, Element.random().encode()), "proof_invalid"),
    (("evaluation", "elements"), lambda v: replace_element(v, 5, Element.random().encode()), "proof_invalid"),
    (("evaluation", "elements"), lambda v: replace_element(v, 2, IDENTITY), "invalid_element"),
    (("evaluation", "elements"), lambda v: replace_element(v, 2, NON_CANONICAL), "invalid_element"),
    (("evaluation", "elements"), lambda v: b64e(b64d(v)[:-32]), "transcript_malformed"),
    (("evaluation", "proofs", 0, "proof"), flip_b64, "proof_invalid"),
    (("evaluation", "proofs", 1, "proof"), lambda v: flip_b64(v, 40), "proof_invalid"),
    (("evaluation", "proofs", 0, "proof"), big_s, "proof_malformed"),
    (("evaluation", "proofs", 0, "t2"), flip_b64, "proof_invalid"),
    (("evaluation", "proofs", 1, "t3"), lambda _: other_key(), "proof_invalid"),
    (("evaluation", "proofs", 0, "count"), lambda v: v + 1, "chunking_invalid"),
    (("evaluation", "proofs", 1, "start"), lambda v: v - 1, "chunking_invalid"),
    (("evaluation", "proofs"), lambda v: v[:1], "chunking_invalid"),
    (("evaluation", "proofs"), lambda _: [], "transcript_malformed"),
    (("membership", "claims"), lambda v: [v[0] ^ 1, *v[1:]], "membership_invalid"),
    (("membership", "claims"), lambda v: [v[0] + 2, *v[1:]], "membership_invalid"),
    (("membership", "claims"), lambda v: v[:-1], "membership_invalid"),
    (("membership", "leaf_indices"), lambda v: [v[0] + 1, *v[1:]], "membership_invalid"),
    (("membership", "leaves"), flip_b64, "membership_invalid"),
    (("membership", "siblings"), flip_b64, "membership_invalid"),
    (("membership", "siblings"), lambda v: b64e(b64d(v)[:-32]), "membership_invalid"),
    (("count",), lambda v: v - 1, "count_mismatch"),
    (("count",), lambda v: v + 1, "count_mismatch"),
    (("k",), lambda v: v + 1, "k_mismatch"),
    (("verdict",), lambda v: "within" if v == "exceeds" else "exceeds", "verdict_mismatch"),
    (("signature",), flip_b64, "signature_invalid"),
    (("note",), lambda _: "added", "signature_invalid"),
]


def _tamper(obj: dict[str, Any], path: tuple[str | int, ...], fn: Callable[[Any], Any]) -> dict[str, Any]:
    if path == ("note",):
        return {**obj, "note": fn(None)}
    return mutate(obj, path, fn)


@pytest.mark.parametrize(
    ("path", "fn", "code"), QUERY_TAMPERS, ids=[f"{'.'.join(map(str, p))}->{c}" for p, _, c in QUERY_TAMPERS]
)
def test_every_tampered_query_field_is_rejected(world, path, fn, code: str) -> None:
    tampered = _tamper(world["tx"], path, fn)
    assert tampered != world["tx"]
    with pytest.raises(errors.ProtocolError) as exc:
        verify_transcript(tampered, keys=world["sc"].keys, epoch=world["ve"])
    assert exc.value.code == code, exc.value.message
    # the light epoch (root signed by the exchange, no cached tree) rejects it with the same code
    light = verify_commitment(
        world["epoch"].transcript["commitment"], world["epoch"].transcript["session"], keys=world["sc"].keys
    )
    with pytest.raises(errors.ProtocolError) as exc2:
        verify_transcript(tampered, keys=world["sc"].keys, epoch=light)
    assert exc2.value.code == code


EPOCH_TAMPERS: list[T] = [
    (("type",), lambda _: "zktx-epoch/0", "transcript_version"),
    (("suite",), lambda _: "ristretto255-SHA256", "transcript_suite"),
    (("session", "header", "policy", "k"), lambda v: v + 1, "signature_invalid"),
    (("session", "header", "holder_key"), lambda _: other_key(), "signature_invalid"),
    (("session", "header", "querier_key"), lambda _: b64e(NON_CANONICAL), "invalid_element"),
    (("session", "header", "type"), lambda _: "zktx-session/2", "transcript_version"),
    (("session", "signatures", "holder"), flip_b64, "signature_invalid"),
    (("session", "signatures", "querier"), flip_b64, "signature_invalid"),
    (("holder_set", "header_digest"), flip_b64, "session_mismatch"),
    (("holder_set", "elements"), swap_first_two, "set_not_canonical"),
    (("holder_set", "elements"), flip_last, "signature_invalid"),
    (("holder_set", "size"), lambda v: v + 1, "transcript_malformed"),
    (("holder_set", "signature"), flip_b64, "signature_invalid"),
    (("evaluation", "holder_set_digest"), flip_b64, "reference_mismatch"),
    (("evaluation", "key"), lambda _: other_key(), "key_mismatch"),
    (("evaluation", "elements"), lambda v: replace_element(v, 3, Element.random().encode()), "proof_invalid"),
    (
        ("evaluation", "elements"),
        lambda v: replace_element(v, 12, Element.random().encode()),
        "proof_invalid",
    ),
    (("evaluation", "elements"), lambda v: replace_element(v, 3, IDENTITY), "invalid_element"),
    (("evaluation", "proofs", 2, "proof"), flip_b64, "proof_invalid"),
    (("evaluation", "proofs", 0, "t3"), lambda _: other_key(), "proof_invalid"),
    (("evaluation", "proofs", 0, "count"), lambda v: v - 1, "chunking_invalid"),
    (("commitment", "session_id"), lambda v: v + "x", "session_mismatch"),
    (("commitment", "holder_set_digest"), flip_b64, "reference_mismatch"),
    (("commitment", "evaluation_digest"), flip_b64, "reference_mismatch"),
    (("commitment", "root"), flip_b64, "commitment_invalid"),
    (("commitment", "size"), lambda v: v - 1, "commitment_invalid"),
    (("commitment", "signature"), flip_b64, "signature_invalid"),
]


@pytest.mark.parametrize(
    ("path", "fn", "code"), EPOCH_TAMPERS, ids=[f"{'.'.join(map(str, p))}->{c}" for p, _, c in EPOCH_TAMPERS]
)
def test_every_tampered_epoch_field_is_rejected(world, path, fn, code: str) -> None:
    tampered = mutate(world["epoch"].transcript, path, fn)
    with pytest.raises(errors.ProtocolError) as exc:
        verify_epoch(tampered, keys=world["sc"].keys)
    assert exc.value.code == code, exc.value.message


def test_wrong_trust_anchors_are_rejected(world) -> None:
    sc, other = world["sc"], scenario(seed=b"someone-else")
    for keys in (
        sc.keys.__class__(other.keys.holder, sc.keys.querier, sc.keys.exchange),
        sc.keys.__class__(sc.keys.holder, other.keys.querier, sc.keys.exchange),
        sc.keys.__class__(sc.keys.holder, sc.keys.querier, other.keys.exchange),
    ):
        with pytest.raises(errors.SignatureInvalidError):
            verify_epoch(world["epoch"].transcript, keys=keys)
    with pytest.raises(errors.SessionMismatchError):
        verify_transcript(
            world["tx"],
            keys=sc.keys,
            epoch=verify_epoch(other.run_epoch(phones(range(5))).transcript, keys=other.keys),
        )


def test_receipts(world) -> None:
    sc, tx = world["sc"], world["tx"]
    receipt = sc.exchange.receipt(tx)
    assert set(receipt) == {
        "type",
        "session_id",
        "query_id",
        "k",
        "verdict",
        "transcript_digest",
        "signature",
    }
    verify_receipt(receipt, tx, keys=sc.keys)
    with pytest.raises(errors.SignatureInvalidError):
        verify_receipt(mutate(receipt, ("verdict",), lambda _: "within"), tx, keys=sc.keys)
    with pytest.raises(errors.ReferenceMismatchError):  # the receipt names another transcript
        verify_receipt(receipt, {**tx, "note": 1}, keys=sc.keys)
