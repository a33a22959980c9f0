"""Content-addressed storage of large protocol messages (blinded sets, evaluations, transcripts).

Why files and not a ``BinaryField``: a 100k-element holder set is ~4.3 MB of base64 JSON and its
epoch transcript ~9 MB; kept out of the database they do not bloat rows, WAL, backups or the
SQLite writer lock, and are read once per epoch and cached. The address is the SHA-256 of the
stored bytes, and a JSON message is stored as its RFC 8785 canonical bytes — so the address *is*
the protocol's ``digest(message)`` (``docs/zktx-protocol.md``), every read is verified against it,
identical uploads are stored once, and a file can never be changed behind a row's back.

Writes happen before the database commit (tmp file + atomic rename); a failed transaction may
leave an unreferenced blob behind, which is harmless (content-addressed, never served without a
row) and removed by :func:`gc`. Layout: ``VAR_DIR/zktx/blobs/ab/cdef…`` (mode 0600). In
production with several hosts, ``VAR_DIR`` must be shared storage (or this module swapped for an
object store with the same three functions).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings

from trustfabric.errors import ServiceError
from zktx.protocol.transcript import canonical_bytes

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(ServiceError):
    status = 500


def root() -> Path:
    path = Path(settings.VAR_DIR) / "zktx" / "blobs"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(digest: str) -> Path:
    if not _HEX64.match(digest or ""):
        raise BlobError("blob_digest_invalid", "A blob address is 64 lower-case hex digits.")
    return root() / digest[:2] / digest[2:]


def put(data: bytes) -> str:
    """Store ``data``; returns its SHA-256 (hex). Idempotent."""
    digest = hashlib.sha256(data).hexdigest()
    path = _path(digest)
    if path.exists():
        return digest
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return digest


def get(digest: str) -> bytes:
    """The bytes at ``digest``, verified."""
    try:
        data = _path(digest).read_bytes()
    except FileNotFoundError as exc:
        raise BlobError("blob_missing", f"Stored message {digest[:12]}… is missing from {root()}.") from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise BlobError("blob_corrupt", f"Stored message {digest[:12]}… does not match its digest.")
    return data


def put_json(obj: Any) -> str:
    """Store the RFC 8785 canonical bytes of ``obj``; the address equals the protocol digest."""
    return put(canonical_bytes(obj))


def get_json(digest: str) -> Any:
    return json.loads(get(digest))


def exists(digest: str) -> bool:
    return _path(digest).exists()


def gc(referenced: Iterable[str]) -> int:
    """Remove blobs that no row references; returns how many were removed."""
    keep = set(referenced)
    removed = 0
    for sub in root().iterdir():
        if not sub.is_dir():
            continue
        for f in sub.iterdir():
            digest = sub.name + f.name
            if _HEX64.match(digest) and digest not in keep:
                f.unlink(missing_ok=True)
                removed += 1
    return removed
