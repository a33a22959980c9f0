"""Offline verifier of ``zktx-bundle/1`` audit bundles (pure: no Django, no network, no disk writes).

:func:`verify_bundle` runs every check it can and returns a :class:`Report`: one :class:`Check` per
aspect, each ``pass``, ``fail`` or ``skip`` with a stable code. Checks, in order, and the exit code
of the command-line verifier when one fails (the first failing check decides):

=====================  ====  =============================================================
check                  exit  what
=====================  ====  =============================================================
``archive``            3     gzip + ustar readable within limits; regular files only; safe,
                             unique names in the layout
``manifest``           4     ``manifest.json`` present, canonical, schema ``zktx-bundle/1``
``files``              4     every listed file present with its size and SHA-256; nothing
                             unlisted
``exchange_signature`` 5     ``signatures.json`` names the bundle digest; Ed25519 signature by
                             the manifest's exchange key, which the caller trusts
``partner_keys``       6     every listed partner trusted under that id and key; every key's
                             proof of possession verifies; required partners listed
``acceptance``         6     the BLS aggregate verifies over the acceptance message for exactly
                             the listed partners (run only with PoP-verified keys)
``witness``            7     the statement leaf is a ``zktx.bundle`` statement of the bundle
                             digest, RFC 6962-included in a checkpoint signed by the witness key
``transcripts``        8     the pluggable transcript verifier accepts every ``transcripts/``
                             file (``skip`` when none is plugged in)
``selector_scan``      9     no raw selector in any entry (``skip`` unless selectors are given)
=====================  ====  =============================================================

Trust never comes from the bundle: the manifest names the exchange key and the partners' keys
(self-describing), but they count only if the caller passes them as trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from witness.tlog import merkle
from witness.tlog.checkpoint import open_checkpoint
from witness.tlog.errors import (
    CheckpointError,
    CheckpointOriginError,
    InvalidSignatureError,
    KeyFormatError,
    NoteError,
    TlogError,
    UnverifiedNoteError,
)
from witness.tlog.note import Ed25519Verifier
from witness.tlog.statement import parse_statement

from . import bls
from .errors import ArchiveError, BundleError, UnsafeEntryError
from .format import (
    DEFAULT_LIMITS,
    INCLUSION,
    MANIFEST,
    RESERVED,
    SCHEMA,
    SIGNATURES,
    STATEMENT_TYPE,
    Limits,
    Manifest,
    exchange_message,
    parse_inclusion,
    parse_manifest,
    parse_signatures,
    sha256_hex,
    unpack,
)
from .scan import Selector, SelectorScanner

__all__ = [
    "CHECKS",
    "EXIT_CODES",
    "EXIT_OK",
    "BatchTranscriptVerifier",
    "Check",
    "Report",
    "TranscriptVerifier",
    "verify_bundle",
]

PASS, FAIL, SKIP = "pass", "fail", "skip"

EXIT_OK = 0
EXIT_CODES: dict[str, int] = {
    "archive": 3,
    "manifest": 4,
    "files": 4,
    "exchange_signature": 5,
    "partner_keys": 6,
    "acceptance": 6,
    "witness": 7,
    "transcripts": 8,
    "selector_scan": 9,
}
CHECKS = tuple(EXIT_CODES)

TranscriptVerifier = Callable[[str, bytes, Mapping[str, bytes]], object]
"""Called once per ``transcripts/`` file as ``hook(path, data, files)`` (``files``: every content
file, read-only). Return normally to accept; raise to reject — the exception's ``code`` attribute,
if any, becomes the check's code (default ``transcript_invalid``).

