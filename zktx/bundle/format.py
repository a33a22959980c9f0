"""The ZK-TX audit bundle format ``zktx-bundle/1``: layout, manifest schema, digests, deterministic tar.

Pure module (no Django, no I/O, no clock). The specification for auditors is ``docs/zktx-bundle.md``.

A bundle is a gzip-compressed POSIX ustar archive holding only regular files::

    manifest.json            canonical JSON (RFC 8785): schema, meta, exchange key, partners with
                             their BLS keys and proofs of possession, every content file (path,
                             SHA-256, size), and the partners' aggregate acceptance
    signatures.json          canonical JSON: the exchange's Ed25519 signature over the manifest
    transcripts/**.json      protocol transcripts
    proofs/**.json           proofs referred to by the transcripts
    envelopes/**.json        request envelopes
    logs/**.jsonl            logs (scanned free of raw selectors)
    config/**.json           configuration of the pilot run
    witness/inclusion.json   the witness statement of the bundle digest and its inclusion proof
                             (added last; not covered by the manifest, verified against the log)

Digests and signed messages (``H`` = SHA-256, ``C`` = RFC 8785 canonical bytes)::

    core_digest       = H(C(manifest without "acceptance"))
    acceptance msg    = "zktx-bundle/1 acceptance\\n" || core_digest       (BLS, each partner)
    bundle digest     = H(manifest.json bytes)  = H(C(manifest))           (logged in the witness)
    exchange msg      = "zktx-bundle/1 exchange\\n" || bundle digest        (Ed25519, the exchange)

Determinism: entries in a fixed order (``manifest.json``, ``signatures.json``, content sorted by
path, ``witness/inclusion.json``), mtime 0, uid/gid 0, empty user/group names, mode 0644, gzip
mtime 0 and no file name. The same content gives the same bytes with the same zlib; the bundle
digest does not depend on the archive bytes at all.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from witness.tlog.canonical import canonical_bytes
from witness.tlog.errors import CanonicalizationError

from .errors import ArchiveError, ManifestError, UnsafeEntryError

__all__ = [
    "ACCEPTANCE_CONTEXT",
    "BLS_SCHEME",
    "CONTENT_DIRS",
    "DEFAULT_LIMITS",
    "EXCHANGE_ALG",
    "EXCHANGE_CONTEXT",
    "INCLUSION",
    "MANIFEST",
    "RESERVED",
    "SCHEMA",
    "SIGNATURES",
    "STATEMENT_TYPE",
    "FileEntry",
    "InclusionDoc",
    "Limits",
    "Manifest",
    "PartnerKey",
    "acceptance_message",
    "canonical_json",
    "check_content_path",
    "check_member_name",
    "exchange_message",
    "file_entry",
    "load_json",
    "pack",
    "parse_inclusion",
    "parse_manifest",
    "parse_signatures",
    "sha256_hex",
    "signatures_doc",
    "unpack",
]

SCHEMA = "zktx-bundle/1"
"""Schema version string of manifests, signature documents and inclusion documents."""

MANIFEST = "manifest.json"
SIGNATURES = "signatures.json"
INCLUSION = "witness/inclusion.json"
RESERVED = (MANIFEST, SIGNATURES, INCLUSION)
"""Names that are not content files: the manifest never lists them."""

CONTENT_DIRS: dict[str, tuple[str, ...]] = {
    "transcripts": (".json",),
    "proofs": (".json",),
    "envelopes": (".json",),
    "logs": (".jsonl",),
    "config": (".json",),
}
"""Top-level directories of content files and the file name endings allowed in each."""

STATEMENT_TYPE = "zktx.bundle"
"""Witness statement type that logs a bundle digest (body field ``bundle_digest``)."""

BLS_SCHEME = "bls12381-g2-pop"
"""BLS signatures in G2, public keys in G1 (48 bytes), proof-of-possession ciphersuite."""

EXCHANGE_ALG = "ed25519"

ACCEPTANCE_CONTEXT = b"zktx-bundle/1 acceptance\n"
EXCHANGE_CONTEXT = b"zktx-bundle/1 exchange\n"

TAR_MTIME = 0
TAR_MODE = 0o644
MAX_PATH_LENGTH = 100  # ustar name field without the prefix split: one form per path
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PARTNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Limits:
    """Bounds the reader enforces before and while unpacking (all in bytes except ``max_entries``)."""

    max_archive_bytes: int = 256 * 1024 * 1024
    max_unpacked_bytes: int = 512 * 1024 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    max_entries: int = 10_000


DEFAULT_LIMITS = Limits()


# --- JSON ------------------------------------------------------------------------------------------------


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 canonical bytes; raises :class:`ManifestError` (``json_not_canonicalizable``)."""
    try:
        return canonical_bytes(obj)
    except CanonicalizationError as exc:
        raise ManifestError(str(exc), code="json_not_canonicalizable") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(data: bytes, what: str, *, canonical: bool = False) -> Any:
    """Parse strict JSON (UTF-8, no duplicate keys, no NaN/Infinity); optionally require RFC 8785 form."""
    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"{what} is not valid JSON: {exc}", code="json_invalid") from exc
    if canonical:
        # RFC 8785 numbers are doubles: re-read them so before re-canonicalizing.
        as_doubles = json.loads(data, parse_int=float)
        try:
            again = canonical_bytes(as_doubles)
        except CanonicalizationError as exc:
            raise ManifestError(f"{what} cannot be canonicalized: {exc}", code="json_not_canonical") from exc
        if again != data:
            raise ManifestError(f"{what} is not in RFC 8785 canonical form", code="json_not_canonical")
    return obj


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hex(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise ManifestError(f"{what} must be {2 * size} lowercase hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise ManifestError(f"{what} must be {2 * size} lowercase hex digits") from exc


def _exact_keys(obj: Any, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ManifestError(f"{what} must be a JSON object")
    if set(obj) != keys:
        raise ManifestError(f"{what} must have exactly the fields {', '.join(sorted(keys))}")
    return obj


# --- paths -----------------------------------------------------------------------------------------------


def check_member_name(name: str) -> None:
    """Raise :class:`UnsafeEntryError` (``tar_unsafe_path``) for a name no reader should trust.

    Refused: empty or over-long names, absolute paths, backslashes, control characters, empty,
    ``.`` or ``..`` segments, and any segment outside ``[A-Za-z0-9][A-Za-z0-9._-]*``.
    """
    if not isinstance(name, str) or not name or len(name) > MAX_PATH_LENGTH:
        raise UnsafeEntryError(f"entry name {name!r} is empty or longer than {MAX_PATH_LENGTH} characters")
    if name.startswith("/") or "\\" in name or any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise UnsafeEntryError(f"entry name {name!r} is absolute or has a backslash or control character")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise UnsafeEntryError(f"entry name {name!r} has an empty, '.' or '..' segment")
        if not _SEGMENT.fullmatch(segment):
            raise UnsafeEntryError(f"entry name {name!r} has a segment outside [A-Za-z0-9._-]")


def check_content_path(path: str) -> None:
    """Raise :class:`UnsafeEntryError` unless ``path`` is a safe content file name in the layout.

    ``tar_unsafe_path`` for unsafe names, ``tar_path_not_allowed`` for reserved names, unknown
    top-level directories or file name endings not allowed there.
    """
    check_member_name(path)
    if path in RESERVED:
        raise UnsafeEntryError(f"{path} is reserved for the bundle's own documents", code="tar_path_not_allowed")
    top, _, rest = path.partition("/")
    if top not in CONTENT_DIRS or not rest:
        raise UnsafeEntryError(
            f"{path!r} is not under one of {', '.join(d + '/' for d in CONTENT_DIRS)}", code="tar_path_not_allowed"
        )
    if not rest.endswith(CONTENT_DIRS[top]):
        raise UnsafeEntryError(
            f"files under {top}/ must end in {' or '.join(CONTENT_DIRS[top])}: {path!r}", code="tar_path_not_allowed"
        )


# --- manifest --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerKey:
    """A partner that accepts the bundle: id, 48-byte BLS public key and its proof of possession."""

    id: str
    public_key: bytes
    pop: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _PARTNER_ID.fullmatch(self.id):
            raise ManifestError(f"partner id {self.id!r} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 48:
            raise ManifestError(f"partner {self.id}: a BLS public key is 48 bytes")
        if not isinstance(self.pop, bytes) or len(self.pop) != 96:
            raise ManifestError(f"partner {self.id}: a proof of possession is 96 bytes")

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "bls_public_key": self.public_key.hex(), "pop": self.pop.hex()}


@dataclass(frozen=True)
class FileEntry:
    """One manifest line: a content file's path, lowercase hex SHA-256 and size in bytes."""

    path: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


def file_entry(path: str, data: bytes) -> FileEntry:
    return FileEntry(path, sha256_hex(data), len(data))


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``. ``aggregate_signature`` is ``None`` until the partners' acceptance is added."""

    meta: dict[str, Any]
    exchange_public_key: bytes
    partners: tuple[PartnerKey, ...]
    files: tuple[FileEntry, ...]
    aggregate_signature: bytes | None = None
    schema: str = field(default=SCHEMA)

    def core(self) -> dict[str, Any]:
        """The manifest without ``acceptance``: what the partners accept."""
        return {
            "schema": self.schema,
            "meta": self.meta,
            "exchange": {"alg": EXCHANGE_ALG, "public_key": self.exchange_public_key.hex()},
            "partners": [p.to_json() for p in self.partners],
            "files": [f.to_json() for f in self.files],
        }

    def core_bytes(self) -> bytes:
        return canonical_json(self.core())

    def core_digest(self) -> bytes:
        return hashlib.sha256(self.core_bytes()).digest()

    def acceptance_message(self) -> bytes:
        return acceptance_message(self.core_digest())

    def to_json(self) -> dict[str, Any]:
        if self.aggregate_signature is None:
            raise ManifestError("the manifest has no acceptance yet", code="acceptance_missing")
        obj = self.core()
        obj["acceptance"] = {"scheme": BLS_SCHEME, "aggregate_signature": self.aggregate_signature.hex()}
        return obj

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @property
    def pilot_run(self) -> str:
        return self.meta["pilot_run"]


def acceptance_message(core_digest: bytes) -> bytes:
    """What each partner signs with BLS: the context string and the 32-byte core digest."""
    return ACCEPTANCE_CONTEXT + core_digest


def exchange_message(bundle_digest: bytes) -> bytes:
    """What the exchange signs with Ed25519: the context string and the 32-byte bundle digest."""
    return EXCHANGE_CONTEXT + bundle_digest


def check_meta(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise ManifestError("meta must be a JSON object")
    run = meta.get("pilot_run")
    if not isinstance(run, str) or not run:
        raise ManifestError("meta.pilot_run must be a non-empty string")
    canonical_json(meta)  # raises for values that are not canonical JSON
    return meta


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate ``manifest.json`` (must be canonical); raises :class:`ManifestError`."""
    obj = load_json(data, MANIFEST, canonical=True)
    _exact_keys(obj, {"schema", "meta", "exchange", "partners", "files", "acceptance"}, "manifest")
    if obj["schema"] != SCHEMA:
        raise ManifestError(f"unsupported schema {obj['schema']!r}; this verifier reads {SCHEMA}", code="manifest_schema")
    meta = check_meta(obj["meta"])
    exchange = _exact_keys(obj["exchange"], {"alg", "public_key"}, "manifest.exchange")
    if exchange["alg"] != EXCHANGE_ALG:
        raise ManifestError(f"exchange.alg must be {EXCHANGE_ALG!r}")
    exchange_key = _hex(exchange["public_key"], 32, "exchange.public_key")
    if not isinstance(obj["partners"], list) or not obj["partners"]:
        raise ManifestError("partners must be a non-empty list")
    partners = []
    for i, p in enumerate(obj["partners"]):
        p = _exact_keys(p, {"id", "bls_public_key", "pop"}, f"partners[{i}]")
        partners.append(
            PartnerKey(p["id"], _hex(p["bls_public_key"], 48, f"partners[{i}].bls_public_key"), _hex(p["pop"], 96, f"partners[{i}].pop"))
        )
    check_partners(partners)
    if not isinstance(obj["files"], list):
        raise ManifestError("files must be a list")
    files = []
    for i, f in enumerate(obj["files"]):
        f = _exact_keys(f, {"path", "sha256", "size"}, f"files[{i}]")
        try:
            check_content_path(f["path"])
        except UnsafeEntryError as exc:
            raise ManifestError(f"files[{i}]: {exc.message}") from exc
        if not isinstance(f["sha256"], str) or not _HEX64.fullmatch(f["sha256"]):
            raise ManifestError(f"files[{i}].sha256 must be 64 lowercase hex digits")
        if isinstance(f["size"], bool) or not isinstance(f["size"], int) or f["size"] < 0:
            raise ManifestError(f"files[{i}].size must be a non-negative integer")
        files.append(FileEntry(f["path"], f["sha256"], f["size"]))
    check_files_order(files)
    acceptance = _exact_keys(obj["acceptance"], {"scheme", "aggregate_signature"}, "manifest.acceptance")
    if acceptance["scheme"] != BLS_SCHEME:
        raise ManifestError(f"acceptance.scheme must be {BLS_SCHEME!r}")
    aggregate = _hex(acceptance["aggregate_signature"], 96, "acceptance.aggregate_signature")
    return Manifest(meta, exchange_key, tuple(partners), tuple(files), aggregate)


def check_partners(partners: Sequence[PartnerKey]) -> None:
    """Partners must be sorted by id with distinct ids and distinct public keys."""
    ids = [p.id for p in partners]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        raise ManifestError("partners must be sorted by id, without duplicates")
    if len({p.public_key for p in partners}) != len(partners):
        raise ManifestError("two partners share a BLS public key")


def check_files_order(files: Sequence[FileEntry]) -> None:
    paths = [f.path for f in files]
    if paths != sorted(paths) or len({p.casefold() for p in paths}) != len(paths):
        raise ManifestError("files must be sorted by path, without duplicates (also ignoring case)")


# --- signatures.json and witness/inclusion.json ----------------------------------------------------------


def signatures_doc(bundle_digest: bytes, exchange_signature: bytes) -> bytes:
    return canonical_json(
        {"schema": SCHEMA, "bundle_digest": bundle_digest.hex(), "exchange_signature": exchange_signature.hex()}
    )


def parse_signatures(data: bytes) -> tuple[bytes, bytes]:
    """Return ``(bundle digest, exchange signature)``; raises :class:`ManifestError` (``signatures_malformed``)."""
    try:
        obj = load_json(data, SIGNATURES, canonical=True)
        _exact_keys(obj, {"schema", "bundle_digest", "exchange_signature"}, SIGNATURES)
        if obj["schema"] != SCHEMA:
            raise ManifestError(f"{SIGNATURES}: unsupported schema {obj['schema']!r}")
        return _hex(obj["bundle_digest"], 32, "bundle_digest"), _hex(obj["exchange_signature"], 64, "exchange_signature")
    except ManifestError as exc:
        raise ManifestError(exc.message, code="signatures_malformed") from exc


@dataclass(frozen=True)
class InclusionDoc:
    """``witness/inclusion.json``: the statement leaf and its RFC 6962 inclusion proof."""

    statement: bytes
    leaf_index: int
    tree_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "schema": SCHEMA,
                "statement": self.statement.decode("utf-8"),
                "leaf_index": self.leaf_index,
                "tree_size": self.tree_size,
                "proof": [h.hex() for h in self.proof],
                "checkpoint": self.checkpoint.decode("utf-8"),
            }
        )


def parse_inclusion(data: bytes) -> InclusionDoc:
    """Parse ``witness/inclusion.json``; raises :class:`ManifestError` (``witness_inclusion_malformed``)."""
    try:
        obj = load_json(data, INCLUSION)
        _exact_keys(obj, {"schema", "statement", "leaf_index", "tree_size", "proof", "checkpoint"}, INCLUSION)
        if obj["schema"] != SCHEMA:
            raise ManifestError(f"{INCLUSION}: unsupported schema {obj['schema']!r}")
        for key in ("leaf_index", "tree_size"):
            if isinstance(obj[key], bool) or not isinstance(obj[key], int) or obj[key] < 0:
                raise ManifestError(f"{key} must be a non-negative integer")
        if not isinstance(obj["statement"], str) or not isinstance(obj["checkpoint"], str):
            raise ManifestError("statement and checkpoint must be strings")
        if not isinstance(obj["proof"], list) or len(obj["proof"]) > 64:
            raise ManifestError("proof must be a list of at most 64 hashes")
        proof = tuple(_hex(h, 32, f"proof[{i}]") for i, h in enumerate(obj["proof"]))
        return InclusionDoc(
            obj["statement"].encode("utf-8"), obj["leaf_index"], obj["tree_size"], proof, obj["checkpoint"].encode("utf-8")
        )
    except ManifestError as exc:
        raise ManifestError(exc.message, code="witness_inclusion_malformed") from exc


# --- deterministic tar -----------------------------------------------------------------------------------


def _order(names: Sequence[str]) -> list[str]:
    head = [n for n in (MANIFEST, SIGNATURES) if n in names]
    tail = [INCLUSION] if INCLUSION in names else []
    return [*head, *sorted(n for n in names if n not in RESERVED), *tail]


def pack(entries: Mapping[str, bytes]) -> bytes:
    """Deterministic ``tar.gz`` of ``entries`` (names checked with :func:`check_member_name`)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in _order(list(entries)):
            check_member_name(name)
            data = entries[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = TAR_MTIME
            info.mode = TAR_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _gunzip(data: bytes, limits: Limits) -> bytes:
    if len(data) > limits.max_archive_bytes:
        raise ArchiveError(f"archive is {len(data)} bytes; the limit is {limits.max_archive_bytes}", code="archive_too_large")
    if data[:2] != b"\x1f\x8b":
        raise ArchiveError("not a gzip file")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(data, limits.max_unpacked_bytes + 1)
    except zlib.error as exc:
        raise ArchiveError(f"gzip data is corrupt: {exc}") from exc
    if len(raw) > limits.max_unpacked_bytes:
        raise ArchiveError(f"archive unpacks to more than {limits.max_unpacked_bytes} bytes", code="archive_too_large")
    if not inflater.eof:
        raise ArchiveError("gzip data is truncated")
    if inflater.unused_data:
        raise ArchiveError("bytes follow the gzip stream (concatenated or trailing data)")
    return raw


_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE)


def unpack(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Read a bundle into ``{name: bytes}`` in archive order, in memory, writing nothing to disk.

    Raises :class:`ArchiveError` (``archive_malformed``, ``archive_too_large``) or
    :class:`UnsafeEntryError` (``tar_unsafe_path``, ``tar_path_not_allowed``, ``tar_member_type``,
    ``tar_duplicate``, ``tar_too_many_entries``, ``tar_file_too_large``).
    """
    raw = _gunzip(data, limits)
    entries: dict[str, bytes] = {}
    folded: set[str] = set()
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar:
                if len(entries) >= limits.max_entries:
                    raise UnsafeEntryError(f"more than {limits.max_entries} entries", code="tar_too_many_entries")
                name = member.name
                if member.type not in _REGULAR:
                    kind = {tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hard link", tarfile.DIRTYPE: "directory",
                            tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
                            tarfile.FIFOTYPE: "fifo"}.get(member.type, f"type {member.type!r}")
                    raise UnsafeEntryError(f"entry {name!r} is a {kind}; only regular files are allowed", code="tar_member_type")
                if member.linkname:
                    raise UnsafeEntryError(f"entry {name!r} names a link target", code="tar_member_type")
                check_member_name(name)
                if name not in RESERVED:
                    check_content_path(name)
                if name.casefold() in folded:
                    raise UnsafeEntryError(f"entry {name!r} occurs twice (names compared ignoring case)", code="tar_duplicate")
                folded.add(name.casefold())
                if member.size > limits.max_file_bytes:
                    raise UnsafeEntryError(
                        f"entry {name!r} is {member.size} bytes; the limit is {limits.max_file_bytes}", code="tar_file_too_large"
                    )
                handle = tar.extractfile(member)
                content = handle.read() if handle is not None else b""
                if len(content) != member.size:
                    raise ArchiveError(f"entry {name!r} is truncated")
                entries[name] = content
    except tarfile.TarError as exc:
        raise ArchiveError(f"not a readable tar archive: {exc}") from exc
    if not entries:
        raise ArchiveError("the archive is empty")
    return entries
