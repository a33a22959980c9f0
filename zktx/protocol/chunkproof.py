"""Chunked VOPRF evaluation with RFC 9497 proofs that also carry their commitments ``(t2, t3)``.

One RFC 9497 proof covers at most 65,536 pairs (its composite index is ``I2OSP(i, 2)``), so
a list of ``n`` elements is cut into contiguous *chunks* and each chunk gets its own proof:
exactly RFC 9497 §2.2 ``GenerateProof(k, G, pkS, C[start:start+count], D[start:start+count])``
with the composite index running from 0 inside the chunk. :func:`plan_chunks` picks the
chunk size adaptively (progress granularity, the 65,536 limit); :func:`iter_evaluate` yields
one chunk at a time so a worker can report progress or persist partial results.

Each :class:`ChunkProof` holds the RFC encoding ``c || s`` *and* the prover's commitments
``t2 = r·G`` and ``t3 = r·M``. An RFC verifier ignores ``t2, t3`` (it recomputes them and
compares the challenge); :func:`verify_chunk` additionally requires the carried values to equal
the recomputed ones, so a transcript has one valid form. The carried commitments admit the
random-linear-combination check of :func:`verify_chunks_rlc` (see its docstring for what it
costs on libsodium: without a multi-scalar multiplication it buys nothing).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import pysodium

from zktx.protocol._parallel import map_chunks
from zktx.protocol.dleq import (
    MAX_BATCH,
    _composites_encoded,
    challenge_bytes,
    composite_scalars,
    composite_seed,
)
from zktx.protocol.errors import (
    ChunkingInvalidError,
    InvalidElementError,
    ProofInvalidError,
    ProofMalformedError,
    ProtocolError,
)
from zktx.protocol.group import (
    IDENTITY_ENCODING,
    Element,
    Scalar,
    add_trusted,
    is_canonical_scalar,
    mul_base_trusted,
    mul_encoded_many,
    mul_trusted,
)
from zktx.protocol.h2c import VOPRF, Context

#: Default chunk size below the RFC limit: ~1 s of proving on one core, so progress moves.
PROGRESS_CHUNK: Final = 8192

_smul = pysodium.crypto_scalarmult_ristretto255
_padd = pysodium.crypto_core_ristretto255_add

#: ``progress(stage, done, total)``: called after each chunk of work.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class ChunkProof:
    """The proof of one chunk: pairs ``[start, start + count)`` under one key."""

    start: int
    count: int
    c: bytes
    s: bytes
    t2: bytes
    t3: bytes

    @property
    def proof(self) -> bytes:
        """The RFC 9497 encoding ``c || s``."""
        return self.c + self.s


def plan_chunks(n: int, *, chunk_size: int | None = None, target: int = PROGRESS_CHUNK) -> list[range]:
    """Contiguous chunks covering ``range(n)``, each at most :data:`~zktx.protocol.dleq.MAX_BATCH`.

    Without ``chunk_size`` the number of chunks is ``max(ceil(n / 65536), ceil(n / target))``
    and the sizes are equalised (they differ by at most one), so 10,000 elements make two
    chunks of 5,000 and 16 elements one chunk.
    """
    if n < 0:
        raise ChunkingInvalidError("cannot chunk a negative count")
    if n == 0:
        return []
    if chunk_size is not None:
        if not 1 <= chunk_size <= MAX_BATCH:
            raise ChunkingInvalidError(f"chunk size must be 1..{MAX_BATCH}")
        return [range(i, min(i + chunk_size, n)) for i in range(0, n, chunk_size)]
    target = max(1, min(target, MAX_BATCH))
    parts = max(-(-n // MAX_BATCH), -(-n // target))
    size, extra = divmod(n, parts)
    out: list[range] = []
    start = 0
    for p in range(parts):
        stop = start + size + (1 if p < extra else 0)
        out.append(range(start, stop))
        start = stop
    return out


def check_chunking(proofs: Sequence[ChunkProof], n: int) -> None:
    """Raise ``chunking_invalid`` unless the chunks tile ``[0, n)`` in order, each 1..65,536 long."""
    pos = 0
    for i, p in enumerate(proofs):
        if p.start != pos or not 1 <= p.count <= MAX_BATCH:
            raise ChunkingInvalidError(
                f"proof chunk {i} does not continue at {pos} with 1..{MAX_BATCH} pairs"
            )
        pos += p.count
    if pos != n or (n and not proofs):
        raise ChunkingInvalidError(f"proof chunks cover {pos} of {n} elements")


# --------------------------------------------------------------------------- prover


def prove_chunk(
    sk: Scalar,
    pk_enc: bytes,
    c_encs: Sequence[bytes],
    d_encs: Sequence[bytes],
    start: int,
    *,
    ctx: Context = VOPRF,
    workers: int = 1,
    seed: bytes | None = None,
) -> ChunkProof:
    """RFC 9497 ``GenerateProof`` over trusted encodings (``D = sk·C`` computed here)."""
    m, _ = _composites_encoded(pk_enc, c_encs, d_encs, ctx, with_z=False, workers=workers, seed=seed)
    k = sk.encode()
    z = mul_trusted(k, m)
    r = Scalar.random()
    t2 = mul_base_trusted(r.encode())
    t3 = mul_trusted(r.encode(), m)
    ch = Scalar.decode(challenge_bytes(pk_enc, m, z, t2, t3, ctx))
    s = r - ch * sk
    return ChunkProof(start, len(c_encs), ch.encode(), s.encode(), t2, t3)


@dataclass(frozen=True, slots=True)
class EvaluatedChunk:
    """One chunk of :func:`iter_evaluate`: ``outputs[i] = sk·inputs[start + i]`` and its proof."""

    start: int
    outputs: list[bytes]
    proof: ChunkProof


def iter_evaluate(
    sk: Scalar,
    pk: Element,
    inputs: Sequence[bytes],
    *,
    ctx: Context = VOPRF,
    workers: int = 1,
    chunk_size: int | None = None,
) -> Iterator[EvaluatedChunk]:
    """Evaluate untrusted encodings with ``sk`` and prove each chunk (VOPRF ``BlindEvaluate``).

    Every input is validated as strictly as RFC 9497 ``DeserializeElement`` (the error names
    the index). Yields chunks in order; the caller may stop early.
    """
    pk_enc = pk.encode()
    seed = composite_seed(pk_enc, ctx)
    k = sk.encode()
    for rng in plan_chunks(len(inputs), chunk_size=chunk_size):
        c = list(inputs[rng.start : rng.stop])
        try:
            d = mul_encoded_many(k, c, workers=workers)
        except InvalidElementError as exc:
            raise InvalidElementError(f"chunk at {rng.start}: {exc.message}") from None
        yield EvaluatedChunk(
            rng.start, d, prove_chunk(sk, pk_enc, c, d, rng.start, ctx=ctx, workers=workers, seed=seed)
        )


def evaluate_with_proofs(
    sk: Scalar,
    pk: Element,
    inputs: Sequence[bytes],
    *,
    ctx: Context = VOPRF,
    workers: int = 1,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    stage: str = "evaluate",
) -> tuple[list[bytes], list[ChunkProof]]:
    """All of :func:`iter_evaluate`: the outputs in input order and one proof per chunk."""
    outputs: list[bytes] = []
    proofs: list[ChunkProof] = []
    total = len(inputs)
    for chunk in iter_evaluate(sk, pk, inputs, ctx=ctx, workers=workers, chunk_size=chunk_size):
        outputs.extend(chunk.outputs)
        proofs.append(chunk.proof)
        if progress is not None:
            progress(stage, len(outputs), total)
    return outputs, proofs


# --------------------------------------------------------------------------- verifier


def _bad(index: int, value: bytes) -> InvalidElementError:
    if value == IDENTITY_ENCODING:
        return InvalidElementError(f"element {index} is the identity")
    return InvalidElementError(f"element {index} is not a canonical ristretto255 encoding")


def composites_checked(
    seed: bytes,
    c_encs: Sequence[bytes],
    d_encs: Sequence[bytes],
    ctx: Context,
    offset: int = 0,
    workers: int = 1,
) -> tuple[bytes, bytes]:
    """RFC 9497 ``ComputeComposites`` over *untrusted* encodings: ``(M, Z)``.

    libsodium's multiplication decodes (and so validates) each element; the identity, which
    libsodium also refuses, is reported as such. ``offset`` only shifts indices in errors.
    """
    n = len(c_encs)
    if n != len(d_encs) or not 1 <= n <= MAX_BATCH:
        raise ChunkingInvalidError(f"a proof covers 1..{MAX_BATCH} pairs, got {n} and {len(d_encs)}")
    smul, padd = _smul, _padd

    def run(lo: int, hi: int) -> tuple[bytes, bytes]:
        ds = composite_scalars(seed, c_encs, d_encs, ctx, lo, hi)
        m = z = b""
        for j, w in enumerate(ds):
            i = lo + j
            ci, di = c_encs[i], d_encs[i]
            try:
                tm = smul(w, ci)
            except ValueError:
                raise _bad(offset + i, ci) from None
            try:
                tz = smul(w, di)
            except ValueError:
                raise _bad(offset + i, di) from None
            if m:
                m = padd(m, tm)
                z = padd(z, tz)
            else:
                m, z = tm, tz
        return m, z

    parts = map_chunks(run, n, workers)
    m, z = parts[0]
    for pm, pz in parts[1:]:
        m = add_trusted(m, pm)
        z = add_trusted(z, pz)
    return m, z


def _check_scalars(proof: ChunkProof) -> None:
    if (
        len(proof.c) != 32
        or len(proof.s) != 32
        or not is_canonical_scalar(proof.c)
        or not is_canonical_scalar(proof.s)
    ):
        raise ProofMalformedError("proof scalars must be canonical 32-byte encodings (< L)")
    if len(proof.t2) != 32 or len(proof.t3) != 32:
        raise ProofMalformedError("proof commitments t2, t3 must be 32-byte encodings")


def verify_chunk(
    pk_enc: bytes,
    c_encs: Sequence[bytes],
    d_encs: Sequence[bytes],
    proof: ChunkProof,
    *,
    ctx: Context = VOPRF,
    seed: bytes | None = None,
    workers: int = 1,
) -> None:
    """RFC 9497 §2.2.2 ``VerifyProof`` for one chunk, plus equality of the carried ``t2, t3``.

    Raises ``invalid_element`` (bad pair, index relative to the whole list),
    ``proof_malformed`` or ``proof_invalid``.
    """
    _check_scalars(proof)
    seed = composite_seed(pk_enc, ctx) if seed is None else seed
    m, z = composites_checked(seed, c_encs, d_encs, ctx, proof.start, workers)
    t2 = add_trusted(mul_base_trusted(proof.s), mul_trusted(proof.c, pk_enc))
    t3 = add_trusted(mul_trusted(proof.s, m), mul_trusted(proof.c, z))
    if not hmac.compare_digest(challenge_bytes(pk_enc, m, z, t2, t3, ctx), proof.c):
        raise ProofInvalidError(f"DLEQ proof of chunk at {proof.start} does not verify")
    if not (hmac.compare_digest(t2, proof.t2) and hmac.compare_digest(t3, proof.t3)):
        raise ProofInvalidError(f"chunk at {proof.start}: carried commitments t2, t3 differ from the proof's")


@dataclass(frozen=True, slots=True)
class ChunkItem:
    """A chunk statement to verify: ``D = k·C`` for the key ``pk_enc`` of ``pkS``."""

    pk_enc: bytes
    c_encs: Sequence[bytes]
    d_encs: Sequence[bytes]
    proof: ChunkProof
    tag: Any = None


def verify_chunks(
    items: Sequence[ChunkItem], *, ctx: Context = VOPRF, workers: int = 1, mode: str = "rfc"
) -> list[ProtocolError | None]:
    """Verify many chunk statements; ``result[i]`` is ``None`` or the error of item ``i``.

    ``mode="rfc"`` runs :func:`verify_chunk` on each item; ``mode="rlc"`` runs
    :func:`verify_chunks_rlc` and falls back to ``rfc`` to name the failures. Items are spread
    over ``workers`` threads (largest first); a lone large item uses the threads inside.
    """
    if mode not in ("rfc", "rlc"):
        raise ValueError("mode must be 'rfc' or 'rlc'")
    seeds: dict[bytes, bytes] = {}
    for it in items:
        if it.pk_enc not in seeds:
            seeds[it.pk_enc] = composite_seed(it.pk_enc, ctx)
    if mode == "rlc" and items and verify_chunks_rlc(items, ctx=ctx, workers=workers, seeds=seeds):
        return [None] * len(items)
    results: list[ProtocolError | None] = [None] * len(items)

    def check(i: int, inner: int) -> None:
        it = items[i]
        try:
            verify_chunk(
                it.pk_enc, it.c_encs, it.d_encs, it.proof, ctx=ctx, seed=seeds[it.pk_enc], workers=inner
            )
        except ProtocolError as exc:
            results[i] = exc

    _run_lanes(len(items), lambda i: len(items[i].c_encs), check, workers)
    return results


def _run_lanes(n: int, weight: Callable[[int], int], fn: Callable[[int, int], None], workers: int) -> None:
    if workers <= 1 or n <= 1:
        for i in range(n):
            fn(i, workers)
        return
    order = sorted(range(n), key=weight, reverse=True)
    lanes = [order[w::workers] for w in range(workers)]
    lanes = [lane for lane in lanes if lane]

    def run(lane: list[int]) -> None:
        for i in lane:
            fn(i, 1)

    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="zktx-verify") as pool:
        for fut in [pool.submit(run, lane) for lane in lanes]:
            fut.result()


def verify_chunks_rlc(
    items: Sequence[ChunkItem],
    *,
    ctx: Context = VOPRF,
    workers: int = 1,
    seeds: dict[bytes, bytes] | None = None,
) -> bool:
    """Random-linear-combination check of many proofs carrying ``(t2, t3)``; True iff all hold.

    For each item the composites ``(M_i, Z_i)`` are computed and the challenge is checked as a
    hash of the *carried* commitments, ``c_i = H(pk_i, M_i, Z_i, t2_i, t3_i)``; then, with fresh
    random scalars ``r_i, u_i``, the single equation
    ``Σ r_i·t2_i + Σ u_i·t3_i = (Σ r_i·s_i)·G + Σ_pk (Σ r_i·c_i)·pk + Σ (u_i·s_i)·M_i + Σ (u_i·c_i)·Z_i``
    replaces the ``2·N`` per-proof equations (a false item passes with probability ≈ 2/L).

    Cost: per item 4 scalar multiplications (``t2_i``, ``t3_i``, ``M_i``, ``Z_i`` terms) against
    the RFC check's 3 plus one fixed-base multiplication; the composites (2 per pair) dominate
    both. libsodium has no multi-scalar multiplication, so every term is a full multiplication
    and the combination cannot be cheaper than checking each proof. It pays only with an MSM
    (Straus/Pippenger in curve25519-dalek, for example), which this form enables. Returns
    False on any failure (malformed items included): the caller then checks items one by one.
    """
    seeds = dict(seeds or {})
    n = len(items)
    composites: list[tuple[bytes, bytes] | None] = [None] * n

    def comp(i: int, inner: int) -> None:
        it = items[i]
        try:
            _check_scalars(it.proof)
            seed = seeds.get(it.pk_enc) or composite_seed(it.pk_enc, ctx)
            m, z = composites_checked(seed, it.c_encs, it.d_encs, ctx, it.proof.start, inner)
        except ProtocolError:
            return
        if hmac.compare_digest(challenge_bytes(it.pk_enc, m, z, it.proof.t2, it.proof.t3, ctx), it.proof.c):
            composites[i] = (m, z)

    _run_lanes(n, lambda i: len(items[i].c_encs), comp, workers)
    if any(c is None for c in composites):
        return False
    sum_rs = Scalar.zero()
    pk_weights: dict[bytes, Scalar] = {}
    terms: list[tuple[bytes, bytes]] = []  # (scalar, point) with the point on the "left" side
    neg_terms: list[tuple[bytes, bytes]] = []
    for it, mz in zip(items, composites, strict=True):
        assert mz is not None
        m, z = mz
        r, u = Scalar.random(), Scalar.random()
        c, s = Scalar.decode(it.proof.c), Scalar.decode(it.proof.s)
        terms.append((r.encode(), it.proof.t2))
        terms.append((u.encode(), it.proof.t3))
        sum_rs = sum_rs + r * s
        pk_weights[it.pk_enc] = pk_weights.get(it.pk_enc, Scalar.zero()) + r * c
        neg_terms.append(((u * s).encode(), m))
        neg_terms.append(((u * c).encode(), z))
    for pk_enc, w in pk_weights.items():
        neg_terms.append((w.encode(), pk_enc))

    def msum(pairs: list[tuple[bytes, bytes]]) -> bytes | None:
        def run(lo: int, hi: int) -> bytes | None:
            acc = IDENTITY_ENCODING
            for w, p in pairs[lo:hi]:
                try:
                    term = mul_trusted(w, p) if p != IDENTITY_ENCODING else None
                except InvalidElementError:
                    return None
                if term is None:
                    return None
                acc = add_trusted(acc, term)
            return acc

        parts = map_chunks(run, len(pairs), workers)
        if any(p is None for p in parts):
            return None
        acc = IDENTITY_ENCODING
        for p in parts:
            assert p is not None
            acc = add_trusted(acc, p)
        return acc

    left = msum(terms)
    right = msum(neg_terms)
    if left is None or right is None:
        return False
    right = add_trusted(right, mul_base_trusted(sum_rs.encode()))
    return hmac.compare_digest(left, right)


__all__ = [
    "PROGRESS_CHUNK",
    "ChunkItem",
    "ChunkProof",
    "EvaluatedChunk",
    "Progress",
    "check_chunking",
    "composites_checked",
    "evaluate_with_proofs",
    "iter_evaluate",
    "plan_chunks",
    "prove_chunk",
    "verify_chunk",
    "verify_chunks",
    "verify_chunks_rlc",
]
