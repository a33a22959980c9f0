"""The compliance packet format, ``tf-compliance-packet/1``: a signed zip, and its verifier.

Layout (see docs/compliance.md for the full description)::

    manifest.json            C(manifest): schema, packet meta, signer key, files [{path, sha256, size}]
    signature.json           C({schema, packet_digest, signature}) — Ed25519 over PREFIX || H(manifest.json)
    report.html ...          content files, every one listed in the manifest with its SHA-256 and size
    witness/inclusion.json   optional, added after logging: the packet's witness statement, its
                             inclusion proof and the signed checkpoint (not in the manifest)

``C(x)`` is RFC 8785 canonical JSON, ``H`` SHA-256. The **packet digest** is ``H(manifest.json)``; it
does not depend on the zip's bytes, so attaching the inclusion proof (or re-zipping) changes nothing
that was signed or logged.

Pure module: no Django import (the witness log's pure core does the canonical JSON, the Ed25519 keys,
the statements and the Merkle proofs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from witness.tlog import merkle
from witness.tlog.canonical import canonical_bytes
from witness.tlog.checkpoint import open_checkpoint
from witness.tlog.errors import TlogError
from witness.tlog.note import Ed25519Signer, Ed25519Verifier
from witness.tlog.statement import parse_statement

SCHEMA = "tf-compliance-packet/1"
STATEMENT_TYPE = "compliance.packet"
SIGNATURE_PREFIX = b"tf-compliance-packet/1 signature\n"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
INCLUSION = "witness/inclusion.json"
RESERVED = (MANIFEST, SIGNATURE, INCLUSION)
MAX_PATH = 200
MAX_FILES = 20_000
MAX_TOTAL_BYTES = 4 * 1024**3  # what the verifier will inflate at most
SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

PASS, FAIL, SKIP = "pass", "fail", "skip"


class PacketFormatError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_path(path: str) -> str:
    """A content path: ``/``-separated segments of ``[A-Za-z0-9][A-Za-z0-9._-]*``, at most 200 characters."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        raise PacketFormatError("packet_path_invalid", f"path {path!r} is empty or longer than {MAX_PATH} characters")
    segments = path.split("/")
    if any(not SEGMENT_RE.match(s) or s in (".", "..") or ".." in s for s in segments):
        raise PacketFormatError("packet_path_invalid", f"path {path!r} has an unsafe segment")
    return path


