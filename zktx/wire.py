"""Small wire formats shared by the exchange service and the partner client (pure: no Django).

* key registration (``zktx-key-registration/1``): the partner proves possession of its Ed25519
  identity key by signing ``"zktx-key-registration/1" || 0x00 || SHA-256(JCS(body))``, where the
  body binds the identity key, the BLS key and its proof of possession to the organization; the BLS
  key's possession is proven by its own proof of possession (docs/zktx-bundle.md §5).
* the ``zktx.transcript`` witness statement body the exchange logs for each released verdict,
  which a partner checks against its receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from zktx.protocol.errors import ProtocolError
from zktx.protocol.transcript import b64d, b64e, canonical_bytes

REGISTRATION_TYPE: Final = "zktx-key-registration/1"
_REGISTRATION_CONTEXT: Final = REGISTRATION_TYPE.encode() + b"\x00"


def registration_body(*, organization: str, identity_key: bytes, bls_public_key: bytes, bls_pop: bytes) -> dict[str, str]:
    return {
        "type": REGISTRATION_TYPE,
        "organization": organization,
        "identity_key": b64e(identity_key),
        "bls_public_key": bls_public_key.hex(),
        "bls_pop": bls_pop.hex(),
    }


def registration_message(body: Mapping[str, Any]) -> bytes:
    return _REGISTRATION_CONTEXT + hashlib.sha256(canonical_bytes(dict(body))).digest()


def sign_registration(seed: bytes, body: Mapping[str, Any]) -> str:
    return b64e(Ed25519PrivateKey.from_private_bytes(seed).sign(registration_message(body)))


def verify_registration(body: Mapping[str, Any], signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(b64d(body["identity_key"], "identity_key"))
        key.verify(b64d(signature_b64, "signature"), registration_message(body))
    except (InvalidSignature, ValueError, KeyError, TypeError, ProtocolError):
        return False
    return True


def transcript_statement_body(
    *, transcript: Mapping[str, Any], transcript_digest: bytes, pilot: str, epoch: int, receipt_digest: bytes
) -> dict[str, Any]:
    """The ``zktx.transcript`` statement: digests and the verdict bit, never the count or elements."""
    return {
        "transcript_digest": transcript_digest.hex(),
        "receipt_digest": receipt_digest.hex(),
        "pilot": pilot,
        "epoch": epoch,
        "session_id": transcript["session_id"],
        "header_digest": transcript["header_digest"],
        "query_id": transcript["request"]["query_id"],
        "k": transcript["k"],
        "verdict": transcript["verdict"],
        "commitment_root": transcript["commitment"]["root"],
    }
