"""Exceptions of the ZK-TX protocol core, each with a stable machine-readable ``code``.

The codes are part of the public contract: API layers map them to 4xx responses and
clients branch on them, so they never change once released.

============================  ==========================================================
code                          raised when
============================  ==========================================================
``invalid_element``           a ristretto255 encoding is malformed, non-canonical, the
                              identity, or of the wrong length (RFC 9496 §4.3.1,
                              RFC 9497 §2.1 ``DeserializeElement``)
``invalid_scalar``            a scalar encoding is not canonical (≥ L), has the wrong
                              length, or is zero where zero is forbidden
                              (RFC 9497 §2.1 ``DeserializeScalar``)
``invalid_input``             RFC 9497 ``InvalidInputError``: an input hashes to the
                              identity, is too long for its 2-byte length prefix, or a
                              parameter is of the wrong type
``batch_mismatch``            the lists of a batch have different lengths or are empty
``batch_too_large``           a batch exceeds 65,536 elements, the limit of the 2-byte
                              index in ``ComputeComposites`` (RFC 9497 §2.2.1)
``proof_malformed``           a proof is not 64 bytes or holds a non-canonical scalar
``proof_invalid``             RFC 9497 ``VerifyError``: a DLEQ proof does not verify
``derive_key_pair_error``     RFC 9497 ``DeriveKeyPairError`` (§3.2.1)
``selector_*``                a selector cannot be normalised (see :mod:`~zktx.protocol.selectors`):
                              ``selector_invalid`` (base), ``selector_empty``,
                              ``selector_too_long``, ``selector_type_unknown``,
                              ``selector_invalid_phone``, ``selector_invalid_email``,
                              ``selector_invalid_account``, ``selector_invalid_iban``
``pepper_invalid``            a pepper root or epoch is malformed
``policy_violation``          a set or query breaks the session policy (sizes, k)
``query_budget_exhausted``    the per-epoch query budget is used up
``query_not_novel``           a query overlaps an earlier one of the epoch too much
``transcript_malformed``      a transcript is not the documented JSON shape or encoding
``transcript_version``        unknown ``type``/version string
``transcript_suite``          unknown cipher suite or encoding
``signature_invalid``         an Ed25519 signature does not verify
``session_mismatch``          a transcript refers to another session or header
``reference_mismatch``        a message's digest reference names another message
``key_mismatch``              a transcript's key differs from the session header's
``epoch_mismatch``            a query refers to another epoch commitment
``set_not_canonical``         a list of elements is not strictly increasing
``chunking_invalid``          proof chunks do not tile the element list
``commitment_invalid``        a commitment root does not match its elements
``membership_invalid``        a membership claim or its Merkle multiproof is wrong
``count_mismatch``            the reported count differs from the proven one
``k_mismatch``                the transcript's k differs from the session's
``verdict_mismatch``          the verdict does not follow from count and k
============================  ==========================================================
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every error raised by :mod:`zktx.protocol`."""

    code: str = "protocol_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidElementError(ProtocolError):
    """A group element could not be decoded or is not acceptable (identity, wrong length)."""

    code = "invalid_element"


class InvalidScalarError(ProtocolError):
    """A scalar is not canonical, has the wrong length, or is zero where zero is forbidden."""

    code = "invalid_scalar"


class InvalidInputError(ProtocolError):
    """RFC 9497 ``InvalidInputError`` and other malformed parameters."""

    code = "invalid_input"


class BatchMismatchError(InvalidInputError):
    """The element lists of a batch differ in length, or the batch is empty."""

    code = "batch_mismatch"


class BatchTooLargeError(InvalidInputError):
    """More than :data:`zktx.protocol.dleq.MAX_BATCH` elements under one proof."""

    code = "batch_too_large"


class ProofInvalidError(ProtocolError):
    """RFC 9497 ``VerifyError``: the proof does not verify."""

    code = "proof_invalid"