def safe_segment(name: str, fallback: str = "file") -> str:
    """A path segment made from a free-form name (for uploaded files' names inside the packet)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")
    out = re.sub(r"\.{2,}", ".", out)[:80]
    return out if out and SEGMENT_RE.match(out) else fallback


def signature_message(packet_digest: str) -> bytes:
    return SIGNATURE_PREFIX + bytes.fromhex(packet_digest)


def statement_body(manifest: Mapping[str, Any], packet_digest: str) -> dict[str, Any]:
    """The body of the ``compliance.packet`` witness statement for a packet."""
    p = manifest["packet"]
    return {
        "packet_digest": packet_digest,
        "schema": SCHEMA,
        "packet": p["id"],
        "framework": p["framework"]["key"],
        "framework_version": p["framework"]["version"],
        "version": p["version"],
        "period_start": p["period"]["start"],
        "period_end": p["period"]["end"],
    }


# --- building -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltPacket:
    data: bytes  # the zip
    manifest: dict[str, Any]
    manifest_bytes: bytes
    packet_digest: str
    signature: bytes


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (0o100644 & 0xFFFF) << 16
            zf.writestr(info, data)
    return out.getvalue()


def build_packet(*, files: Mapping[str, bytes], packet: Mapping[str, Any], signer: Ed25519Signer) -> BuiltPacket:
    """Hash the content files, write the canonical manifest, sign its digest, and zip it all.

    ``packet`` is the manifest's ``packet`` object: ``id``, ``framework`` (``key``, ``name``,
    ``version``), ``version``, ``period`` (``start``, ``end``), ``generated_at`` and any further
    fields. Deterministic: the same files, meta and key give the same bytes.
    """
    if not files:
        raise PacketFormatError("packet_empty", "a packet needs at least one content file")
    seen: dict[str, str] = {}
    for path in files:
        check_path(path)
        if path in RESERVED:
            raise PacketFormatError("packet_path_reserved", f"{path} is reserved")
        low = path.lower()
        if low in seen:
            raise PacketFormatError("packet_path_duplicate", f"{path} and {seen[low]} differ only in case")
        seen[low] = path
    for key in ("id", "framework", "version", "period", "generated_at"):
        if key not in packet:
            raise PacketFormatError("packet_meta_missing", f"packet meta lacks {key}")
    listing = [{"path": p, "sha256": sha256_hex(files[p]), "size": len(files[p])} for p in sorted(files)]
    manifest = {
        "schema": SCHEMA,
        "packet": dict(packet),
        "signer": {"alg": "ed25519", "key": signer.verifier().key_string},
        "files": listing,
    }
    manifest_bytes = canonical_bytes(manifest)
    digest = sha256_hex(manifest_bytes)
    signature = signer.sign(signature_message(digest))
    sig_doc = canonical_bytes({"schema": SCHEMA, "packet_digest": digest, "signature": base64.b64encode(signature).decode()})
    members = [(MANIFEST, manifest_bytes), (SIGNATURE, sig_doc)] + [(p, files[p]) for p in sorted(files)]
    return BuiltPacket(_zip(members), manifest, manifest_bytes, digest, signature)


def attach_inclusion(data: bytes, inclusion: Mapping[str, Any]) -> bytes:
    """The same packet with ``witness/inclusion.json`` added (replacing an earlier one)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist() if i.filename != INCLUSION]
    doc = {"schema": SCHEMA, **{k: inclusion[k] for k in ("statement", "leaf_index", "tree_size", "proof", "checkpoint")}}
    return _zip([*members, (INCLUSION, canonical_bytes(doc))])


# --- verifying ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # pass | fail | skip
    code: str
    message: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    packet_digest: str | None = None
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.status != FAIL for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def add(self, name: str, status: str, code: str, message: str) -> bool:
        self.checks.append(Check(name, status, code, message))
        return status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "packet_digest": self.packet_digest,
                "checks": [{"name": c.name, "status": c.status, "code": c.code, "message": c.message} for c in self.checks]}


