"""Checks for uploaded evidence files: the name, the size, and the type by magic bytes.

The type is decided by the file's first bytes, and the name's extension must agree with it: a PDF
renamed ``.png`` is refused, and so is an HTML page renamed ``.txt`` only if it is not plain text
(HTML is text; it is stored and served as ``text/plain`` with ``nosniff`` and as an attachment, so a
browser never renders it).

Pure module: no Django import.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_NAME_CHARS = 120
SNIFF_BYTES = 8192

# kind -> (content type, extensions)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "gif": ("image/gif", (".gif",)),
    "webp": ("image/webp", (".webp",)),
    "pdf": ("application/pdf", (".pdf",)),
    "text": ("text/plain; charset=utf-8", (".txt", ".log", ".csv", ".json", ".jsonl", ".md", ".yaml", ".yml")),
}
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class UploadRejected(ValueError):
    """The upload is refused; ``code`` is stable (``upload_name_invalid``, ``upload_too_large``, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class UploadCheck:
    name: str
    kind: str
    content_type: str


def check_name(name: str) -> str:
    """The name, unchanged, if it is a plain file name; else :class:`UploadRejected`.

    Refused: empty names, names over 120 characters, NUL and other control characters, path
    separators (``/`` and ``\\``), ``..``, absolute paths and drive letters, leading dots or
    spaces, trailing dots or spaces, and Windows device names.
    """
    if not isinstance(name, str) or not name:
        raise UploadRejected("upload_name_invalid", "The file needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise UploadRejected("upload_name_invalid", f"File names are at most {MAX_NAME_CHARS} characters.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise UploadRejected("upload_name_invalid", "The file name contains control characters.")
    if "/" in name or "\\" in name or ".." in name:
        raise UploadRejected("upload_name_invalid", "The file name must not contain a path ('/', '\\' or '..').")
    if len(name) >= 2 and name[1] == ":":
        raise UploadRejected("upload_name_invalid", "The file name must not name a drive.")
    if name[0] in ". " or name[-1] in ". ":
        raise UploadRejected("upload_name_invalid", "The file name must not start with a dot or a space, nor end with one.")
    if name.split(".", 1)[0].lower() in _WINDOWS_RESERVED:
        raise UploadRejected("upload_name_invalid", "That file name is reserved on some systems.")
    return name


def sniff(head: bytes) -> str | None:
    """The kind of file these first bytes begin, or None when it is none we accept."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if _is_text(head):
        return "text"
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character may be cut at the end of the sniffed prefix
        if exc.start < len(head) - 3:
            return False
    text = head.decode("utf-8", errors="ignore")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls == 0


def check_upload(*, name: str, size: int, head: bytes) -> UploadCheck:
    """Check an upload before it is stored: name, size (1 byte to 20 MB), type by magic bytes."""
    check_name(name)
    if size <= 0:
        raise UploadRejected("upload_empty", "The file is empty.")
    if size > MAX_UPLOAD_BYTES:
        raise UploadRejected("upload_too_large", f"The file is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes (20 MB).")
    kind = sniff(head[:SNIFF_BYTES])
    if kind is None:
        raise UploadRejected(
            "upload_type_unsupported",
            "Only PNG, JPEG, GIF and WebP images, PDF documents and plain-text logs are accepted (the content decides, not the name).",
        )
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content_type, extensions = KINDS[kind]
    if ext not in extensions:
        raise UploadRejected(
            "upload_type_mismatch",
            f"The content is {kind.upper() if kind != 'text' else 'plain text'} but the name ends in "
            f"{ext or 'no extension'}; use one of {', '.join(extensions)}.",
        )
    return UploadCheck(name=name, kind=kind, content_type=content_type)
