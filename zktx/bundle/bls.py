"""BLS12-381 signatures for partner acceptance: a thin, strict wrapper over py_ecc's ``G2ProofOfPossession``.

Scheme (draft-irtf-cfrg-bls-signature-05, "minimal-pubkey-size", proof-of-possession ciphersuite
``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_``): public keys are 48-byte compressed G1 points,
signatures and proofs of possession 96-byte compressed G2 points.

Rogue-key defence: :func:`fast_aggregate_verify` only takes :class:`PopVerifiedKey` values, and the
only way to get one is :func:`pop_verify`, which checks the key's proof of possession. A key whose
owner cannot prove knowledge of its secret (e.g. ``x·G1 − pk_victim``) is never aggregated.

Cost (py_ecc is pure Python): Sign ≈ 0.2 s, PopVerify ≈ 0.4 s, FastAggregateVerify ≈ 0.4–0.6 s.
Verification results are pure functions of their inputs and are memoized per process, so checking
the same bundle again (or many bundles of the same partners) does not repeat the pairings.
py_ecc's README calls it experimental and unaudited: fine for sign-offs, not for a hot path.

Every error is a :class:`BlsError` with a stable ``code``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import BundleError

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "BlsError",
    "PopVerifiedKey",
    "SecretKey",
    "aggregate",
    "fast_aggregate_verify",
    "keygen",
    "pop_prove",
    "pop_verify",
    "public_key",
    "sign",
    "verify",
]

PUBLIC_KEY_SIZE = 48
SIGNATURE_SIZE = 96
MIN_SEED_SIZE = 32  # KeyGen requires IKM of at least 32 bytes


class BlsError(BundleError):
    """A BLS operation refused its input or a check failed. Codes:

    ``bls_seed_too_short``, ``bls_key_invalid``, ``bls_signature_malformed``, ``bls_pop_invalid``,
    ``bls_key_unverified`` (aggregation without a verified proof of possession),
    ``bls_aggregate_empty``, ``bls_duplicate_key``.
    """

    code = "bls_error"


@dataclass(frozen=True)
class SecretKey:
    """A BLS secret key (an integer in [1, r)). ``repr`` does not show it."""

    value: int = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or not 0 < self.value < _curve_order():
            raise BlsError("secret key out of range", code="bls_key_invalid")


def _curve_order() -> int:
    from py_ecc.optimized_bls12_381 import curve_order

    return curve_order


@functools.cache
def _suite():
    """py_ecc's ciphersuite, imported on first use (the import alone takes ~0.5 s)."""
    from py_ecc.bls import G2ProofOfPossession

    return G2ProofOfPossession


_TOKEN = object()


@dataclass(frozen=True)
class PopVerifiedKey:
    """A public key whose proof of possession verified. Made only by :func:`pop_verify`."""

    public_key: bytes
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise BlsError("PopVerifiedKey is made by pop_verify() only", code="bls_key_unverified")


def keygen(seed: bytes, key_info: bytes = b"") -> SecretKey:
    """Derive a secret key from ``seed`` (≥ 32 bytes of secret randomness) with KeyGen (HKDF)."""
    if not isinstance(seed, bytes) or len(seed) < MIN_SEED_SIZE:
        raise BlsError(f"the seed must be at least {MIN_SEED_SIZE} bytes", code="bls_seed_too_short")
    return SecretKey(_suite().KeyGen(seed, key_info))


def public_key(sk: SecretKey) -> bytes:
    """The 48-byte compressed G1 public key of ``sk``."""
    return bytes(_suite().SkToPk(sk.value))


def sign(sk: SecretKey, message: bytes) -> bytes:
    """A 96-byte signature of ``message`` (deterministic)."""
    return bytes(_suite().Sign(sk.value, message))


def pop_prove(sk: SecretKey) -> bytes:
    """The proof of possession of ``sk`` (a signature of the public key under the POP tag)."""
    return bytes(_suite().PopProve(sk.value))