def _canonical_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data, object_pairs_hook=_no_duplicates)
        doubles = json.loads(data, parse_int=float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PacketFormatError(f"{what}_not_json", f"{what}.json is not JSON: {exc}") from exc
    try:
        same = canonical_bytes(doubles) == data
    except TlogError:
        same = False
    if not same:
        raise PacketFormatError(f"{what}_not_canonical", f"{what}.json is not in RFC 8785 canonical form")
    if not isinstance(obj, dict):
        raise PacketFormatError(f"{what}_shape", f"{what}.json must hold an object")
    return obj


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _read_members(data: bytes, report: Report) -> dict[str, bytes] | None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.add("archive", FAIL, "archive_invalid", f"not a zip archive: {exc}")
        return None
    members: dict[str, bytes] = {}
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES + len(RESERVED):
            report.add("archive", FAIL, "archive_too_many_files", f"{len(infos)} members; at most {MAX_FILES} content files")
            return None
        for info in infos:
            name = info.filename
            if name in members:
                report.add("archive", FAIL, "archive_duplicate", f"{name} appears twice")
                return None
            if info.is_dir() or info.flag_bits & 0x1:
                report.add("archive", FAIL, "archive_member_invalid", f"{name} is a directory or encrypted")
                return None
            try:
                check_path(name)
            except PacketFormatError as exc:
                report.add("archive", FAIL, exc.code, str(exc))
                return None
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                report.add("archive", FAIL, "archive_too_large", "the packet inflates beyond 4 GiB")
                return None
            try:
                members[name] = zf.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:  # CRC errors, bad streams
                report.add("archive", FAIL, "archive_member_corrupt", f"{name} cannot be read: {exc}")
                return None
    missing = [n for n in (MANIFEST, SIGNATURE) if n not in members]
    if missing:
        report.add("archive", FAIL, "archive_incomplete", f"missing {', '.join(missing)}")
        return None
    report.add("archive", PASS, "ok", f"{len(members)} members")
    return members


def _manifest(members: dict[str, bytes], report: Report) -> dict[str, Any] | None:
    try:
        manifest = _canonical_json(members[MANIFEST], "manifest")
    except PacketFormatError as exc:
        report.add("manifest", FAIL, exc.code, str(exc))
        return None
    problems = []
    if manifest.get("schema") != SCHEMA:
        problems.append(f"schema is not {SCHEMA}")
    if set(manifest) != {"schema", "packet", "signer", "files"}:
        problems.append("fields must be exactly schema, packet, signer, files")
    packet = manifest.get("packet")
    if not isinstance(packet, dict) or not all(k in packet for k in ("id", "framework", "version", "period", "generated_at")):
        problems.append("packet meta incomplete")
    signer = manifest.get("signer")
    if not isinstance(signer, dict) or signer.get("alg") != "ed25519" or not isinstance(signer.get("key"), str):
        problems.append("signer must be {alg: ed25519, key: <verifier key>}")
    files = manifest.get("files")
    if not isinstance(files, list):
        problems.append("files must be a list")
    else:
        paths = []
        for f in files:
            if not (isinstance(f, dict) and set(f) == {"path", "sha256", "size"} and isinstance(f["path"], str)
                    and isinstance(f["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", f["sha256"])
                    and isinstance(f["size"], int | float) and f["size"] >= 0):
                problems.append(f"malformed file entry {f!r}"[:200])
                break
            paths.append(f["path"])
        else:
            if paths != sorted(paths) or len(set(paths)) != len(paths):
                problems.append("files must be sorted by path and distinct")
            if any(p in RESERVED for p in paths):
                problems.append("files must not list manifest.json, signature.json or witness/inclusion.json")
    if problems:
        report.add("manifest", FAIL, "manifest_invalid", "; ".join(problems))
        return None
    report.manifest = manifest
    report.add("manifest", PASS, "ok", f"{len(files)} files listed, packet {packet.get('id')}")
    return manifest


def _signature(members: dict[str, bytes], manifest: dict[str, Any], key: Ed25519Verifier, report: Report) -> bool:
    digest = sha256_hex(members[MANIFEST])
    report.packet_digest = digest
    try:
        doc = _canonical_json(members[SIGNATURE], "signature")
    except PacketFormatError as exc:
        return report.add("signature", FAIL, exc.code, str(exc))
    if doc.get("schema") != SCHEMA or set(doc) != {"schema", "packet_digest", "signature"}:
        return report.add("signature", FAIL, "signature_invalid", "signature.json must hold schema, packet_digest, signature")
    if doc["packet_digest"] != digest:
        return report.add("signature", FAIL, "packet_digest_mismatch",
                          "signature.json names another packet digest than H(manifest.json): the manifest was changed")
    try:
        sig = base64.b64decode(doc["signature"], validate=True)
    except (binascii.Error, ValueError, TypeError):
        return report.add("signature", FAIL, "signature_invalid", "the signature is not base64")
    if not key.verify(signature_message(digest), sig):
        return report.add("signature", FAIL, "signature_bad",
                          f"the Ed25519 signature does not verify with {key.name}+{key.key_id:08x} (wrong key, or a changed manifest)")
    if manifest["signer"]["key"] != key.key_string:
        return report.add("signature", FAIL, "signer_mismatch", "the manifest names another signer key than the one given")
    return report.add("signature", PASS, "ok", f"signed by {key.name}+{key.key_id:08x}; packet digest {digest}")


def _files(members: dict[str, bytes], manifest: dict[str, Any], report: Report) -> bool:
    listed = {f["path"]: f for f in manifest["files"]}
    problems = []
    for path, f in listed.items():
        data = members.get(path)
        if data is None:
            problems.append(f"{path}: missing")
        elif len(data) != f["size"]:
            problems.append(f"{path}: {len(data)} bytes, manifest says {int(f['size'])}")
        elif sha256_hex(data) != f["sha256"]:
            problems.append(f"{path}: SHA-256 differs from the manifest (file changed)")
    extra = sorted(set(members) - set(listed) - set(RESERVED))
    problems += [f"{p}: not listed in the manifest" for p in extra]
    if problems:
        return report.add("files", FAIL, "file_tampered", "; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""))
    return report.add("files", PASS, "ok", f"{len(listed)} files match their SHA-256 and size")


def _evidence_index(members: dict[str, bytes], manifest: dict[str, Any], report: Report) -> bool:
    """Each evidence item's recorded SHA-256 (taken when it was collected or uploaded) equals its file's."""
    raw = members.get("evidence/index.json")
    if raw is None:
        return report.add("evidence", SKIP, "evidence_index_missing", "no evidence/index.json")
    try:
        index = json.loads(raw)
        items = index["items"]
    except (ValueError, KeyError, TypeError) as exc:
        return report.add("evidence", FAIL, "evidence_index_invalid", f"evidence/index.json is malformed: {exc}")
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    bad = [i.get("id", "?") for i in items if isinstance(i, dict) and i.get("path") and digests.get(i["path"]) != i.get("sha256")]
    if bad:
        return report.add("evidence", FAIL, "evidence_hash_mismatch",
                          f"{len(bad)} evidence file(s) do not hash to the SHA-256 recorded at collection: {', '.join(map(str, bad[:10]))}")
    return report.add("evidence", PASS, "ok", f"{len(items)} evidence items hash to their recorded SHA-256")


def _inclusion(members: dict[str, bytes], key: Ed25519Verifier, log_key: Ed25519Verifier | None, digest: str,
               report: Report, require: bool) -> bool:
    raw = members.get(INCLUSION)
    if raw is None:
        return report.add("witness", FAIL if require else SKIP, "witness_missing", "no witness/inclusion.json")
    if log_key is None:
        return report.add("witness", FAIL if require else SKIP, "witness_key_missing",
                          "no log key given (--log-key): the inclusion proof was not checked")
    try:
        doc = _canonical_json(raw, "inclusion")
        checkpoint, _ = open_checkpoint(doc["checkpoint"].encode(), [log_key], origin=log_key.name)
        statement = parse_statement(doc["statement"].encode(), trusted_signers={key.key_string})
        if statement.type != STATEMENT_TYPE or statement.body.get("packet_digest") != digest:
            return report.add("witness", FAIL, "witness_statement_mismatch", "the logged statement is not this packet's digest")
        if int(doc["tree_size"]) != checkpoint.size:
            return report.add("witness", FAIL, "witness_size_mismatch", "the proof's tree size is not the checkpoint's")
        proof = [bytes.fromhex(h) for h in doc["proof"]]
        merkle.verify_inclusion(merkle.leaf_hash(doc["statement"].encode()), int(doc["leaf_index"]), checkpoint.size, proof,
                                checkpoint.root_hash)
    except (PacketFormatError, TlogError, KeyError, ValueError, TypeError, AttributeError) as exc:
        return report.add("witness", FAIL, "witness_inclusion_invalid", f"the inclusion proof does not verify: {exc}")
    return report.add("witness", PASS, "ok",
                      f"packet digest logged as leaf {int(doc['leaf_index'])} of the checkpoint of size {checkpoint.size}")


def verify_packet(data: bytes, *, key: Ed25519Verifier, log_key: Ed25519Verifier | None = None,
                  require_witness: bool = False) -> Report:
    """Check a packet: archive, manifest, signature (with ``key``), every file's digest, the evidence
    hashes, and the witness inclusion proof (with ``log_key``). Never raises on bad input."""
    report = Report()
    members = _read_members(data, report)
    if members is None:
        return report
    manifest = _manifest(members, report)
    if manifest is None:
        return report
    _signature(members, manifest, key, report)
    _files(members, manifest, report)
    _evidence_index(members, manifest, report)
    _inclusion(members, key, log_key, sha256_hex(members[MANIFEST]), report, require_witness)
    return report
