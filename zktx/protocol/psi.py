"""ZK-TX PSI-cardinality: the roles (holder, querier, exchange) and their messages.

Diffie–Hellman PSI-cardinality over ristretto255 where every evaluation of the other side's
blinded elements is an RFC 9497 VOPRF ``BlindEvaluate`` with batched DLEQ proofs
(ristretto255-SHA512, :mod:`~zktx.protocol.chunkproof`). ``docs/zktx-protocol.md`` is the
specification; in short, for one session (partner pair, epoch) with per-session keys
``b`` (holder, ``pkH = b·G``) and ``a`` (querier, ``pkQ = a·G``) in a header both sign:

1. holder, once per epoch: ``Y1 = sort{ b·H(tag(y)) }`` → exchange → querier (signed);
2. querier: ``Y2_j = a·Y1_j`` with proofs under ``pkQ`` → exchange (never to the holder);
3. exchange: Merkle commitment over ``sort(Y2)`` (the epoch transcript);
4. querier, per query: ``X1 = sort{ a·H(tag(x)) }`` → exchange → holder (signed);
5. holder: ``X2_i = b·X1_i`` with proofs under ``pkH`` → exchange (never to the querier);
6. exchange: for each ``X2_i``, a membership or non-membership proof in the committed set;
   ``count`` = members; verdict ``count > k``; the query transcript; a receipt to both.

``H`` is RFC 9497 ``HashToGroup`` (VOPRF context) and ``tag`` the peppered selector
(:mod:`~zktx.protocol.selectors`). The exchange holds no secret but its signing key; it
must run :func:`~zktx.protocol.verify.verify_epoch` and
:func:`~zktx.protocol.verify.verify_transcript` before it releases a verdict.

Long work takes ``workers`` (threads; libsodium releases the GIL) and ``progress``, a callable
``progress(stage, done, total)`` called after each chunk (stages: ``blind``, ``evaluate``,
``commit``, ``match``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from zktx.protocol._parallel import map_chunks
from zktx.protocol.chunkproof import PROGRESS_CHUNK, Progress, evaluate_with_proofs, plan_chunks
from zktx.protocol.commitment import SortedSetTree, check_sorted_distinct, prove_memberships
from zktx.protocol.errors import (
    InvalidInputError,
    KeyMismatchError,
    KMismatchError,
    PolicyViolationError,
    QueryBudgetExhaustedError,
    QueryNotNovelError,
    ReferenceMismatchError,
    SessionMismatchError,
    TranscriptMalformedError,
)
from zktx.protocol.group import IDENTITY_ENCODING, Element, mul_trusted
from zktx.protocol.h2c import VOPRF, i2osp, lp
from zktx.protocol.selectors import EpochPepper, Selector
from zktx.protocol.transcript import (
    COMMITMENT_TYPE,
    ENCODING,
    EPOCH_EVALUATION_TYPE,
    EPOCH_TYPE,
    HOLDER_SET_TYPE,
    QUERY_EVALUATION_TYPE,
    QUERY_REQUEST_TYPE,
    QUERY_TYPE,
    SUITE,
    VERDICT_EXCEEDS,
    VERDICT_WITHIN,
    IdentityKey,
    Policy,
    SessionHeader,
    SignedSessionHeader,
    b64d,
    b64e,
    check_type,
    digest,
    get,
    get_b64,
    get_elements,
    get_int,
    get_str,
    pack_elements,
    proof_to_json,
    verify_signature,
    without,
)
from zktx.protocol.voprf import KeyPair, derive_key_pair

RECEIPT_TYPE: Final = "zktx-receipt/1"
KEY_INFO_CONTEXT: Final = b"zktx-session-key/1"


def default_workers() -> int:
    """All cores (the protocol's threads spend their time inside libsodium, without the GIL)."""
    return max(1, os.cpu_count() or 1)


def _tick(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


# --------------------------------------------------------------------------- session set-up


def session_key_info(session_id: str, epoch: int, role: str) -> bytes:
    """RFC 9497 ``DeriveKeyPair`` ``info`` binding a key to one session, epoch and role (§7.3)."""
    return KEY_INFO_CONTEXT + lp(role.encode()) + lp(session_id.encode()) + i2osp(epoch, 8)


def derive_session_keypair(seed: bytes, *, session_id: str, epoch: int, role: str) -> KeyPair:
    """The per-session VOPRF key of ``role`` (``holder``/``querier``) from a 32-byte secret seed."""
    if role not in ("holder", "querier"):
        raise InvalidInputError("role must be 'holder' or 'querier'")
    return derive_key_pair(seed, session_key_info(session_id, epoch, role), ctx=VOPRF)


def new_session_header(
    *,
    session_id: str,
    epoch: int,
    holder: str,
    querier: str,
    holder_key: Element,
    querier_key: Element,
    pepper: EpochPepper,
    policy: Policy,
) -> SessionHeader:
    """Build (and validate, by a JSON round trip) the header both partners then sign."""
    if pepper.epoch != epoch:
        raise InvalidInputError("the pepper is for another epoch")
    header = SessionHeader(
        session_id,
        epoch,
        holder,
        querier,
        holder_key.encode(),
        querier_key.encode(),
        pepper.pepper_id,
        policy,
    )
    return SessionHeader.from_json(header.to_json())


def sign_session_header(header: SessionHeader, identity: IdentityKey, role: str) -> bytes:
    """One partner's signature (``role`` ``holder`` or ``querier``) over the header."""
    return identity.sign(role, header.to_json())


def _session_ref(header: SessionHeader) -> dict[str, Any]:
    return {"session_id": header.session_id, "header_digest": b64e(header.digest)}


def _check_session_ref(msg: Mapping[str, Any], header: SessionHeader, path: str) -> None:
    if get(msg, "session_id", path) != header.session_id:
        raise SessionMismatchError(f"{path}.session_id: another session")
    if get(msg, "header_digest", path) != b64e(header.digest):
        raise SessionMismatchError(f"{path}.header_digest: another session header")


# --------------------------------------------------------------------------- blinding


def blind_tags(
    sk_enc: bytes, tags: Sequence[bytes], *, workers: int = 1, progress: Progress | None = None
) -> list[bytes]:
    """``[k·HashToGroup(tag)]`` with the RFC 9497 VOPRF context, over threads, in input order."""
    h2g = VOPRF.hash_to_group_bytes
    n = len(tags)
    out: list[bytes] = []
    for rng in plan_chunks(n, target=PROGRESS_CHUNK * 2):

        def run(lo: int, hi: int, base: int = rng.start) -> list[bytes]:
            res = []
            for i in range(base + lo, base + hi):
                p = h2g(tags[i])
                if p == IDENTITY_ENCODING:  # pragma: no cover - probability ~2^-252
                    raise InvalidInputError(f"selector {i} hashes to the identity")
                res.append(mul_trusted(sk_enc, p))
            return res

        for part in map_chunks(run, len(rng), workers):
            out.extend(part)
        _tick(progress, "blind", len(out), n)
    return out


def blind_selectors(
    sk_enc: bytes,
    pepper: EpochPepper,
    selectors: Iterable[Selector],
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[bytes]:
    """Sorted, distinct ``k·H(tag(s))`` of the distinct selectors (the first blinding)."""
    unique = list(dict.fromkeys(selectors))
    blinded = blind_tags(sk_enc, pepper.tag_many(unique), workers=workers, progress=progress)
    return sorted(set(blinded))


# --------------------------------------------------------------------------- holder


class Holder:
    """The partner with the large set. Its secret: the per-session key ``b`` and the pepper."""

    def __init__(
        self,
        *,
        header: SessionHeader,
        keypair: KeyPair,
        pepper: EpochPepper,
        identity: IdentityKey,
        querier_identity: bytes,
    ) -> None:
        if keypair.pk.encode() != header.holder_key:
            raise KeyMismatchError("the holder key pair is not the header's holder_key")
        if pepper.pepper_id != header.pepper_id or pepper.epoch != header.epoch:
            raise InvalidInputError("the pepper does not match the header's pepper_id/epoch")
        self.header = header
        self._kp = keypair
        self._pepper = pepper
        self._identity = identity
        self._querier_identity = querier_identity

    def blind_set(
        self, selectors: Iterable[Selector], *, workers: int = 1, progress: Progress | None = None
    ) -> dict[str, Any]:
        """The signed holder-set message (``zktx-holder-set/1``): sorted ``b·H(tag(y))``."""
        y1 = blind_selectors(
            self._kp.sk.encode(), self._pepper, selectors, workers=workers, progress=progress
        )
        if len(y1) < self.header.policy.min_holder_set:
            raise PolicyViolationError(
                f"the holder set has {len(y1)} distinct selectors; the session requires at least "
                f"{self.header.policy.min_holder_set}"
            )
        msg: dict[str, Any] = {
            "type": HOLDER_SET_TYPE,
            **_session_ref(self.header),
            "size": len(y1),
            "elements": pack_elements(y1),
        }
        msg["signature"] = b64e(self._identity.sign("holder", msg))
        return msg

    def evaluate_query(
        self,
        request: Mapping[str, Any],
        *,
        workers: int = 1,
        progress: Progress | None = None,
        chunk_size: int | None = None,
    ) -> dict[str, Any]:
        """Check the querier's signed request and evaluate it: ``X2 = b·X1`` with proofs.

        The result goes to the exchange only: the querier must never see it (it would learn
        which of its selectors are members).
        """
        x1 = check_query_request(request, self.header, self._querier_identity)
        x2, proofs = evaluate_with_proofs(
            self._kp.sk, self._kp.pk, x1, workers=workers, chunk_size=chunk_size, progress=progress
        )
        return {
            "type": QUERY_EVALUATION_TYPE,
            **_session_ref(self.header),
            "query_id": request["query_id"],
            "request_digest": b64e(digest(request)),
            "key": b64e(self.header.holder_key),
            "elements": pack_elements(x2),
            "proofs": [proof_to_json(p) for p in proofs],
        }


def check_query_request(
    request: Mapping[str, Any], header: SessionHeader, querier_identity: bytes
) -> list[bytes]:
    """Validate a ``zktx-query-request/1`` against the session; return its blinded elements."""
    path = "$.request"
    check_type(request, QUERY_REQUEST_TYPE, path)
    _check_session_ref(request, header, path)
    get_str(request, "query_id", path)
    if get_int(request, "k", path) != header.policy.k:
        raise KMismatchError(f"{path}.k: the session's k is {header.policy.k}")
    x1 = get_elements(request, "elements", path)
    if get_int(request, "size", path) != len(x1):
        raise TranscriptMalformedError(f"{path}.size: does not match the number of elements")
    check_sorted_distinct(x1, f"{path}.elements")
    check_query_size(len(x1), header.policy)
    verify_signature(
        querier_identity, "querier", without(request, "signature"), get_b64(request, "signature", path, length=64),
        f"{path}.signature",
    )  # fmt: skip
    return x1


def check_query_size(n: int, policy: Policy) -> None:
    if not policy.min_query <= n <= policy.max_query:
        raise PolicyViolationError(
            f"a query must hold {policy.min_query}..{policy.max_query} distinct selectors, got {n}"
        )


# --------------------------------------------------------------------------- querier


class Querier:
    """The partner who asks. Its secret: the per-session key ``a`` and the pepper."""

    def __init__(
        self,
        *,
        header: SessionHeader,
        keypair: KeyPair,
        pepper: EpochPepper,
        identity: IdentityKey,
        holder_identity: bytes,
    ) -> None:
        if keypair.pk.encode() != header.querier_key:
            raise KeyMismatchError("the querier key pair is not the header's querier_key")
        if pepper.pepper_id != header.pepper_id or pepper.epoch != header.epoch:
            raise InvalidInputError("the pepper does not match the header's pepper_id/epoch")
        self.header = header
        self._kp = keypair
        self._pepper = pepper
        self._identity = identity
        self._holder_identity = holder_identity

    def evaluate_holder_set(
        self,
        holder_set: Mapping[str, Any],
        *,
        workers: int = 1,
        progress: Progress | None = None,
        chunk_size: int | None = None,
    ) -> dict[str, Any]:
        """Check the holder's signed set and evaluate it: ``Y2 = a·Y1`` with proofs (epoch work).

        The result goes to the exchange only: the holder must never see it.
        """
        y1 = check_holder_set(holder_set, self.header, self._holder_identity)
        y2, proofs = evaluate_with_proofs(
            self._kp.sk, self._kp.pk, y1, workers=workers, chunk_size=chunk_size, progress=progress
        )
        return {
            "type": EPOCH_EVALUATION_TYPE,
            **_session_ref(self.header),
            "holder_set_digest": b64e(digest(holder_set)),
            "key": b64e(self.header.querier_key),
            "elements": pack_elements(y2),
            "proofs": [proof_to_json(p) for p in proofs],
        }

    def make_query(
        self,
        selectors: Iterable[Selector],
        *,
        query_id: str,
        workers: int = 1,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """The signed query request: sorted ``a·H(tag(x))`` of the distinct selectors."""
        x1 = blind_selectors(
            self._kp.sk.encode(), self._pepper, selectors, workers=workers, progress=progress
        )
        check_query_size(len(x1), self.header.policy)
        msg: dict[str, Any] = {
            "type": QUERY_REQUEST_TYPE,
            **_session_ref(self.header),
            "query_id": query_id,
            "k": self.header.policy.k,
            "size": len(x1),
            "elements": pack_elements(x1),
        }
        get_str(msg, "query_id", "$")
        msg["signature"] = b64e(self._identity.sign("querier", msg))
        return msg


def check_holder_set(
    holder_set: Mapping[str, Any], header: SessionHeader, holder_identity: bytes
) -> list[bytes]:
    """Validate a ``zktx-holder-set/1`` against the session; return its blinded elements."""
    path = "$.holder_set"
    check_type(holder_set, HOLDER_SET_TYPE, path)
    _check_session_ref(holder_set, header, path)
    y1 = get_elements(holder_set, "elements", path)
    if get_int(holder_set, "size", path) != len(y1):
        raise TranscriptMalformedError(f"{path}.size: does not match the number of elements")
    check_sorted_distinct(y1, f"{path}.elements")
    if len(y1) < header.policy.min_holder_set:
        raise PolicyViolationError(
            f"{path}: {len(y1)} elements, the session requires {header.policy.min_holder_set}"
        )
    verify_signature(
        holder_identity, "holder", without(holder_set, "signature"), get_b64(holder_set, "signature", path, length=64),
        f"{path}.signature",
    )  # fmt: skip
    return y1


# --------------------------------------------------------------------------- exchange


@dataclass(frozen=True, slots=True)
class EpochState:
    """What the exchange keeps for an epoch: the transcript, the header and the commitment tree."""

    transcript: dict[str, Any]
    header: SessionHeader
    tree: SortedSetTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def size(self) -> int:
        return self.tree.size


class Exchange:
    """The server in the middle: relays messages, commits, matches. Holds only its signing key."""

    def __init__(self, identity: IdentityKey) -> None:
        self._identity = identity

    def commit_epoch(
        self,
        session: SignedSessionHeader,
        holder_set: Mapping[str, Any],
        evaluation: Mapping[str, Any],
        *,
        progress: Progress | None = None,
    ) -> EpochState:
        """Commit to ``sort(Y2)`` and assemble the signed epoch transcript (``zktx-epoch/1``).

        Proofs are not checked here: run :func:`~zktx.protocol.verify.verify_epoch` on the
        result (and keep its :class:`~zktx.protocol.verify.VerifiedEpoch`) before matching.
        """
        header = session.header
        path = "$.evaluation"
        check_type(evaluation, EPOCH_EVALUATION_TYPE, path)
        _check_session_ref(evaluation, header, path)
        if get(evaluation, "holder_set_digest", path) != b64e(digest(holder_set)):
            raise ReferenceMismatchError(f"{path}.holder_set_digest: refers to another holder set")
        if b64d(get(evaluation, "key", path), f"{path}.key") != header.querier_key:
            raise KeyMismatchError(f"{path}.key: not the session's querier key")
        y2 = get_elements(evaluation, "elements", path)
        _tick(progress, "commit", 0, len(y2))
        tree = SortedSetTree(sorted(y2))
        _tick(progress, "commit", len(y2), len(y2))
        commitment: dict[str, Any] = {
            "type": COMMITMENT_TYPE,
            **_session_ref(header),
            "size": tree.size,
            "root": b64e(tree.root),
            "holder_set_digest": b64e(digest(holder_set)),
            "evaluation_digest": b64e(digest(evaluation)),
        }
        commitment["signature"] = b64e(self._identity.sign("exchange", commitment))
        transcript = {
            "type": EPOCH_TYPE,
            "suite": SUITE,
            "encoding": ENCODING,
            "session": session.to_json(),
            "holder_set": dict(holder_set),
            "evaluation": dict(evaluation),
            "commitment": commitment,
        }
        return EpochState(transcript, header, tree)

    def match(
        self,
        epoch: EpochState,
        request: Mapping[str, Any],
        evaluation: Mapping[str, Any],
        *,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Match ``X2`` against the committed set and assemble the signed query transcript."""
        header = epoch.header
        path = "$.evaluation"
        check_type(evaluation, QUERY_EVALUATION_TYPE, path)
        _check_session_ref(evaluation, header, path)
        if get(evaluation, "query_id", path) != get(request, "query_id", "$.request") or get(
            evaluation, "request_digest", path
        ) != b64e(digest(request)):
            raise ReferenceMismatchError(f"{path}: evaluates another request")
        if b64d(get(evaluation, "key", path), f"{path}.key") != header.holder_key:
            raise KeyMismatchError(f"{path}.key: not the session's holder key")
        x2 = get_elements(evaluation, "elements", path)
        _tick(progress, "match", 0, len(x2))
        claims, mp = prove_memberships(epoch.tree, x2)
        count = sum(1 for c in claims if c.member)
        k = header.policy.k
        transcript: dict[str, Any] = {
            "type": QUERY_TYPE,
            "suite": SUITE,
            "encoding": ENCODING,
            **_session_ref(header),
            "commitment": {"root": b64e(epoch.root), "size": epoch.size},
            "request": dict(request),
            "evaluation": dict(evaluation),
            "membership": {
                "claims": [2 * c.index + (1 if c.member else 0) for c in claims],
                "leaf_indices": list(mp.indices),
                "leaves": pack_elements(mp.values),
                "siblings": b64e(b"".join(mp.siblings)),
            },
            "count": count,
            "k": k,
            "verdict": VERDICT_EXCEEDS if count > k else VERDICT_WITHIN,
        }
        transcript["signature"] = b64e(self._identity.sign("exchange", transcript))
        _tick(progress, "match", len(x2), len(x2))
        return transcript

    def receipt(self, transcript: Mapping[str, Any]) -> dict[str, Any]:
        """The signed verdict receipt for both partners: no count, no elements."""
        receipt: dict[str, Any] = {
            "type": RECEIPT_TYPE,
            "session_id": transcript["session_id"],
            "query_id": transcript["request"]["query_id"],
            "k": transcript["k"],
            "verdict": transcript["verdict"],
            "transcript_digest": b64e(digest(transcript)),
        }
        receipt["signature"] = b64e(self._identity.sign("exchange", receipt))
        return receipt


# --------------------------------------------------------------------------- budgets


@dataclass(frozen=True, slots=True)
class QueryBudget:
    """A per-epoch query allowance (pure value: ``charge`` returns the new state)."""

    limit: int
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def charge(self, queries: int = 1) -> QueryBudget:
        if queries < 0:
            raise InvalidInputError("cannot charge a negative number of queries")
        if self.used + queries > self.limit:
            raise QueryBudgetExhaustedError(
                f"query budget exhausted: {self.used} of {self.limit} used this epoch, {queries} more requested"
            )
        return QueryBudget(self.limit, self.used + queries)


def check_query_novelty(
    elements: Sequence[bytes], seen: set[bytes] | frozenset[bytes], *, min_novel: int
) -> int:
    """Count the blinded query elements never queried before in the epoch; refuse if < ``min_novel``.

    Blinded query elements are deterministic within an epoch (same key, same pepper), so the
    exchange can see that a query repeats earlier ones without learning any selector. Requiring
    fresh elements makes "same set plus one selector" differencing queries expensive.
    """
    novel = sum(1 for e in elements if e not in seen)
    if novel < min_novel:
        raise QueryNotNovelError(
            f"the query has {novel} elements not queried before this epoch; the session requires {min_novel}"
        )
    return novel


__all__ = [
    "RECEIPT_TYPE",
    "EpochState",
    "Exchange",
    "Holder",
    "Querier",
    "QueryBudget",
    "blind_selectors",
    "blind_tags",
    "check_holder_set",
    "check_query_novelty",
    "check_query_request",
    "check_query_size",
    "default_workers",
    "derive_session_keypair",
    "new_session_header",
    "session_key_info",
    "sign_session_header",
]
