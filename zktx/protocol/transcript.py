"""Wire formats of the ZK-TX PSI protocol: canonical JSON, base64url, Ed25519 signatures.

Every message is a JSON object whose ``type`` names it and its version; everything hashed or
signed is its RFC 8785 canonical form (:func:`canonical_bytes`). Binary values are
**base64url without padding** (RFC 4648 §5); a list of group elements is *one* string, the
base64url of the concatenated 32-byte encodings. ``docs/zktx-protocol.md`` is the normative
description; this module implements it:

* :data:`SUITE` ``"ristretto255-SHA512"`` (RFC 9497 VOPRF, mode 0x01), :data:`ENCODING`.
* :func:`digest` — ``SHA-256(canonical_bytes(obj))``.
* :class:`IdentityKey` / :func:`verify_signature` — Ed25519 (RFC 8032) over
  ``"zktx-signature/1" || 0x00 || role || 0x00 || digest(body)`` where ``body`` is the object
  without its ``signature`` member(s).
* :class:`Policy`, :class:`SessionHeader`, :class:`SignedSessionHeader` — the per-epoch session.
* Strict readers (:func:`get_str`, :func:`get_int`, :func:`get_b64`, :func:`get_elements`,
  :func:`proofs_from_json`) that raise ``transcript_malformed`` naming the JSON path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from witness.tlog.canonical import canonical_bytes as _canonical_bytes
from witness.tlog.errors import CanonicalizationError
from zktx.protocol.chunkproof import ChunkProof
from zktx.protocol.errors import (
    InvalidElementError,
    PolicyViolationError,
    SignatureInvalidError,
    TranscriptMalformedError,
    TranscriptSuiteError,
    TranscriptVersionError,
)
from zktx.protocol.group import Element

SUITE: Final = "ristretto255-SHA512"
ENCODING: Final = "base64url-nopad"
SESSION_TYPE: Final = "zktx-session/1"
HOLDER_SET_TYPE: Final = "zktx-holder-set/1"
EPOCH_EVALUATION_TYPE: Final = "zktx-epoch-evaluation/1"
COMMITMENT_TYPE: Final = "zktx-commitment/1"
EPOCH_TYPE: Final = "zktx-epoch/1"
QUERY_REQUEST_TYPE: Final = "zktx-query-request/1"
QUERY_EVALUATION_TYPE: Final = "zktx-query-evaluation/1"
QUERY_TYPE: Final = "zktx-query/1"
SIGNATURE_CONTEXT: Final = b"zktx-signature/1"
ROLES: Final = ("holder", "querier", "exchange")
VERDICT_EXCEEDS: Final = "exceeds"
VERDICT_WITHIN: Final = "within"
MAX_ID_CHARS: Final = 128
MAX_SAFE_INT: Final = (1 << 53) - 1


# --------------------------------------------------------------------------- encodings


def b64e(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: object, path: str = "$") -> bytes:
    """Strict base64url-nopad decoding: the alphabet only, no padding, canonical trailing bits."""
    if not isinstance(text, str) or not text.isascii():
        raise TranscriptMalformedError(f"{path}: expected a base64url string")
    if "=" in text or "+" in text or "/" in text or len(text) % 4 == 1:
        raise TranscriptMalformedError(f"{path}: not base64url without padding")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise TranscriptMalformedError(f"{path}: not base64url without padding") from None
    if b64e(raw) != text:
        raise TranscriptMalformedError(f"{path}: non-canonical base64url (trailing bits)")
    return raw


def pack_elements(encs: Sequence[bytes]) -> str:
    return b64e(b"".join(encs))


def unpack_elements(text: object, path: str) -> list[bytes]:
    raw = b64d(text, path)
    if len(raw) % 32:
        raise TranscriptMalformedError(f"{path}: length is not a multiple of 32 bytes")
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


def _plain(value: Any) -> bool:
    """True if ``value`` holds only ASCII strings, safe integers, lists and ASCII-keyed objects.

    For such values RFC 8785 is exactly ``json.dumps`` with sorted keys and no whitespace
    (the case :mod:`witness.tlog.canonical` also takes); everything else goes the slow way.
    """
    t = type(value)
    if t is str:
        return value.isascii()
    if t is int:
        return -MAX_SAFE_INT <= value <= MAX_SAFE_INT
    if t is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if t is list:
        if all(type(v) is int for v in value):
            return not value or (min(value) >= -MAX_SAFE_INT and max(value) <= MAX_SAFE_INT)
        return all(_plain(v) for v in value)
    return value is None or t is bool


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 canonical JSON (the general case via :mod:`witness.tlog.canonical`)."""
    if _plain(obj):
        return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    try:
        return _canonical_bytes(obj)
    except CanonicalizationError as exc:
        raise TranscriptMalformedError(f"not canonicalizable JSON: {exc}") from None


