"""The exchange's keys, through the witness key service (same pattern: environment or ``var/keys``, 0600).

* the **exchange identity** (Ed25519): signs commitments, query transcripts and receipts (protocol
  role ``exchange``) and the audit-bundle manifests. Service key ``zktx_exchange``
  (``TF_SERVICE_KEY_ZKTX_EXCHANGE`` or ``var/keys/svc-zktx_exchange.key``);
* the **statement key** of the ``zktx`` service signs the witness statements (``zktx.transcript``,
  ``zktx.bundle``): ``witness.keys.service_signer("zktx")``.

Separate keys: a leaked statement key cannot forge transcripts, and the other way round.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from witness import keys as witness_keys
from zktx.protocol.transcript import IdentityKey

EXCHANGE_SERVICE = "zktx_exchange"
STATEMENT_SERVICE = "zktx"


@lru_cache(maxsize=1)
def exchange_identity() -> IdentityKey:
    return IdentityKey(witness_keys.service_signer(EXCHANGE_SERVICE).seed)


def exchange_signing_key() -> Ed25519PrivateKey:
    """The same key as :func:`exchange_identity`, as a ``cryptography`` key (bundle manifests)."""
    return Ed25519PrivateKey.from_private_bytes(witness_keys.service_signer(EXCHANGE_SERVICE).seed)


def exchange_public_key() -> bytes:
    return exchange_identity().public


def exchange_verifier_key() -> str:
    """C2SP verifier key string of the exchange key (accepted by ``zktx.verify_bundle --exchange-key``)."""
    return witness_keys.verifier_key_string(EXCHANGE_SERVICE)


def statement_verifier_key() -> str:
    return witness_keys.verifier_key_string(STATEMENT_SERVICE)


def log_verifier_key() -> str:
    return witness_keys.log_signer().verifier().key_string