Batch form: if the hook has a ``verify_many`` method, it is called once instead, as
``hook.verify_many(transcripts, files)`` with ``transcripts`` = ``{path: bytes}`` of every
``transcripts/`` file, and must return ``{path: None | Exception | str}`` — ``None`` accepts, an
exception or message rejects. A path missing from the answer is rejected
(``transcript_not_verified``); an exception raised by ``verify_many`` rejects every transcript.
This lets a batch verifier share per-epoch work across the transcripts of a run."""


class BatchTranscriptVerifier(Protocol):
    """The batch form of the transcript hook (see :data:`TranscriptVerifier`)."""

    def verify_many(
        self, transcripts: Mapping[str, bytes], files: Mapping[str, bytes]
    ) -> Mapping[str, Exception | str | None]: ...


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    code: str
    detail: str = ""
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "code": self.code, "detail": self.detail,
                "problems": list(self.problems)}


@dataclass
class Report:
    """The outcome of :func:`verify_bundle`."""

    checks: list[Check] = field(default_factory=list)
    bundle_digest: str | None = None
    pilot_run: str | None = None
    partners: tuple[str, ...] = ()
    file_count: int = 0

    @property
    def ok(self) -> bool:
        """True iff no check failed (skipped checks do not fail a bundle)."""
        return all(c.status != FAIL for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def exit_code(self) -> int:
        """0 if ok, else the exit code of the first failing check (see :data:`EXIT_CODES`)."""
        for c in self.checks:
            if c.status == FAIL:
                return EXIT_CODES[c.name]
        return EXIT_OK

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def codes(self) -> dict[str, str]:
        """``{check name: code}`` for every check run."""
        return {c.name: c.code for c in self.checks}

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "bundle_digest": self.bundle_digest,
            "pilot_run": self.pilot_run,
            "partners": list(self.partners),
            "file_count": self.file_count,
            "checks": [c.to_json() for c in self.checks],
        }


def _pass(name: str, detail: str = "") -> Check:
    return Check(name, PASS, "ok", detail)


def _fail(name: str, code: str, detail: str, problems: Iterable[str] = ()) -> Check:
    return Check(name, FAIL, code, detail, tuple(problems))


def _not_run(name: str, why: str) -> Check:
    return Check(name, SKIP, "not_run", why)


def _exchange_keys(keys: Iterable[Ed25519PublicKey | bytes]) -> set[bytes]:
    out = set()
    for key in keys:
        if isinstance(key, Ed25519PublicKey):
            out.add(key.public_bytes_raw())
        elif isinstance(key, bytes) and len(key) == 32:
            out.add(key)
        else:
            raise BundleError("trusted exchange keys are Ed25519 public keys or 32 raw bytes", code="trust_invalid")
    return out


def verify_bundle(
    data: bytes,
    *,
    trusted_exchange_keys: Iterable[Ed25519PublicKey | bytes] = (),
    trusted_partner_keys: Mapping[str, bytes] | None = None,
    witness_key: str | Ed25519Verifier | None = None,
    transcript_verifier: TranscriptVerifier | BatchTranscriptVerifier | None = None,
    trusted_statement_keys: Collection[str] | None = None,
    required_partners: Collection[str] = (),
    require_witness: bool = True,
    raw_selectors: Iterable[str | Selector] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Report:
    """Check a bundle offline; see the module docstring for the checks.

    ``trusted_exchange_keys``: Ed25519 public keys (objects or 32 raw bytes); the manifest's exchange
    key must be one of them. ``trusted_partner_keys``: ``{partner id: 48-byte BLS public key}``;
    every partner the manifest lists must appear with the same key. ``required_partners``: ids that
    must be among the accepting partners. ``witness_key``: the log's C2SP verifier key string; the
    checkpoint's origin must equal its name. Without it the ``witness`` check fails, unless
    ``require_witness=False`` (then it is skipped, also when the bundle has no inclusion proof).
    ``trusted_statement_keys``: if given, the statement's signer must be one of these verifier keys.
    """
    report = Report()
    exchange_trust = _exchange_keys(trusted_exchange_keys)
    checks = report.checks
    names = list(CHECKS)

    def rest_not_run(why: str) -> Report:
        done = {c.name for c in checks}
        checks.extend(_not_run(n, why) for n in names if n not in done)
        return report

    # archive
    try:
        entries = unpack(data, limits)
    except (ArchiveError, UnsafeEntryError) as exc:
        checks.append(_fail("archive", exc.code, exc.message))
        return rest_not_run("the archive could not be read safely")
    checks.append(_pass("archive", f"{len(entries)} entries, {sum(map(len, entries.values())):,} bytes unpacked"))

    # manifest
    if MANIFEST not in entries:
        checks.append(_fail("manifest", "manifest_missing", "the bundle has no manifest.json"))
        return rest_not_run("no manifest")
    try:
        manifest = parse_manifest(entries[MANIFEST])
    except BundleError as exc:
        checks.append(_fail("manifest", exc.code, exc.message))
        return rest_not_run("the manifest is invalid")
    digest = hashlib.sha256(entries[MANIFEST]).digest()
    report.bundle_digest = digest.hex()
    report.pilot_run = manifest.pilot_run
    report.partners = tuple(p.id for p in manifest.partners)
    report.file_count = len(manifest.files)
    checks.append(_pass("manifest", f"{SCHEMA}, pilot run {manifest.pilot_run}, {len(manifest.files)} files"))

    checks.append(_check_files(manifest, entries))
    checks.append(_check_exchange(manifest, entries, digest, exchange_trust))
    partner_check, keys = _check_partners(manifest, trusted_partner_keys, required_partners)
    checks.append(partner_check)
    checks.append(_check_acceptance(manifest, keys))
    checks.append(_check_witness(entries, digest, witness_key, trusted_statement_keys, require_witness))
    checks.append(_check_transcripts(entries, transcript_verifier))
    checks.append(_check_selectors(entries, raw_selectors))
    return report


def _check_files(manifest: Manifest, entries: Mapping[str, bytes]) -> Check:
    listed = {f.path: f for f in manifest.files}
    present = {name for name in entries if name not in RESERVED}
    problems, codes = [], []
    for path in sorted(listed.keys() - present):
        problems.append(f"{path}: listed but missing")
        codes.append("file_missing")
    for path in sorted(present - listed.keys()):
        problems.append(f"{path}: present but not listed")
        codes.append("file_unlisted")
    for path in sorted(listed.keys() & present):
        entry, content = listed[path], entries[path]
        if len(content) != entry.size:
            problems.append(f"{path}: {len(content)} bytes, manifest says {entry.size}")
            codes.append("file_size_mismatch")
        elif sha256_hex(content) != entry.sha256:
            problems.append(f"{path}: SHA-256 differs from the manifest")
            codes.append("file_digest_mismatch")
    if problems:
        return _fail("files", codes[0], f"{len(problems)} problem(s); first: {problems[0]}", problems)
    return _pass("files", f"{len(listed)} files match their size and SHA-256; none unlisted")


def _check_exchange(manifest: Manifest, entries: Mapping[str, bytes], digest: bytes, trusted: set[bytes]) -> Check:
    name = "exchange_signature"
    if SIGNATURES not in entries:
        return _fail(name, "signatures_missing", "the bundle has no signatures.json")
    try:
        signed_digest, signature = parse_signatures(entries[SIGNATURES])
    except BundleError as exc:
        return _fail(name, exc.code, exc.message)
    if signed_digest != digest:
        return _fail(name, "signatures_digest_mismatch", "signatures.json names another bundle digest")
    pk = manifest.exchange_public_key
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(signature, exchange_message(digest))
    except (InvalidSignature, ValueError):
        return _fail(name, "exchange_signature_invalid",
                     f"the Ed25519 signature does not verify under the manifest's exchange key {pk.hex()}")
    if not trusted:
        return _fail(name, "exchange_key_untrusted",
                     f"signature valid, but no trusted exchange key was given (the bundle names {pk.hex()})")
    if pk not in trusted:
        return _fail(name, "exchange_key_untrusted", f"signed by exchange key {pk.hex()}, which is not trusted")
    return _pass(name, f"Ed25519 by trusted exchange key {pk.hex()[:16]}…")


def _check_partners(
    manifest: Manifest, trusted: Mapping[str, bytes] | None, required: Collection[str]
) -> tuple[Check, list[bls.PopVerifiedKey] | None]:
    name = "partner_keys"
    problems, codes = [], []
    keys: list[bls.PopVerifiedKey] = []
    for partner in manifest.partners:
        try:
            keys.append(bls.pop_verify(partner.public_key, partner.pop))
        except bls.BlsError as exc:
            problems.append(f"{partner.id}: {exc.message}")
            codes.append(exc.code)
    trusted = trusted or {}
    for partner in manifest.partners:
        if partner.id not in trusted:
            problems.append(f"{partner.id}: not a trusted partner")
            codes.append("partner_untrusted")
        elif trusted[partner.id] != partner.public_key:
            problems.append(f"{partner.id}: the bundle's key differs from the trusted key")
            codes.append("partner_key_mismatch")
    listed = {p.id for p in manifest.partners}
    for pid in sorted(set(required) - listed):
        problems.append(f"{pid}: required, but not among the accepting partners")
        codes.append("partner_required_missing")
    all_pop = len(keys) == len(manifest.partners)
    if problems:
        detail = f"{len(problems)} problem(s); first: {problems[0]}"
        if not trusted:
            detail += " (no trusted partner keys were given)"
        return _fail(name, codes[0], detail, problems), (keys if all_pop else None)
    ids = ", ".join(p.id for p in manifest.partners)
    return _pass(name, f"{len(keys)} trusted partner(s) with verified proofs of possession: {ids}"), keys


def _check_acceptance(manifest: Manifest, keys: list[bls.PopVerifiedKey] | None) -> Check:
    name = "acceptance"
    if keys is None:
        return _not_run(name, "some partner key lacks a verified proof of possession; it is never aggregated")
    assert manifest.aggregate_signature is not None  # parse_manifest requires it
    try:
        ok = bls.fast_aggregate_verify(keys, manifest.acceptance_message(), manifest.aggregate_signature)
    except bls.BlsError as exc:
        return _fail(name, exc.code, exc.message)
    if not ok:
        return _fail(name, "acceptance_invalid",
                     "the BLS aggregate is not a signature of the manifest core by exactly the listed partners")
    return _pass(name, f"BLS aggregate by all {len(keys)} listed partners over core digest "
                       f"{manifest.core_digest().hex()[:16]}…")


def _check_witness(
    entries: Mapping[str, bytes],
    digest: bytes,
    witness_key: str | Ed25519Verifier | None,
    trusted_statement_keys: Collection[str] | None,
    required: bool,
) -> Check:
    name = "witness"
    if INCLUSION not in entries:
        if not required:
            return Check(name, SKIP, "witness_missing", "no witness/inclusion.json (not required)")
        return _fail(name, "witness_missing", "the bundle has no witness/inclusion.json")
    if witness_key is None:
        if not required:
            return Check(name, SKIP, "witness_key_missing", "no witness key given: inclusion not checked")
        return _fail(name, "witness_key_missing", "no trusted witness (log) key was given")
    try:
        verifier = witness_key if isinstance(witness_key, Ed25519Verifier) else Ed25519Verifier.from_key_string(witness_key)
    except KeyFormatError as exc:
        return _fail(name, "witness_key_invalid", str(exc))
    try:
        doc = parse_inclusion(entries[INCLUSION])
    except BundleError as exc:
        return _fail(name, exc.code, exc.message)
    try:
        checkpoint, _ = open_checkpoint(doc.checkpoint, [verifier], origin=verifier.name)
    except CheckpointOriginError as exc:
        return _fail(name, "witness_checkpoint_origin", str(exc))
    except CheckpointError as exc:
        return _fail(name, "witness_checkpoint_malformed", str(exc))
    except (InvalidSignatureError, UnverifiedNoteError) as exc:
        return _fail(name, "witness_checkpoint_signature", f"checkpoint not signed by the witness key: {exc}")
    except NoteError as exc:
        return _fail(name, "witness_checkpoint_malformed", str(exc))
    try:
        statement = parse_statement(doc.statement)
    except TlogError as exc:
        return _fail(name, "witness_statement_invalid", str(exc))
    if trusted_statement_keys is not None and statement.signer not in set(trusted_statement_keys):
        return _fail(name, "witness_statement_untrusted", f"statement signed by {statement.signer}, which is not trusted")
    if statement.type != STATEMENT_TYPE:
        return _fail(name, "witness_statement_type", f"statement type {statement.type!r}, expected {STATEMENT_TYPE!r}")
    if statement.body.get("bundle_digest") != digest.hex():
        return _fail(name, "witness_digest_mismatch", "the logged statement names another bundle digest")
    if doc.tree_size != checkpoint.size:
        return _fail(name, "witness_tree_size_mismatch",
                     f"proof for tree size {doc.tree_size}, checkpoint has {checkpoint.size}")
    try:
        merkle.verify_inclusion(merkle.leaf_hash(doc.statement), doc.leaf_index, doc.tree_size, doc.proof,
                                checkpoint.root_hash)
    except TlogError as exc:
        return _fail(name, "witness_inclusion_invalid", str(exc))
    return _pass(name, f"leaf {doc.leaf_index} of {checkpoint.size} in {checkpoint.origin}")


def _check_transcripts(
    entries: Mapping[str, bytes], hook: TranscriptVerifier | BatchTranscriptVerifier | None
) -> Check:
    name = "transcripts"
    paths = sorted(n for n in entries if n.startswith("transcripts/"))
    if hook is None:
        return Check(name, SKIP, "transcript_verifier_absent", f"{len(paths)} transcript(s); no verifier plugged in")
    files = MappingProxyType({n: b for n, b in entries.items() if n not in RESERVED})
    problems: list[str] = []
    codes: list[str] = []

    def reject(path: str, exc: object) -> None:
        problems.append(f"{path}: {exc}")
        code = getattr(exc, "code", None)
        codes.append(code if isinstance(code, str) and code else "transcript_invalid")

    many = getattr(hook, "verify_many", None)
    if callable(many):
        transcripts = MappingProxyType({p: entries[p] for p in paths})
        try:
            results = many(transcripts, files)
        except Exception as exc:  # the hook is third-party code: any failure rejects every transcript
            results = dict.fromkeys(paths, exc)
        if not isinstance(results, Mapping):
            results = {}
        for path in paths:
            if path not in results:
                problems.append(f"{path}: the verifier gave no result")
                codes.append("transcript_not_verified")
            elif results[path] is not None:
                reject(path, results[path])
    else:
        for path in paths:
            try:
                hook(path, entries[path], files)
            except Exception as exc:  # the hook is third-party code: any failure rejects the transcript
                reject(path, exc)
    if problems:
        return _fail(name, codes[0], f"{len(problems)} transcript(s) rejected; first: {problems[0]}", problems)
    return _pass(name, f"{len(paths)} transcript(s) verified")


def _check_selectors(entries: Mapping[str, bytes], raw_selectors: Iterable[str | Selector] | None) -> Check:
    name = "selector_scan"
    if raw_selectors is None:
        return Check(name, SKIP, "no_selectors_given", "no raw selectors given to scan for")
    try:
        scanner = SelectorScanner(raw_selectors)
    except BundleError as exc:
        return _fail(name, exc.code, exc.message)
    findings = scanner.scan_files(entries)
    if findings:
        return _fail(name, "raw_selector_found", f"{len(findings)} occurrence(s); first: {findings[0]}",
                     [str(f) for f in findings])
    return _pass(name, f"{len(scanner.selectors)} selector(s) in {len(scanner)} encodings: none in {len(entries)} entries")