def digest(obj: Any) -> bytes:
    """``SHA-256(RFC 8785 canonical JSON of obj)``."""
    return hashlib.sha256(canonical_bytes(obj)).digest()


def without(obj: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


# --------------------------------------------------------------------------- strict readers


def get(obj: object, key: str, path: str) -> Any:
    if not isinstance(obj, Mapping):
        raise TranscriptMalformedError(f"{path}: expected an object")
    if key not in obj:
        raise TranscriptMalformedError(f"{path}.{key}: missing")
    return obj[key]


def get_obj(obj: object, key: str, path: str) -> Mapping[str, Any]:
    value = get(obj, key, path)
    if not isinstance(value, Mapping):
        raise TranscriptMalformedError(f"{path}.{key}: expected an object")
    return value


def get_str(obj: object, key: str, path: str, *, max_len: int = MAX_ID_CHARS) -> str:
    value = get(obj, key, path)
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise TranscriptMalformedError(f"{path}.{key}: expected a string of 1..{max_len} characters")
    return value


def get_int(obj: object, key: str, path: str, *, minimum: int = 0) -> int:
    value = get(obj, key, path)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_SAFE_INT:
        raise TranscriptMalformedError(f"{path}.{key}: expected an integer >= {minimum}")
    return value


def get_b64(obj: object, key: str, path: str, *, length: int | None = None) -> bytes:
    raw = b64d(get(obj, key, path), f"{path}.{key}")
    if length is not None and len(raw) != length:
        raise TranscriptMalformedError(f"{path}.{key}: expected {length} bytes, got {len(raw)}")
    return raw


def get_elements(obj: object, key: str, path: str) -> list[bytes]:
    return unpack_elements(get(obj, key, path), f"{path}.{key}")


def check_type(obj: object, expected: str, path: str) -> None:
    value = get(obj, "type", path)
    if value != expected:
        raise TranscriptVersionError(f"{path}.type: expected {expected!r}, got {value!r}")


def check_suite(obj: object, path: str) -> None:
    if get(obj, "suite", path) != SUITE:
        raise TranscriptSuiteError(f"{path}.suite: only {SUITE!r} is supported")
    if get(obj, "encoding", path) != ENCODING:
        raise TranscriptSuiteError(f"{path}.encoding: only {ENCODING!r} is supported")


def proof_to_json(p: ChunkProof) -> dict[str, Any]:
    return {"start": p.start, "count": p.count, "proof": b64e(p.c + p.s), "t2": b64e(p.t2), "t3": b64e(p.t3)}


def proofs_from_json(value: object, path: str) -> list[ChunkProof]:
    if not isinstance(value, list) or not value:
        raise TranscriptMalformedError(f"{path}: expected a non-empty list of proofs")
    out: list[ChunkProof] = []
    for i, item in enumerate(value):
        p = f"{path}[{i}]"
        cs = get_b64(item, "proof", p, length=64)
        out.append(
            ChunkProof(
                get_int(item, "start", p),
                get_int(item, "count", p),
                cs[:32],
                cs[32:],
                get_b64(item, "t2", p, length=32),
                get_b64(item, "t3", p, length=32),
            )
        )
    return out


# --------------------------------------------------------------------------- signatures


def signature_message(role: str, body: Mapping[str, Any]) -> bytes:
    if role not in ROLES:
        raise ValueError(f"unknown signer role {role!r}")
    return SIGNATURE_CONTEXT + b"\x00" + role.encode() + b"\x00" + digest(body)


class IdentityKey:
    """A party's long-term Ed25519 signing key (32-byte seed); ``public`` is the raw public key."""

    __slots__ = ("_sk", "public")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.public: bytes = self._sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def generate(cls) -> IdentityKey:
        return cls(os.urandom(32))

    def sign(self, role: str, body: Mapping[str, Any]) -> bytes:
        return self._sk.sign(signature_message(role, body))

    def __repr__(self) -> str:
        return f"IdentityKey(public={b64e(self.public)})"


_VERIFIERS: dict[bytes, Ed25519PublicKey] = {}


def verify_signature(public: bytes, role: str, body: Mapping[str, Any], signature: bytes, what: str) -> None:
    """Raise ``signature_invalid`` unless ``signature`` is ``role``'s Ed25519 signature of ``body``."""
    key = _VERIFIERS.get(public)
    if key is None:
        try:
            key = Ed25519PublicKey.from_public_bytes(public)
        except ValueError:
            raise SignatureInvalidError(f"{what}: the {role}'s public key is not an Ed25519 key") from None
        _VERIFIERS[public] = key
    try:
        key.verify(signature, signature_message(role, body))
    except InvalidSignature:
        raise SignatureInvalidError(f"{what}: the {role}'s signature does not verify") from None


# --------------------------------------------------------------------------- session


@dataclass(frozen=True, slots=True)
class Policy:
    """The session's rules, signed by both partners in the header.

    ``k``: the verdict says whether the overlap *exceeds* ``k``. ``min_holder_set``: the
    smallest holder set the epoch accepts. ``min_query``/``max_query``: query size bounds.
    ``query_budget``: queries allowed in the epoch. ``min_novel``: how many blinded elements a
    query must hold that no earlier query of the epoch held.
    """

    k: int
    min_holder_set: int = 1
    min_query: int = 1
    max_query: int = 1 << 20
    query_budget: int = 1000
    min_novel: int = 0

    def __post_init__(self) -> None:
        for name in ("k", "min_holder_set", "min_query", "max_query", "query_budget", "min_novel"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_SAFE_INT:
                raise PolicyViolationError(f"policy.{name} must be a non-negative integer")
        if self.min_holder_set < 1 or self.min_query < 1 or self.max_query < self.min_query:
            raise PolicyViolationError(
                "policy sizes must satisfy 1 <= min_query <= max_query, min_holder_set >= 1"
            )

    def to_json(self) -> dict[str, int]:
        return {
            "k": self.k,
            "min_holder_set": self.min_holder_set,
            "min_query": self.min_query,
            "max_query": self.max_query,
            "query_budget": self.query_budget,
            "min_novel": self.min_novel,
        }

    @classmethod
    def from_json(cls, obj: object, path: str = "$.policy") -> Policy:
        fields = ("k", "min_holder_set", "min_query", "max_query", "query_budget", "min_novel")
        if not isinstance(obj, Mapping) or set(obj) != set(fields):
            raise TranscriptMalformedError(f"{path}: expected exactly the members {fields}")
        return cls(**{name: get_int(obj, name, path) for name in fields})


@dataclass(frozen=True, slots=True)
class SessionHeader:
    """One partner pair and one epoch: ids, both per-session VOPRF public keys, pepper id, policy."""

    session_id: str
    epoch: int
    holder: str
    querier: str
    holder_key: bytes
    querier_key: bytes
    pepper_id: bytes
    policy: Policy
    _digest: bytes = field(default=b"", compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": SESSION_TYPE,
            "suite": SUITE,
            "encoding": ENCODING,
            "session_id": self.session_id,
            "epoch": self.epoch,
            "holder": self.holder,
            "querier": self.querier,
            "holder_key": b64e(self.holder_key),
            "querier_key": b64e(self.querier_key),
            "pepper_id": b64e(self.pepper_id),
            "policy": self.policy.to_json(),
        }

    @property
    def digest(self) -> bytes:
        if not self._digest:
            object.__setattr__(self, "_digest", digest(self.to_json()))
        return self._digest

    @property
    def holder_element(self) -> Element:
        return Element.decode(self.holder_key)

    @property
    def querier_element(self) -> Element:
        return Element.decode(self.querier_key)

    @classmethod
    def from_json(cls, obj: object, path: str = "$") -> SessionHeader:
        check_type(obj, SESSION_TYPE, path)
        check_suite(obj, path)
        members = {
            "type", "suite", "encoding", "session_id", "epoch", "holder", "querier",
            "holder_key", "querier_key", "pepper_id", "policy",
        }  # fmt: skip
        assert isinstance(obj, Mapping)
        if set(obj) != members:
            raise TranscriptMalformedError(f"{path}: unexpected or missing members")
        header = cls(
            session_id=get_str(obj, "session_id", path),
            epoch=get_int(obj, "epoch", path),
            holder=get_str(obj, "holder", path),
            querier=get_str(obj, "querier", path),
            holder_key=get_b64(obj, "holder_key", path, length=32),
            querier_key=get_b64(obj, "querier_key", path, length=32),
            pepper_id=get_b64(obj, "pepper_id", path, length=16),
            policy=Policy.from_json(get(obj, "policy", path), f"{path}.policy"),
        )
        for name in ("holder_key", "querier_key"):
            try:
                Element.decode(getattr(header, name))
            except InvalidElementError as exc:
                raise InvalidElementError(f"{path}.{name}: {exc.message}") from None
        if header.holder_key == header.querier_key:
            raise TranscriptMalformedError(f"{path}: holder and querier keys must differ")
        return header


@dataclass(frozen=True, slots=True)
class SignedSessionHeader:
    """A :class:`SessionHeader` with both partners' signatures (role ``holder`` and ``querier``)."""

    header: SessionHeader
    holder_signature: bytes
    querier_signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "header": self.header.to_json(),
            "signatures": {"holder": b64e(self.holder_signature), "querier": b64e(self.querier_signature)},
        }

    @classmethod
    def from_json(cls, obj: object, path: str = "$") -> SignedSessionHeader:
        sigs = get_obj(obj, "signatures", path)
        return cls(
            SessionHeader.from_json(get(obj, "header", path), f"{path}.header"),
            get_b64(sigs, "holder", f"{path}.signatures", length=64),
            get_b64(sigs, "querier", f"{path}.signatures", length=64),
        )

    def verify(self, holder_identity: bytes, querier_identity: bytes, path: str = "$") -> SessionHeader:
        body = self.header.to_json()
        verify_signature(holder_identity, "holder", body, self.holder_signature, f"{path}.signatures.holder")
        verify_signature(
            querier_identity, "querier", body, self.querier_signature, f"{path}.signatures.querier"
        )
        return self.header


__all__ = [
    "COMMITMENT_TYPE",
    "ENCODING",
    "EPOCH_EVALUATION_TYPE",
    "EPOCH_TYPE",
    "HOLDER_SET_TYPE",
    "QUERY_EVALUATION_TYPE",
    "QUERY_REQUEST_TYPE",
    "QUERY_TYPE",
    "SESSION_TYPE",
    "SUITE",
    "VERDICT_EXCEEDS",
    "VERDICT_WITHIN",
    "IdentityKey",
    "Policy",
    "SessionHeader",
    "SignedSessionHeader",
    "b64d",
    "b64e",
    "canonical_bytes",
    "digest",
    "pack_elements",
    "proof_to_json",
    "proofs_from_json",
    "signature_message",
    "unpack_elements",
    "verify_signature",
]
