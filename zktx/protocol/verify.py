"""Auditor's verification of ZK-TX PSI transcripts: one epoch, one query, many queries.

* :func:`verify_session` — both partners' signatures on the session header.
* :func:`verify_epoch` — the full epoch transcript (holder set, the querier's proofs over it,
  the exchange's commitment); returns a :class:`VerifiedEpoch` that keeps the commitment tree,
  so every later query of the epoch is checked against it without re-hashing.
* :func:`verify_commitment` — the light alternative: only the exchange's signature on the
  root (the tree is then rebuilt from each query's multiproof).
* :func:`verify_transcript` — one query transcript → :class:`Verdict`.
* :class:`BatchVerifier` / :func:`verify_transcripts_batch` — many query transcripts: cheap
  checks first, then every DLEQ proof of every transcript over a thread pool, per-epoch state
  (header, keys, composite seeds, tree) shared.
* :func:`verify_receipt` — a partner's verdict receipt against its transcript.

Every failure raises (or, in a batch, reports) a :class:`~zktx.protocol.errors.ProtocolError`
with a stable ``code``. Checks run in the order of ``docs/zktx-protocol.md`` §8, so a
transcript with one tampered field always fails with the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zktx.protocol.chunkproof import ChunkItem, ChunkProof, Progress, check_chunking, verify_chunks
from zktx.protocol.commitment import (
    MembershipClaim,
    Multiproof,
    SortedSetTree,
    check_claims,
    check_multiproof_against,
    multiproof_root,
)
from zktx.protocol.errors import (
    CommitmentInvalidError,
    CountMismatchError,
    EpochMismatchError,
    KeyMismatchError,
    KMismatchError,
    MembershipInvalidError,
    ProtocolError,
    ReferenceMismatchError,
    SessionMismatchError,
    SetNotCanonicalError,
    TranscriptMalformedError,
    VerdictMismatchError,
)
from zktx.protocol.psi import RECEIPT_TYPE, check_holder_set, check_query_request
from zktx.protocol.transcript import (
    COMMITMENT_TYPE,
    EPOCH_EVALUATION_TYPE,
    EPOCH_TYPE,
    QUERY_EVALUATION_TYPE,
    QUERY_TYPE,
    VERDICT_EXCEEDS,
    VERDICT_WITHIN,
    SessionHeader,
    SignedSessionHeader,
    b64d,
    b64e,
    check_suite,
    check_type,
    digest,
    get,
    get_b64,
    get_elements,
    get_int,
    get_obj,
    get_str,
    proofs_from_json,
    verify_signature,
    without,
)


@dataclass(frozen=True, slots=True)
class PartyKeys:
    """The Ed25519 identity public keys (raw 32 bytes) an auditor trusts for one partner pair."""

    holder: bytes
    querier: bytes
    exchange: bytes


@dataclass(frozen=True, slots=True)
class VerifiedEpoch:
    """A verified epoch commitment; ``tree`` is kept when the full epoch transcript was verified."""

    header: SessionHeader
    root: bytes
    size: int
    commitment_digest: bytes
    tree: SortedSetTree | None = field(default=None, repr=False)

    @property
    def fully_verified(self) -> bool:
        return self.tree is not None

    @property
    def key(self) -> tuple[str, bytes]:
        return (self.header.session_id, self.header.digest)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a verified query transcript establishes."""

    session_id: str
    epoch: int
    query_id: str
    k: int
    count: int
    exceeds: bool
    root: bytes
    transcript_digest: bytes
    epoch_fully_verified: bool

    @property
    def verdict(self) -> str:
        return VERDICT_EXCEEDS if self.exceeds else VERDICT_WITHIN


# --------------------------------------------------------------------------- session, epoch


def verify_session(session: Mapping[str, Any], *, keys: PartyKeys, path: str = "$.session") -> SessionHeader:
    """Parse a signed session header and check both partners' signatures."""
    signed = SignedSessionHeader.from_json(session, path)
    return signed.verify(keys.holder, keys.querier, path)