def _check_sizes(pk: bytes, sig: bytes, what: str) -> None:
    if not isinstance(pk, bytes) or len(pk) != PUBLIC_KEY_SIZE:
        raise BlsError(f"a BLS public key is {PUBLIC_KEY_SIZE} bytes", code="bls_key_invalid")
    if not isinstance(sig, bytes) or len(sig) != SIGNATURE_SIZE:
        raise BlsError(f"a BLS {what} is {SIGNATURE_SIZE} bytes", code="bls_signature_malformed")


@functools.lru_cache(maxsize=4096)
def _key_valid(pk: bytes) -> bool:
    return bool(_suite().KeyValidate(pk))


@functools.lru_cache(maxsize=4096)
def _pop_ok(pk: bytes, pop: bytes) -> bool:
    return bool(_suite().PopVerify(pk, pop))


@functools.lru_cache(maxsize=1024)
def _fav_ok(pks: tuple[bytes, ...], message: bytes, signature: bytes) -> bool:
    return bool(_suite().FastAggregateVerify(list(pks), message, signature))


@functools.lru_cache(maxsize=1024)
def _verify_ok(pk: bytes, message: bytes, signature: bytes) -> bool:
    return bool(_suite().Verify(pk, message, signature))


def pop_verify(pk: bytes, pop: bytes) -> PopVerifiedKey:
    """Check ``pop`` for ``pk`` (KeyValidate included); return the key marked as verified.

    Raises :class:`BlsError` ``bls_key_invalid`` (not a valid G1 point of the subgroup, or the
    identity), ``bls_signature_malformed`` or ``bls_pop_invalid``.
    """
    _check_sizes(pk, pop, "proof of possession")
    if not _key_valid(pk):
        raise BlsError("not a valid BLS12-381 G1 public key", code="bls_key_invalid")
    if not _pop_ok(pk, pop):
        raise BlsError("the proof of possession does not verify", code="bls_pop_invalid")
    return PopVerifiedKey(pk, _TOKEN)


def verify(pk: PopVerifiedKey, message: bytes, signature: bytes) -> bool:
    """Verify one signature by a PoP-verified key."""
    if not isinstance(pk, PopVerifiedKey):
        raise BlsError("keys must pass pop_verify() before use", code="bls_key_unverified")
    _check_sizes(pk.public_key, signature, "signature")
    return _verify_ok(pk.public_key, message, signature)


def aggregate(signatures: Sequence[bytes]) -> bytes:
    """Aggregate signatures (point addition in G2); raises ``bls_aggregate_empty`` for none."""
    if not signatures:
        raise BlsError("nothing to aggregate", code="bls_aggregate_empty")
    for sig in signatures:
        if not isinstance(sig, bytes) or len(sig) != SIGNATURE_SIZE:
            raise BlsError(f"a BLS signature is {SIGNATURE_SIZE} bytes", code="bls_signature_malformed")
    try:
        return bytes(_suite().Aggregate(list(signatures)))
    except (ValueError, AssertionError) as exc:  # eth_utils.ValidationError is a ValueError
        raise BlsError(f"a signature is not a valid G2 point: {exc}", code="bls_signature_malformed") from exc


def fast_aggregate_verify(keys: Sequence[PopVerifiedKey], message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is the aggregate of signatures of ``message`` by exactly ``keys``.

    Every key must be a :class:`PopVerifiedKey` (``bls_key_unverified`` otherwise); duplicates are
    refused (``bls_duplicate_key``): a key listed twice would count its holder twice.
    """
    if not keys:
        raise BlsError("no keys to verify against", code="bls_aggregate_empty")
    for key in keys:
        if not isinstance(key, PopVerifiedKey):
            raise BlsError("keys must pass pop_verify() before aggregation (rogue-key defence)", code="bls_key_unverified")
    pks = tuple(k.public_key for k in keys)
    if len(set(pks)) != len(pks):
        raise BlsError("a public key is listed twice", code="bls_duplicate_key")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise BlsError(f"a BLS signature is {SIGNATURE_SIZE} bytes", code="bls_signature_malformed")
    return _fav_ok(pks, message, signature)
