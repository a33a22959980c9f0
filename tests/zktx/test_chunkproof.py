"""Chunked VOPRF evaluation: RFC 9497 compatibility (incl. the Rust ``voprf`` package), rejection of
invalid points and scalars, chunk planning, and the random-linear-combination batch check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import voprf
from hypothesis import given, settings
from hypothesis import strategies as st

from zktx.protocol import VOPRF, Element, Proof, Scalar, errors, proof_is_valid
from zktx.protocol.chunkproof import (
    ChunkItem,
    ChunkProof,
    check_chunking,
    composites_checked,
    evaluate_with_proofs,
    iter_evaluate,
    plan_chunks,
    verify_chunk,
    verify_chunks,
    verify_chunks_rlc,
)
from zktx.protocol.dleq import MAX_BATCH, composite_seed
from zktx.protocol.group import ORDER, add_trusted, mul_base_trusted, mul_trusted
from zktx.protocol.psi import derive_session_keypair, session_key_info

ristretto = voprf.ristretto
SEED = b"\x42" * 32
KP = derive_session_keypair(SEED, session_id="s-1", epoch=3, role="holder")
PK = KP.pk.encode()


def raises_panic(call: Callable[[], object]) -> bool:
    try:
        call()
    except BaseException as exc:  # voprf's PanicException derives from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        return True
    return False


def random_elements(n: int) -> list[bytes]:
    return [Element.random().encode() for _ in range(n)]


def item(c: list[bytes], d: list[bytes], p: ChunkProof) -> ChunkItem:
    return ChunkItem(PK, c[p.start : p.start + p.count], d[p.start : p.start + p.count], p)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 300_000), size=st.one_of(st.none(), st.integers(1, MAX_BATCH)))
def test_plan_chunks_tiles_the_range(n: int, size: int | None) -> None:
    chunks = plan_chunks(n, chunk_size=size)
    assert sum(len(c) for c in chunks) == n
    assert all(1 <= len(c) <= MAX_BATCH for c in chunks)
    pos = 0
    for c in chunks:
        assert c.start == pos
        pos = c.stop
    if size is None and chunks:
        assert max(len(c) for c in chunks) - min(len(c) for c in chunks) <= 1


def test_plan_chunks_limits() -> None:
    assert [len(c) for c in plan_chunks(16)] == [16]
    assert [len(c) for c in plan_chunks(10_000)] == [5000, 5000]
    assert len(plan_chunks(200_000, target=MAX_BATCH)) == 4
    with pytest.raises(errors.ChunkingInvalidError):
        plan_chunks(10, chunk_size=MAX_BATCH + 1)


def test_chunk_proofs_are_rfc9497_proofs() -> None:
    c = random_elements(23)
    d, proofs = evaluate_with_proofs(KP.sk, KP.pk, c, chunk_size=10)
    assert [p.count for p in proofs] == [10, 10, 3]
    assert d == [mul_trusted(KP.sk.encode(), x) for x in c]
    for p in proofs:
        verify_chunk(PK, c[p.start : p.start + p.count], d[p.start : p.start + p.count], p)
        # the existing RFC 9497 verifier (checked against the RFC's vectors) agrees
        cs = [Element.decode(x) for x in c[p.start : p.start + p.count]]
        ds = [Element.decode(x) for x in d[p.start : p.start + p.count]]
        assert proof_is_valid(KP.pk, cs, ds, Proof.decode(p.proof), ctx=VOPRF)
        # and the carried commitments are the prover's t2 = r·G, t3 = r·M (recomputed from c, s)
        c_s, s_s = p.c, p.s
        assert add_trusted(mul_base_trusted(s_s), mul_trusted(c_s, PK)) == p.t2


def test_our_chunk_proofs_verify_with_the_rust_voprf_client() -> None:
    inputs = [f"selector-{i}".encode() for i in range(7)]
    clients = [ristretto.Client.blind(x) for x in inputs]
    blinded = [b.serialize() for _, b in clients]
    outputs: list[bytes] = []
    for chunk in iter_evaluate(KP.sk, KP.pk, blinded, chunk_size=4):
        part = clients[chunk.start : chunk.start + len(chunk.outputs)]
        wire = chunk.proof.proof + b"".join(chunk.outputs)
        pk = ristretto.PublicKey.deserialize(PK)
        outputs += ristretto.Client.finalize_batch(
            [cl for cl, _ in part], ristretto.VerifiableBatchOutput.deserialize(wire), pk
        )
        tampered = bytearray(wire)
        tampered[40] ^= 1
        assert raises_panic(
            lambda part=part, tampered=bytes(tampered), pk=pk: ristretto.Client.finalize_batch(
                [cl for cl, _ in part], ristretto.VerifiableBatchOutput.deserialize(tampered), pk
            )
        )
    evaluator = ristretto.Evaluator.from_seed(SEED, session_key_info("s-1", 3, "holder"))
    assert evaluator.public_key.serialize() == PK
    assert outputs == [evaluator.evaluate_known_input(x) for x in inputs]


def test_rust_proofs_verify_with_our_chunk_verifier() -> None:
    evaluator = ristretto.Evaluator.from_seed(SEED, session_key_info("s-1", 3, "holder"))
    c = random_elements(5)
    wire = evaluator.evaluate_batch([ristretto.BlindedInput.deserialize(x) for x in c]).serialize()
    proof, d = wire[:64], [wire[64 + 32 * i : 96 + 32 * i] for i in range(5)]
    ours, _ = evaluate_with_proofs(KP.sk, KP.pk, c)
    assert d == ours  # same key, same evaluation
    cs, ss = proof[:32], proof[32:]
    # their proof carries no (t2, t3): fill them in from (c, s) as an RFC verifier would
    t2 = add_trusted(mul_base_trusted(ss), mul_trusted(cs, PK))
    m, z = composites_checked(composite_seed(PK, VOPRF), c, d, VOPRF)
    t3 = add_trusted(mul_trusted(ss, m), mul_trusted(cs, z))
    verify_chunk(PK, c, d, ChunkProof(0, 5, cs, ss, t2, t3))
    with pytest.raises(errors.ProofInvalidError):
        verify_chunk(PK, c, d[::-1], ChunkProof(0, 5, cs, ss, t2, t3))


@pytest.fixture(scope="module")
def statement() -> tuple[list[bytes], list[bytes], ChunkProof]:
    c = random_elements(6)
    d, proofs = evaluate_with_proofs(KP.sk, KP.pk, c)
    return c, d, proofs[0]


NON_CANONICAL = (2**255 - 18).to_bytes(32, "little")  # field element p+1: not a canonical encoding
IDENTITY = bytes(32)


@pytest.mark.parametrize(("which", "bad", "code"), [
    ("c", IDENTITY, "invalid_element"),
    ("d", IDENTITY, "invalid_element"),
    ("c", NON_CANONICAL, "invalid_element"),
    ("d", NON_CANONICAL, "invalid_element"),
    ("d", b"\xff" * 32, "invalid_element"),
])  # fmt: skip
def test_invalid_points_are_rejected(statement, which: str, bad: bytes, code: str) -> None:
    c, d, p = statement
    c2, d2 = list(c), list(d)
    (c2 if which == "c" else d2)[2] = bad
    with pytest.raises(errors.ProtocolError) as exc:
        verify_chunk(PK, c2, d2, p)
    assert exc.value.code == code
    assert "element 2" in exc.value.message
    with pytest.raises(errors.InvalidElementError):
        evaluate_with_proofs(KP.sk, KP.pk, c2 if which == "c" else [bad])


@pytest.mark.parametrize(
    "field",
    ["c", "s"],
)
def test_non_canonical_scalars_are_rejected(statement, field: str) -> None:
    c, d, p = statement
    value = int.from_bytes(getattr(p, field), "little") + ORDER  # same residue, not canonical (< 2^254: encodable)
    fields = {"c": p.c, "s": p.s, field: value.to_bytes(32, "little")}
    bad = ChunkProof(p.start, p.count, fields["c"], fields["s"], p.t2, p.t3)
    with pytest.raises(errors.ProofMalformedError) as exc:
        verify_chunk(PK, c, d, bad)
    assert exc.value.code == "proof_malformed"


@pytest.mark.parametrize("field", ["c", "s", "t2", "t3"])
def test_tampered_proof_fields_are_rejected(statement, field: str) -> None:
    c, d, p = statement
    values = {"c": p.c, "s": p.s, "t2": p.t2, "t3": p.t3}
    values[field] = Scalar.random().encode() if field in ("c", "s") else Element.random().encode()
    bad = ChunkProof(p.start, p.count, values["c"], values["s"], values["t2"], values["t3"])
    with pytest.raises(errors.ProofInvalidError) as exc:
        verify_chunk(PK, c, d, bad)
    assert exc.value.code == "proof_invalid"
    assert not verify_chunks_rlc([item(c, d, bad)])


def test_check_chunking() -> None:
    ok = [ChunkProof(0, 3, b"", b"", b"", b""), ChunkProof(3, 2, b"", b"", b"", b"")]
    check_chunking(ok, 5)
    for bad, n in [(ok, 6), (ok[::-1], 5), (ok[:1], 5), ([], 1), ([ChunkProof(0, 0, b"", b"", b"", b"")], 0)]:
        with pytest.raises(errors.ChunkingInvalidError):
            check_chunking(bad, n)


def test_rlc_and_rfc_agree_on_many_proofs() -> None:
    other = derive_session_keypair(SEED, session_id="s-2", epoch=3, role="holder")
    items: list[ChunkItem] = []
    for kp in (KP, other, KP):
        c = random_elements(5)
        d, proofs = evaluate_with_proofs(kp.sk, kp.pk, c, chunk_size=2)
        items += [ChunkItem(kp.pk.encode(), c[p.start : p.start + p.count], d[p.start : p.start + p.count], p)
                  for p in proofs]  # fmt: skip
    assert verify_chunks_rlc(items)
    assert verify_chunks(items, mode="rlc", workers=2) == [None] * len(items)
    assert verify_chunks(items, mode="rfc", workers=2) == [None] * len(items)
    # swap two outputs of one chunk: both modes must name exactly that chunk
    bad = items[4]
    items[4] = ChunkItem(bad.pk_enc, bad.c_encs, list(bad.d_encs)[::-1], bad.proof)
    assert not verify_chunks_rlc(items)
    for mode in ("rfc", "rlc"):
        errs = verify_chunks(items, mode=mode, workers=2)
        assert [i for i, e in enumerate(errs) if e is not None] == [4]
        assert errs[4] is not None and errs[4].code == "proof_invalid"