def _check_ref(msg: Mapping[str, Any], header: SessionHeader, path: str) -> None:
    if get(msg, "session_id", path) != header.session_id:
        raise SessionMismatchError(f"{path}.session_id: another session")
    if get(msg, "header_digest", path) != b64e(header.digest):
        raise SessionMismatchError(f"{path}.header_digest: another session header")


def _proof_items(
    pk_enc: bytes, inputs: list[bytes], outputs: list[bytes], proofs: list[ChunkProof], tag: Any = None
) -> list[ChunkItem]:
    return [
        ChunkItem(pk_enc, inputs[p.start : p.start + p.count], outputs[p.start : p.start + p.count], p, tag)
        for p in proofs
    ]


def verify_epoch(
    transcript: Mapping[str, Any],
    *,
    keys: PartyKeys,
    workers: int = 1,
    mode: str = "rfc",
    progress: Progress | None = None,
) -> VerifiedEpoch:
    """Verify a ``zktx-epoch/1`` transcript (once per epoch) and keep its commitment tree."""
    check_type(transcript, EPOCH_TYPE, "$")
    check_suite(transcript, "$")
    header = verify_session(get_obj(transcript, "session", "$"), keys=keys)
    holder_set = get_obj(transcript, "holder_set", "$")
    y1 = check_holder_set(holder_set, header, keys.holder)
    path = "$.evaluation"
    evaluation = get_obj(transcript, "evaluation", "$")
    check_type(evaluation, EPOCH_EVALUATION_TYPE, path)
    _check_ref(evaluation, header, path)
    holder_set_digest = b64e(digest(holder_set))
    if get(evaluation, "holder_set_digest", path) != holder_set_digest:
        raise ReferenceMismatchError(f"{path}.holder_set_digest: refers to another holder set")
    if get_b64(evaluation, "key", path, length=32) != header.querier_key:
        raise KeyMismatchError(f"{path}.key: not the session's querier key")
    y2 = get_elements(evaluation, "elements", path)
    if len(y2) != len(y1):
        raise TranscriptMalformedError(f"{path}.elements: {len(y2)} evaluations for {len(y1)} elements")
    proofs = proofs_from_json(get(evaluation, "proofs", path), f"{path}.proofs")
    check_chunking(proofs, len(y1))
    items = _proof_items(header.querier_key, y1, y2, proofs)
    done = 0
    for it in items:  # chunk by chunk, so progress moves and the first failure stops the work
        err = verify_chunks([it], workers=workers, mode=mode)[0]
        if err is not None:
            raise err
        done += it.proof.count
        if progress is not None:
            progress("verify", done, len(y1))
    path = "$.commitment"
    commitment = get_obj(transcript, "commitment", "$")
    check_type(commitment, COMMITMENT_TYPE, path)
    _check_ref(commitment, header, path)
    if get(commitment, "holder_set_digest", path) != holder_set_digest:
        raise ReferenceMismatchError(f"{path}.holder_set_digest: refers to another holder set")
    if get(commitment, "evaluation_digest", path) != b64e(digest(evaluation)):
        raise ReferenceMismatchError(f"{path}.evaluation_digest: refers to another evaluation")
    size = get_int(commitment, "size", path)
    root = get_b64(commitment, "root", path, length=32)
    if size != len(y2):
        raise CommitmentInvalidError(f"{path}.size: the evaluated set has {len(y2)} elements")
    try:
        tree = SortedSetTree(sorted(y2))
    except SetNotCanonicalError:
        raise CommitmentInvalidError(f"{path}: the evaluated set has duplicates") from None
    if tree.root != root:
        raise CommitmentInvalidError(f"{path}.root: not the Merkle root of the sorted evaluated set")
    verify_signature(
        keys.exchange, "exchange", without(commitment, "signature"), get_b64(commitment, "signature", path, length=64),
        f"{path}.signature",
    )  # fmt: skip
    return VerifiedEpoch(header, root, size, digest(commitment), tree)


