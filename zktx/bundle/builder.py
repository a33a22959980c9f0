"""Build a signed audit bundle for a pilot run, then attach its witness inclusion proof.

Order of operations (each step signs or logs what the previous one produced)::

    1. draft_bundle(files, meta=, partners=, exchange_public_key=)  -> BundleDraft
         checks paths and JSON, optionally scans for raw selectors, hashes every file, and builds the
         manifest core; draft.acceptance_message = "zktx-bundle/1 acceptance\\n" || core_digest
    2. each partner: bls.sign(sk, draft.acceptance_message)        (partners review draft.core_bytes)
    3. seal_bundle(draft, acceptances=, exchange_key=)               -> bytes (tar.gz)
         checks the acceptance (PoP of every key, then FastAggregateVerify), puts the aggregate in
         the manifest, and the exchange signs H(manifest.json) -- the bundle digest
       (build_bundle() does 1 and 3 in one call when the acceptances are already known)
    4. bundle_statement(bundle) -> ("zktx.bundle", {"bundle_digest": ..., ...}): append it to the
       witness log and wait until it is sequenced under a checkpoint
    5. attach_inclusion(bundle, leaf=, proof=)                       -> bytes (tar.gz)
         adds witness/inclusion.json (statement leaf, inclusion proof, signed checkpoint). This file
         is outside the manifest -- it cannot be inside what it proves -- and is verified against
         the logged statement, whose body names the bundle digest.

Drafting is deterministic: the same files, meta and partners give the same core digest, so a
service may drop the draft while partners sign and rebuild it for step 3.

``progress(stage, done, total)`` is called as work advances; stages are ``scan``, ``hash``,
``acceptance``, ``sign`` and ``pack``. An exception raised by the hook aborts the build.

Pure module (no Django).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from witness.tlog import merkle
from witness.tlog.checkpoint import open_checkpoint, parse_checkpoint
from witness.tlog.errors import TlogError
from witness.tlog.note import Ed25519Verifier, parse_note
from witness.tlog.statement import parse_statement

from . import bls
from .errors import BuildError, BundleError, InclusionError, ManifestError, RawSelectorError, UnsafeEntryError
from .format import (
    DEFAULT_LIMITS,
    INCLUSION,
    MANIFEST,
    SCHEMA,
    SIGNATURES,
    STATEMENT_TYPE,
    InclusionDoc,
    Limits,
    Manifest,
    PartnerKey,
    canonical_json,
    check_content_path,
    check_meta,
    check_partners,
    exchange_message,
    file_entry,
    load_json,
    pack,
    parse_manifest,
    signatures_doc,
    unpack,
)
from .scan import Selector, SelectorScanner

__all__ = [
    "BundleDraft",
    "ProgressHook",
    "attach_inclusion",
    "build_bundle",
    "bundle_digest",
    "bundle_statement",
    "draft_bundle",
    "seal_bundle",
]

ProgressHook = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class BundleDraft:
    """Files and manifest core, before the partners' acceptance and the exchange's signature."""

    manifest: Manifest
    files: Mapping[str, bytes]

    @property
    def core_bytes(self) -> bytes:
        """Canonical JSON the partners review: everything of the manifest except ``acceptance``."""
        return self.manifest.core_bytes()

    @property
    def core_digest(self) -> bytes:
        return self.manifest.core_digest()

    @property
    def acceptance_message(self) -> bytes:
        """The bytes every partner signs with :func:`zktx.bundle.bls.sign`."""
        return self.manifest.acceptance_message()


def _public_bytes(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes_raw()
    if isinstance(key, bytes) and len(key) == 32:
        Ed25519PublicKey.from_public_bytes(key)
        return key
    raise BuildError("the exchange key must be an Ed25519 key or 32 raw public-key bytes", code="exchange_key_invalid")


def _check_content(path: str, data: bytes) -> None:
    """Content must be what its name says: JSON for .json, one JSON value per non-empty line for .jsonl."""
    if path.endswith(".jsonl"):
        for n, line in enumerate(data.split(b"\n"), start=1):
            if line.strip():
                try:
                    load_json(line, f"{path} line {n}")
                except ManifestError as exc:
                    raise BuildError(exc.message, code="content_not_json") from exc
    else:
        try:
            load_json(data, path)
        except ManifestError as exc:
            raise BuildError(exc.message, code="content_not_json") from exc


def draft_bundle(
    files: Mapping[str, bytes],
    *,
    meta: Mapping[str, Any],
    partners: Sequence[PartnerKey],
    exchange_public_key: Ed25519PublicKey | Ed25519PrivateKey | bytes,
    raw_selectors: Iterable[str | Selector] | None = None,
    progress: ProgressHook | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> BundleDraft:
    """Validate and hash the content and build the manifest core (step 1).

    ``files`` maps content paths (``transcripts/…json``, ``proofs/…json``, ``envelopes/…json``,
    ``logs/…jsonl``, ``config/…json``) to bytes. ``meta`` must hold ``pilot_run`` (a string) and
    may hold any canonical-JSON values (give times as ISO 8601 UTC strings: the builder reads no
    clock). ``partners`` are the partners who will accept. With ``raw_selectors`` every file and
    the meta are scanned and the draft is refused (:class:`RawSelectorError`) if any is found.

    Raises :class:`BuildError` (``content_not_json``, ``build_invalid``, ``exchange_key_invalid``),
    :class:`UnsafeEntryError` (``tar_unsafe_path``, ``tar_path_not_allowed``, ``tar_file_too_large``,
    ``tar_duplicate``) or :class:`ManifestError`.
    """
    report = progress or _noop
    if not isinstance(files, Mapping) or not files:
        raise BuildError("a bundle needs at least one content file")
    if len(files) + 3 > limits.max_entries:
        raise UnsafeEntryError(f"more than {limits.max_entries} entries", code="tar_too_many_entries")
    folded: set[str] = set()
    for path, data in files.items():
        check_content_path(path)
        if path.casefold() in folded:
            raise UnsafeEntryError(f"{path!r} differs from another path only in case", code="tar_duplicate")
        folded.add(path.casefold())
        if not isinstance(data, bytes):
            raise BuildError(f"{path}: content must be bytes")
        if len(data) > limits.max_file_bytes:
            raise UnsafeEntryError(f"{path} is {len(data)} bytes; the limit is {limits.max_file_bytes}", code="tar_file_too_large")
        _check_content(path, data)
    meta = check_meta(dict(meta))
    partners = tuple(sorted(partners, key=lambda p: p.id))
    if not partners:
        raise BuildError("at least one partner must accept the bundle", code="acceptance_missing")
    check_partners(partners)
    exchange_pk = _public_bytes(exchange_public_key)
    paths = sorted(files)
    if raw_selectors is not None:
        scanner = SelectorScanner(raw_selectors)
        targets = {**{path: files[path] for path in paths}, "manifest.json#meta": canonical_json(meta)}
        findings = []
        for i, (path, data) in enumerate(targets.items()):
            findings.extend(scanner.scan(data, path=path))
            report("scan", i + 1, len(targets))
        if findings:
            where = "; ".join(str(f) for f in findings[:5])
            raise RawSelectorError(f"{len(findings)} raw selector occurrence(s): {where}", tuple(findings))
    entries = []
    for i, path in enumerate(paths):
        entries.append(file_entry(path, files[path]))
        report("hash", i + 1, len(paths))
    manifest = Manifest(meta, exchange_pk, partners, tuple(entries))
    manifest.core_bytes()  # canonicalizable, or ManifestError now
    return BundleDraft(manifest, dict(files))


def _check_acceptance(draft: BundleDraft, acceptances: Mapping[str, bytes], report: ProgressHook) -> bytes:
    ids = [p.id for p in draft.manifest.partners]
    missing = sorted(set(ids) - set(acceptances))
    extra = sorted(set(acceptances) - set(ids))
    if missing or extra:
        raise BuildError(
            f"acceptances must come from exactly the listed partners; missing {missing or 'none'}, "
            f"not listed {extra or 'none'}",
            code="acceptance_partners_mismatch",
        )
    total = len(ids) + 1
    keys = []
    for i, partner in enumerate(draft.manifest.partners):
        try:
            keys.append(bls.pop_verify(partner.public_key, partner.pop))
        except bls.BlsError as exc:
            raise BuildError(f"partner {partner.id}: {exc.message}", code=exc.code) from exc
        report("acceptance", i + 1, total)
    message = draft.acceptance_message
    try:
        aggregate = bls.aggregate([acceptances[i] for i in ids])
    except bls.BlsError as exc:
        raise BuildError(exc.message, code=exc.code) from exc
    if not bls.fast_aggregate_verify(keys, message, aggregate):
        bad = [p.id for p, k in zip(draft.manifest.partners, keys, strict=True)
               if not bls.verify(k, message, acceptances[p.id])]
        raise BuildError(f"acceptance signatures do not verify for {', '.join(bad) or 'the aggregate'}",
                         code="acceptance_invalid")
    report("acceptance", total, total)
    return aggregate


def seal_bundle(
    draft: BundleDraft,
    *,
    acceptances: Mapping[str, bytes],
    exchange_key: Ed25519PrivateKey,
    progress: ProgressHook | None = None,
) -> bytes:
    """Add the partners' acceptance, sign the manifest and pack the bundle (step 3).

    ``acceptances`` maps every listed partner id to its BLS signature of
    ``draft.acceptance_message`` — no more, no fewer. Every partner key's proof of possession and
    the aggregate are verified first (``bls_pop_invalid``, ``acceptance_invalid``,
    ``acceptance_partners_mismatch``). ``exchange_key`` must match the draft's exchange key.
    """
    report = progress or _noop
    if not isinstance(exchange_key, Ed25519PrivateKey):
        raise BuildError("exchange_key must be an Ed25519PrivateKey", code="exchange_key_invalid")
    if exchange_key.public_key().public_bytes_raw() != draft.manifest.exchange_public_key:
        raise BuildError("exchange_key does not match the draft's exchange public key", code="exchange_key_mismatch")
    aggregate = _check_acceptance(draft, acceptances, report)
    manifest = Manifest(draft.manifest.meta, draft.manifest.exchange_public_key, draft.manifest.partners,
                        draft.manifest.files, aggregate)
    manifest_bytes = manifest.to_bytes()
    digest = hashlib.sha256(manifest_bytes).digest()
    signature = exchange_key.sign(exchange_message(digest))
    report("sign", 1, 1)
    entries = {MANIFEST: manifest_bytes, SIGNATURES: signatures_doc(digest, signature), **draft.files}
    data = pack(entries)
    report("pack", 1, 1)
    return data


def build_bundle(
    files: Mapping[str, bytes],
    *,
    meta: Mapping[str, Any],
    exchange_key: Ed25519PrivateKey,
    partners: Sequence[PartnerKey],
    acceptances: Mapping[str, bytes],
    raw_selectors: Iterable[str | Selector] | None = None,
    progress: ProgressHook | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """:func:`draft_bundle` then :func:`seal_bundle`: the sealed bundle (no inclusion proof yet).

    The acceptances must sign ``draft_bundle(...).acceptance_message`` for the same inputs.
    """
    draft = draft_bundle(files, meta=meta, partners=partners, exchange_public_key=exchange_key,
                         raw_selectors=raw_selectors, progress=progress, limits=limits)
    return seal_bundle(draft, acceptances=acceptances, exchange_key=exchange_key, progress=progress)


def _manifest_of(data: bytes, limits: Limits) -> tuple[dict[str, bytes], Manifest, bytes]:
    entries = unpack(data, limits)
    if MANIFEST not in entries:
        raise ManifestError("the bundle has no manifest.json", code="manifest_missing")
    manifest = parse_manifest(entries[MANIFEST])
    return entries, manifest, hashlib.sha256(entries[MANIFEST]).digest()


def bundle_digest(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """Hex SHA-256 of ``manifest.json``: the bundle digest (independent of the archive bytes)."""
    return _manifest_of(data, limits)[2].hex()


def bundle_statement(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> tuple[str, dict[str, Any]]:
    """``(statement type, body)`` to append to the witness log for a sealed bundle (step 4)."""
    _, manifest, digest = _manifest_of(data, limits)
    return STATEMENT_TYPE, {"bundle_digest": digest.hex(), "schema": SCHEMA, "pilot_run": manifest.pilot_run}


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InclusionError(f"{what} must be a non-negative integer")
    return value


def attach_inclusion(
    data: bytes,
    *,
    leaf: bytes,
    proof: Mapping[str, Any],
    witness_key: str | Ed25519Verifier | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """Add (or replace) ``witness/inclusion.json`` (step 5) and return the new bundle bytes.

    ``leaf`` is the statement leaf as logged (canonical JSON bytes); ``proof`` is what the witness
    inclusion-proof API returns: ``leaf_index``, ``tree_size``, ``proof`` (hex hashes) and
    ``checkpoint`` (the signed note text); ``leaf_hash``/``root_hash``, if present, must agree.
    Everything is checked before attaching: the statement is a ``zktx.bundle`` statement of this
    bundle's digest, the tree size is the checkpoint's, and the proof leads to its root. The
    checkpoint's signature is checked too when ``witness_key`` is given.

    Raises :class:`InclusionError` (``witness_inclusion_invalid``, ``witness_digest_mismatch``,
    ``witness_statement_invalid``, ``witness_checkpoint_invalid``).
    """
    entries, _, digest = _manifest_of(data, limits)
    try:
        index = _int(proof["leaf_index"], "leaf_index")
        size = _int(proof["tree_size"], "tree_size")
        hashes = tuple(bytes.fromhex(h) for h in proof["proof"])
        note = proof["checkpoint"].encode() if isinstance(proof["checkpoint"], str) else bytes(proof["checkpoint"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InclusionError(f"proof needs leaf_index, tree_size, proof (hex list) and checkpoint: {exc}") from exc
    try:
        statement = parse_statement(leaf)
    except TlogError as exc:
        raise InclusionError(f"not a valid statement leaf: {exc}", code="witness_statement_invalid") from exc
    if statement.type != STATEMENT_TYPE or statement.body.get("bundle_digest") != digest.hex():
        raise InclusionError(f"the leaf is not a {STATEMENT_TYPE} statement of bundle digest {digest.hex()}",
                             code="witness_digest_mismatch")
    try:
        if witness_key is not None:
            verifier = witness_key if isinstance(witness_key, Ed25519Verifier) else Ed25519Verifier.from_key_string(witness_key)
            checkpoint, _ = open_checkpoint(note, [verifier])
        else:
            checkpoint = parse_checkpoint(parse_note(note)[0])
    except TlogError as exc:
        raise InclusionError(f"checkpoint: {exc}", code="witness_checkpoint_invalid") from exc
    if size != checkpoint.size:
        raise InclusionError(f"tree_size {size} is not the checkpoint's size {checkpoint.size}")
    lh = merkle.leaf_hash(leaf)
    if "leaf_hash" in proof and proof["leaf_hash"] != lh.hex():
        raise InclusionError("leaf_hash does not match the leaf")
    if "root_hash" in proof and proof["root_hash"] != checkpoint.root_hash.hex():
        raise InclusionError("root_hash does not match the checkpoint")
    try:
        merkle.verify_inclusion(lh, index, size, hashes, checkpoint.root_hash)
    except TlogError as exc:
        raise InclusionError(f"inclusion proof: {exc}") from exc
    try:
        doc = InclusionDoc(leaf, index, size, hashes, note).to_bytes()
    except (UnicodeDecodeError, BundleError) as exc:
        raise InclusionError(f"cannot encode the inclusion document: {exc}") from exc
    entries = {name: body for name, body in entries.items() if name != INCLUSION}
    entries[INCLUSION] = doc
    return pack(entries)
