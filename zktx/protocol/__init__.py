"""ZK-TX pure protocol core: ristretto255, RFC 9497 (V)OPRF and batched DLEQ proofs.

No Django import here (DESIGN.md "Pure core"). Modules:

* :mod:`~zktx.protocol.errors` — exceptions with stable ``code`` attributes.
* :mod:`~zktx.protocol.group` — ristretto255 (RFC 9496) ``Element`` / ``Scalar`` on libsodium.
* :mod:`~zktx.protocol.h2c` — ``expand_message_xmd`` (RFC 9380 §5.3.1), HashToGroup and
  HashToScalar (RFC 9497 §4.1), contexts and DSTs.
* :mod:`~zktx.protocol.dleq` — RFC 9497 §2.2 composites, proofs, batch verification.
* :mod:`~zktx.protocol.voprf` — RFC 9497 §3 OPRF and VOPRF modes.

PSI-cardinality (``docs/zktx-protocol.md``):

* :mod:`~zktx.protocol.selectors` — selector normalisation and the per-epoch pepper.
* :mod:`~zktx.protocol.commitment` — sorted-set Merkle commitment, (non-)membership multiproofs.
* :mod:`~zktx.protocol.chunkproof` — chunked VOPRF evaluation, proofs carrying ``(t2, t3)``.
* :mod:`~zktx.protocol.transcript` — wire formats, canonical JSON, Ed25519 signatures, header.
* :mod:`~zktx.protocol.psi` — the roles: :class:`Holder`, :class:`Querier`, :class:`Exchange`.
* :mod:`~zktx.protocol.verify` — the auditor: epoch, query and batch verification.
* :mod:`~zktx.protocol.simulate` — a whole session in one process (tests, benchmarks, demos).
"""

from zktx.protocol.chunkproof import ChunkProof, iter_evaluate, plan_chunks
from zktx.protocol.commitment import MembershipClaim, Multiproof, SortedSetTree, multiproof_root
from zktx.protocol.dleq import (
    MAX_BATCH,
    BatchVerdict,
    Proof,
    ProofItem,
    compute_composites,
    compute_composites_fast,
    generate_proof,
    proof_is_valid,
    verify_proof,
    verify_proofs_batch,
)
from zktx.protocol.errors import (
    BatchMismatchError,
    BatchTooLargeError,
    DeriveKeyPairError,
    InvalidElementError,
    InvalidInputError,
    InvalidScalarError,
    ProofInvalidError,
    ProofMalformedError,
    ProtocolError,
    SelectorError,
    TranscriptError,
)
from zktx.protocol.group import GENERATOR, ORDER, Element, Scalar, decode_elements
from zktx.protocol.h2c import OPRF, VOPRF, Context, Mode, expand_message_xmd, hash_to_group, hash_to_scalar
from zktx.protocol.psi import (
    EpochState,
    Exchange,
    Holder,
    Querier,
    QueryBudget,
    check_query_novelty,
    default_workers,
    derive_session_keypair,
    new_session_header,
    sign_session_header,
)
from zktx.protocol.selectors import EpochPepper, Selector, normalize, normalize_many
from zktx.protocol.simulate import Scenario, new_scenario
from zktx.protocol.transcript import IdentityKey, Policy, SessionHeader, SignedSessionHeader
from zktx.protocol.verify import (
    BatchResult,
    BatchVerifier,
    PartyKeys,
    Verdict,
    VerifiedEpoch,
    verify_commitment,
    verify_epoch,
    verify_receipt,
    verify_session,
    verify_transcript,
    verify_transcripts_batch,
)
from zktx.protocol.voprf import (
    KeyPair,
    blind,
    blind_evaluate,
    blind_evaluate_batch,
    blind_evaluate_encoded,
    blind_evaluate_many,
    blind_evaluate_verifiable,
    derive_key_pair,
    evaluate,
    finalize,
    finalize_batch,
    finalize_verifiable,
    generate_key_pair,
)

__all__ = [
    "GENERATOR",
    "MAX_BATCH",
    "OPRF",
    "ORDER",
    "VOPRF",
    "BatchMismatchError",
    "BatchResult",
    "BatchTooLargeError",
    "BatchVerdict",
    "BatchVerifier",
    "ChunkProof",
    "Context",
    "DeriveKeyPairError",
    "Element",
    "EpochPepper",
    "EpochState",
    "Exchange",
    "Holder",
    "IdentityKey",
    "InvalidElementError",
    "InvalidInputError",
    "InvalidScalarError",
    "KeyPair",
    "MembershipClaim",
    "Mode",
    "Multiproof",
    "PartyKeys",
    "Policy",
    "Proof",
    "ProofInvalidError",
    "ProofItem",
    "ProofMalformedError",
    "ProtocolError",
    "Querier",
    "QueryBudget",
    "Scalar",
    "Scenario",
    "Selector",
    "SelectorError",
    "SessionHeader",
    "SignedSessionHeader",
    "SortedSetTree",
    "TranscriptError",
    "Verdict",
    "VerifiedEpoch",
    "blind",
    "blind_evaluate",
    "blind_evaluate_batch",
    "blind_evaluate_encoded",
    "blind_evaluate_many",
    "blind_evaluate_verifiable",
    "check_query_novelty",
    "compute_composites",
    "compute_composites_fast",
    "decode_elements",
    "default_workers",
    "derive_key_pair",
    "derive_session_keypair",
    "evaluate",
    "expand_message_xmd",
    "finalize",
    "finalize_batch",
    "finalize_verifiable",
    "generate_key_pair",
    "generate_proof",
    "hash_to_group",
    "hash_to_scalar",
    "iter_evaluate",
    "multiproof_root",
    "new_scenario",
    "new_session_header",
    "normalize",
    "normalize_many",
    "plan_chunks",
    "proof_is_valid",
    "sign_session_header",
    "verify_commitment",
    "verify_epoch",
    "verify_proof",
    "verify_proofs_batch",
    "verify_receipt",
    "verify_session",
    "verify_transcript",
    "verify_transcripts_batch",
]