def verify_commitment(
    commitment: Mapping[str, Any], session: Mapping[str, Any], *, keys: PartyKeys
) -> VerifiedEpoch:
    """Light epoch check: the header's signatures and the exchange's signature on the root.

    Trusts the exchange (and the proofs it should have checked) for the holder set's
    evaluation; query transcripts are then checked against the root with hashing.
    """
    header = verify_session(session, keys=keys)
    path = "$.commitment"
    check_type(commitment, COMMITMENT_TYPE, path)
    _check_ref(commitment, header, path)
    size = get_int(commitment, "size", path, minimum=1)
    root = get_b64(commitment, "root", path, length=32)
    verify_signature(
        keys.exchange, "exchange", without(commitment, "signature"), get_b64(commitment, "signature", path, length=64),
        f"{path}.signature",
    )  # fmt: skip
    return VerifiedEpoch(header, root, size, digest(commitment), None)


# --------------------------------------------------------------------------- queries


@dataclass(slots=True)
class _PreparedQuery:
    transcript: Mapping[str, Any]
    epoch: VerifiedEpoch
    x2: list[bytes]
    items: list[ChunkItem]


def _prepare_query(transcript: Mapping[str, Any], keys: PartyKeys, epoch: VerifiedEpoch) -> _PreparedQuery:
    """Checks that come before the proofs (§8 steps 1-5)."""
    check_type(transcript, QUERY_TYPE, "$")
    check_suite(transcript, "$")
    header = epoch.header
    _check_ref(transcript, header, "$")
    com = get_obj(transcript, "commitment", "$")
    if get_b64(com, "root", "$.commitment", length=32) != epoch.root:
        raise EpochMismatchError("$.commitment.root: not the verified epoch commitment")
    if get_int(com, "size", "$.commitment") != epoch.size:
        raise EpochMismatchError("$.commitment.size: not the verified epoch commitment")
    request = get_obj(transcript, "request", "$")
    x1 = check_query_request(request, header, keys.querier)
    path = "$.evaluation"
    evaluation = get_obj(transcript, "evaluation", "$")
    check_type(evaluation, QUERY_EVALUATION_TYPE, path)
    _check_ref(evaluation, header, path)
    if get(evaluation, "query_id", path) != request["query_id"]:
        raise ReferenceMismatchError(f"{path}.query_id: another query")
    if get(evaluation, "request_digest", path) != b64e(digest(request)):
        raise ReferenceMismatchError(f"{path}.request_digest: refers to another request")
    if get_b64(evaluation, "key", path, length=32) != header.holder_key:
        raise KeyMismatchError(f"{path}.key: not the session's holder key")
    x2 = get_elements(evaluation, "elements", path)
    if len(x2) != len(x1):
        raise TranscriptMalformedError(f"{path}.elements: {len(x2)} evaluations for {len(x1)} elements")
    proofs = proofs_from_json(get(evaluation, "proofs", path), f"{path}.proofs")
    check_chunking(proofs, len(x1))
    return _PreparedQuery(transcript, epoch, x2, _proof_items(header.holder_key, x1, x2, proofs))