class ProofMalformedError(ProofInvalidError):
    """The proof bytes are not ``c || s`` with two canonical scalars."""

    code = "proof_malformed"


class DeriveKeyPairError(ProtocolError):
    """RFC 9497 §3.2.1 ``DeriveKeyPairError`` (256 consecutive zero scalars)."""

    code = "derive_key_pair_error"


# --------------------------------------------------------------------------- PSI protocol


class SelectorError(InvalidInputError):
    """A selector could not be normalised; subclasses say why."""

    code = "selector_invalid"


class SelectorEmptyError(SelectorError):
    code = "selector_empty"


class SelectorTooLongError(SelectorError):
    code = "selector_too_long"


class SelectorTypeError(SelectorError):
    code = "selector_type_unknown"


class InvalidPhoneError(SelectorError):
    code = "selector_invalid_phone"


class InvalidEmailError(SelectorError):
    code = "selector_invalid_email"


class InvalidAccountError(SelectorError):
    code = "selector_invalid_account"


class InvalidIbanError(SelectorError):
    code = "selector_invalid_iban"


class PepperError(InvalidInputError):
    code = "pepper_invalid"


class PolicyViolationError(ProtocolError):
    """A set or a query breaks the session policy (minimum/maximum sizes, k)."""

    code = "policy_violation"


class QueryBudgetExhaustedError(ProtocolError):
    code = "query_budget_exhausted"


class QueryNotNovelError(ProtocolError):
    code = "query_not_novel"


class TranscriptError(ProtocolError):
    """Base class of transcript verification failures."""

    code = "transcript_invalid"


class TranscriptMalformedError(TranscriptError):
    code = "transcript_malformed"


class TranscriptVersionError(TranscriptError):
    code = "transcript_version"


class TranscriptSuiteError(TranscriptError):
    code = "transcript_suite"


class SignatureInvalidError(TranscriptError):
    code = "signature_invalid"


class SessionMismatchError(TranscriptError):
    code = "session_mismatch"


class ReferenceMismatchError(TranscriptError):
    """A message's digest reference (request, holder set, evaluation) names another message."""

    code = "reference_mismatch"


class KeyMismatchError(TranscriptError):
    code = "key_mismatch"


class EpochMismatchError(TranscriptError):
    code = "epoch_mismatch"


class SetNotCanonicalError(TranscriptError):
    code = "set_not_canonical"


class ChunkingInvalidError(TranscriptError):
    code = "chunking_invalid"


class CommitmentInvalidError(TranscriptError):
    code = "commitment_invalid"


class MembershipInvalidError(TranscriptError):
    code = "membership_invalid"


class CountMismatchError(TranscriptError):
    code = "count_mismatch"


class KMismatchError(TranscriptError):
    code = "k_mismatch"


class VerdictMismatchError(TranscriptError):
    code = "verdict_mismatch"


__all__ = [
    "BatchMismatchError",
    "BatchTooLargeError",
    "ChunkingInvalidError",
    "CommitmentInvalidError",
    "CountMismatchError",
    "DeriveKeyPairError",
    "EpochMismatchError",
    "InvalidAccountError",
    "InvalidElementError",
    "InvalidEmailError",
    "InvalidIbanError",
    "InvalidInputError",
    "InvalidPhoneError",
    "InvalidScalarError",
    "KMismatchError",
    "KeyMismatchError",
    "MembershipInvalidError",
    "PepperError",
    "PolicyViolationError",
    "ProofInvalidError",
    "ProofMalformedError",
    "ProtocolError",
    "QueryBudgetExhaustedError",
    "QueryNotNovelError",
    "ReferenceMismatchError",
    "SelectorEmptyError",
    "SelectorError",
    "SelectorTooLongError",
    "SelectorTypeError",
    "SessionMismatchError",
    "SetNotCanonicalError",
    "SignatureInvalidError",
    "TranscriptError",
    "TranscriptMalformedError",
    "TranscriptSuiteError",
    "TranscriptVersionError",
    "VerdictMismatchError",
]