def _parse_membership(transcript: Mapping[str, Any], n: int) -> tuple[list[MembershipClaim], Multiproof]:
    path = "$.membership"
    mem = get_obj(transcript, "membership", "$")
    raw_claims = get(mem, "claims", path)
    raw_idx = get(mem, "leaf_indices", path)
    if not isinstance(raw_claims, list) or not isinstance(raw_idx, list):
        raise TranscriptMalformedError(f"{path}: claims and leaf_indices must be lists")
    for what, values in (("claims", raw_claims), ("leaf_indices", raw_idx)):
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise TranscriptMalformedError(f"{path}.{what}: expected non-negative integers")
    if len(raw_claims) != n:
        raise MembershipInvalidError(f"{path}.claims: one claim per query element is required")
    claims = [MembershipClaim(bool(c & 1), c >> 1) for c in raw_claims]
    leaves = get_elements(mem, "leaves", path)
    sib_raw = get_b64(mem, "siblings", path)
    if len(sib_raw) % 32:
        raise TranscriptMalformedError(f"{path}.siblings: length is not a multiple of 32 bytes")
    siblings = tuple(sib_raw[i : i + 32] for i in range(0, len(sib_raw), 32))
    if len(leaves) != len(raw_idx):
        raise MembershipInvalidError(f"{path}: one leaf value per leaf index is required")
    return claims, Multiproof(tuple(raw_idx), tuple(leaves), siblings)


def _finish_query(prep: _PreparedQuery, keys: PartyKeys) -> Verdict:
    """Checks that come after the proofs (§8 steps 6-8)."""
    transcript, epoch = prep.transcript, prep.epoch
    claims, mp = _parse_membership(transcript, len(prep.x2))
    if epoch.tree is not None:
        check_multiproof_against(epoch.tree, mp)
    elif multiproof_root(epoch.size, mp) != epoch.root:
        raise MembershipInvalidError("$.membership: the multiproof does not lead to the committed root")
    count = check_claims(epoch.size, prep.x2, claims, mp.leaves())
    if get_int(transcript, "count", "$") != count:
        raise CountMismatchError(f"$.count: the proven count is {count}")
    k = epoch.header.policy.k
    if get_int(transcript, "k", "$") != k:
        raise KMismatchError(f"$.k: the session's k is {k}")
    exceeds = count > k
    if get(transcript, "verdict", "$") != (VERDICT_EXCEEDS if exceeds else VERDICT_WITHIN):
        raise VerdictMismatchError(f"$.verdict: a count of {count} with k = {k} gives "
                                   f"{VERDICT_EXCEEDS if exceeds else VERDICT_WITHIN!r}")  # fmt: skip
    verify_signature(
        keys.exchange, "exchange", without(transcript, "signature"), get_b64(transcript, "signature", "$", length=64),
        "$.signature",
    )  # fmt: skip
    request = transcript["request"]
    return Verdict(
        session_id=epoch.header.session_id,
        epoch=epoch.header.epoch,
        query_id=request["query_id"],
        k=k,
        count=count,
        exceeds=exceeds,
        root=epoch.root,
        transcript_digest=digest(transcript),
        epoch_fully_verified=epoch.fully_verified,
    )


def verify_transcript(
    transcript: Mapping[str, Any],
    *,
    keys: PartyKeys,
    epoch: VerifiedEpoch,
    workers: int = 1,
    mode: str = "rfc",
) -> Verdict:
    """Verify one ``zktx-query/1`` transcript against its verified epoch; raise on any failure."""
    if not isinstance(transcript, Mapping):
        raise TranscriptMalformedError("$: expected an object")
    prep = _prepare_query(transcript, keys, epoch)
    for err in verify_chunks(prep.items, workers=workers, mode=mode):
        if err is not None:
            raise err
    return _finish_query(prep, keys)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """``verdicts[i]`` for transcript ``i``, or ``errors[i]`` saying why it was rejected."""

    verdicts: tuple[Verdict | None, ...]
    errors: tuple[ProtocolError | None, ...]

    @property
    def all_valid(self) -> bool:
        return all(e is None for e in self.errors)

    @property
    def failed(self) -> tuple[int, ...]:
        return tuple(i for i, e in enumerate(self.errors) if e is not None)


class BatchVerifier:
    """Verifies many query transcripts, keeping per-epoch state between calls.

    Register each epoch once (:meth:`add_epoch` with the :class:`VerifiedEpoch` from
    :func:`verify_epoch` or :func:`verify_commitment`); :meth:`verify` then finds the epoch of
    each transcript by ``(session_id, header_digest)``.
    """

    def __init__(self, keys: PartyKeys, *, workers: int = 1, mode: str = "rfc") -> None:
        self.keys = keys
        self.workers = workers
        self.mode = mode
        self._epochs: dict[tuple[str, str], VerifiedEpoch] = {}

    def add_epoch(self, epoch: VerifiedEpoch) -> None:
        self._epochs[(epoch.header.session_id, b64e(epoch.header.digest))] = epoch

    def _epoch_for(self, transcript: object) -> VerifiedEpoch:
        if not isinstance(transcript, Mapping):
            raise TranscriptMalformedError("$: expected an object")
        sid = get_str(transcript, "session_id", "$")
        hd = get(transcript, "header_digest", "$")
        epoch = self._epochs.get((sid, hd)) if isinstance(hd, str) else None
        if epoch is None:
            raise SessionMismatchError("$.session_id: no verified epoch registered for this session header")
        return epoch

    def verify(self, transcripts: Sequence[Mapping[str, Any]]) -> BatchResult:
        n = len(transcripts)
        errors: list[ProtocolError | None] = [None] * n
        verdicts: list[Verdict | None] = [None] * n
        prepared: dict[int, _PreparedQuery] = {}
        items: list[ChunkItem] = []
        for i, t in enumerate(transcripts):
            try:
                prep = _prepare_query(t, self.keys, self._epoch_for(t))
            except ProtocolError as exc:
                errors[i] = exc
                continue
            prepared[i] = prep
            items.extend(ChunkItem(it.pk_enc, it.c_encs, it.d_encs, it.proof, i) for it in prep.items)
        for it, err in zip(items, verify_chunks(items, workers=self.workers, mode=self.mode), strict=True):
            if err is not None and errors[it.tag] is None:
                errors[it.tag] = err
        for i, prep in prepared.items():
            if errors[i] is not None:
                continue
            try:
                verdicts[i] = _finish_query(prep, self.keys)
            except ProtocolError as exc:
                errors[i] = exc
        return BatchResult(tuple(verdicts), tuple(errors))


def verify_transcripts_batch(
    transcripts: Sequence[Mapping[str, Any]],
    *,
    keys: PartyKeys,
    epochs: Sequence[VerifiedEpoch],
    workers: int = 1,
    mode: str = "rfc",
) -> BatchResult:
    """Verify many query transcripts at once (see :class:`BatchVerifier`)."""
    verifier = BatchVerifier(keys, workers=workers, mode=mode)
    for e in epochs:
        verifier.add_epoch(e)
    return verifier.verify(transcripts)


def verify_receipt(receipt: Mapping[str, Any], transcript: Mapping[str, Any], *, keys: PartyKeys) -> None:
    """Check a partner's verdict receipt: the exchange's signature and that it matches the transcript."""
    path = "$.receipt"
    check_type(receipt, RECEIPT_TYPE, path)
    verify_signature(
        keys.exchange, "exchange", without(receipt, "signature"), get_b64(receipt, "signature", path, length=64),
        f"{path}.signature",
    )  # fmt: skip
    if b64d(get(receipt, "transcript_digest", path), f"{path}.transcript_digest") != digest(transcript):
        raise ReferenceMismatchError(f"{path}.transcript_digest: another transcript")
    if get(receipt, "verdict", path) != transcript.get("verdict") or get(
        receipt, "k", path
    ) != transcript.get("k"):
        raise VerdictMismatchError(f"{path}: verdict or k differ from the transcript")


__all__ = [
    "BatchResult",
    "BatchVerifier",
    "PartyKeys",
    "Verdict",
    "VerifiedEpoch",
    "verify_commitment",
    "verify_epoch",
    "verify_receipt",
    "verify_session",
    "verify_transcript",
    "verify_transcripts_batch",
]
