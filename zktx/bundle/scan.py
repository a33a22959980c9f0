"""Raw-selector scanner: shows that bundle content (logs, envelopes, transcripts, …) holds no raw selector.

Given the raw selectors (phone numbers, e-mail addresses, account ids), the scanner looks for each
one in several **forms** and several **encodings**:

forms (per kind, detected or given)
    phone   ``+<digits>`` (E.164), ``<digits>`` and the value as given
    email   as given, lower case and upper case
    account as given, compact (white space and ``-`` removed), lower and upper case

encodings of every form's UTF-8 bytes
    ``text``         the bytes themselves, ignoring ASCII case
    ``digits``       (phones) the digits in text where ``space - . ( ) /`` separate them
                     (``+49 (151) 234-5678`` is found as ``49151 2345678``…)
    ``hex``          hex of the bytes, either case
    ``url``          percent-encoding (``alice%40example.com``), either case
    ``base64``       standard and URL-safe alphabets, at all three byte alignments, so the
                     selector is found inside the base64 of a larger blob too
    ``sha256-hex`` / ``sha256-base64``  an unsalted SHA-256 of the form (enumerable, so as bad as raw)

Findings name the selector by its position in the list given and a short tag, never by its value:
a scan report must not itself leak what it looks for.

Needles shorter than :data:`MIN_NEEDLE` bytes (8 for the alignment-shifted base64 fragments) are not
searched: they would match by chance. A selector with no searchable form is refused
(``selector_too_short``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from .errors import BundleError

__all__ = ["MIN_NEEDLE", "Finding", "Selector", "SelectorScanner", "detect_kind"]

MIN_NEEDLE = 6
MIN_B64_FRAGMENT = 8
_INDEX_THRESHOLD = 512  # above this many needles, scan with a prefix index instead of one find() per needle

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{5,}[0-9]")
_SEPARATORS = b" \t-.()/"

# Where a needle is searched: the bytes as they are, ASCII-lowercased, or lowercased with phone
# separators removed.
EXACT, FOLD, COMPACT = "exact", "fold", "compact"


@dataclass(frozen=True)
class Selector:
    """A raw selector and its kind: ``phone``, ``email`` or ``account``."""

    value: str
    kind: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value.strip():
            raise BundleError("a selector must be a non-empty string", code="selector_invalid")
        if not self.kind:
            object.__setattr__(self, "kind", detect_kind(self.value))
        if self.kind not in ("phone", "email", "account"):
            raise BundleError(f"unknown selector kind {self.kind!r}", code="selector_invalid")


def detect_kind(value: str) -> str:
    value = value.strip()
    if _EMAIL.fullmatch(value):
        return "email"
    if _PHONE.fullmatch(value) and 7 <= sum(c.isdigit() for c in value) <= 15:
        return "phone"
    return "account"


@dataclass(frozen=True)
class Finding:
    """Where a selector occurs. ``selector`` is its index in the list given; ``tag`` a short hash."""

    path: str
    selector: int
    tag: str
    kind: str
    form: str
    encoding: str
    offset: int

    def __str__(self) -> str:
        return (
            f"{self.path}: selector #{self.selector} ({self.kind}, {self.tag}) as {self.encoding} "
            f"of its {self.form} form near byte {self.offset}"
        )


@dataclass(frozen=True)
class _Needle:
    where: str
    needle: bytes
    selector: int
    form: str
    encoding: str


def _forms(sel: Selector) -> list[tuple[str, str]]:
    v = sel.value.strip()
    if sel.kind == "phone":
        digits = "".join(c for c in v if c.isdigit())
        forms = [("e164", "+" + digits), ("digits", digits), ("as-given", v)]
    elif sel.kind == "email":
        forms = [("as-given", v), ("lower", v.lower()), ("upper", v.upper())]
    else:
        compact = re.sub(r"[\s\-]", "", v)
        forms = [("as-given", v), ("compact", compact), ("lower", compact.lower()), ("upper", compact.upper())]
    seen: set[str] = set()
    out = []
    for name, text in forms:
        if text not in seen:
            seen.add(text)
            out.append((name, text))
    return out


def _b64_fragments(raw: bytes) -> Iterator[bytes]:
    """Base64 of ``raw`` at byte offsets 0, 1, 2 of an enclosing blob, keeping only the characters
    that depend on ``raw`` alone (so they occur whatever surrounds it)."""
    n = len(raw)
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw)
        start = -(-8 * k // 6)
        end = (8 * (k + n)) // 6
        if k == 0 and n % 3 == 0:
            yield enc  # exact fit: the whole encoding
            continue
        frag = enc[start:end]
        if len(frag) >= MIN_B64_FRAGMENT:
            yield frag


def _needles(index: int, sel: Selector) -> list[_Needle]:
    out: list[_Needle] = []

    def add(where: str, needle: bytes, form: str, encoding: str, minimum: int = MIN_NEEDLE) -> None:
        if len(needle) >= minimum:
            out.append(_Needle(where, needle, index, form, encoding))

    for form, text in _forms(sel):
        raw = text.encode("utf-8")
        add(FOLD, raw.lower(), form, "text")
        if sel.kind == "phone" and form in ("e164", "digits"):
            add(COMPACT, raw.lower(), form, "digits", minimum=7)
        add(FOLD, raw.hex().encode(), form, "hex")
        url = quote(text, safe="").encode()
        if url != raw:
            add(FOLD, url.lower(), form, "url")
        for frag in _b64_fragments(raw):
            add(EXACT, frag, form, "base64", MIN_B64_FRAGMENT)
            urlsafe = frag.replace(b"+", b"-").replace(b"/", b"_")
            if urlsafe != frag:
                add(EXACT, urlsafe, form, "base64url", MIN_B64_FRAGMENT)
        digest = hashlib.sha256(raw).digest()
        add(FOLD, digest.hex().encode(), form, "sha256-hex")
        add(EXACT, base64.b64encode(digest)[:43], form, "sha256-base64")
    if not any(n.encoding == "text" for n in out):
        raise BundleError(f"selector #{index} is shorter than {MIN_NEEDLE} bytes: too short to scan for",
                          code="selector_too_short")
    return out


def _tag(sel: Selector) -> str:
    return "sha256:" + hashlib.sha256(sel.value.strip().encode()).hexdigest()[:8]


class SelectorScanner:
    """Finds raw selectors in bytes. Build once per selector list, scan many files."""

    def __init__(self, selectors: Iterable[str | Selector]) -> None:
        self.selectors = tuple(s if isinstance(s, Selector) else Selector(s) for s in selectors)
        self._tags = [_tag(s) for s in self.selectors]
        self._by_where: dict[str, list[_Needle]] = {EXACT: [], FOLD: [], COMPACT: []}
        seen: set[tuple[str, bytes, int]] = set()
        for i, sel in enumerate(self.selectors):
            for n in _needles(i, sel):
                key = (n.where, n.needle, n.selector)
                if key not in seen:
                    seen.add(key)
                    self._by_where[n.where].append(n)
        self._index: dict[str, tuple[int, dict[bytes, list[_Needle]]]] = {}
        for where, needles in self._by_where.items():
            if len(needles) > _INDEX_THRESHOLD:
                k = min(len(n.needle) for n in needles)
                table: dict[bytes, list[_Needle]] = {}
                for n in needles:
                    table.setdefault(n.needle[:k], []).append(n)
                self._index[where] = (k, table)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_where.values())

    def scan(self, data: bytes, *, path: str = "") -> list[Finding]:
        """Every (selector, form, encoding) found in ``data``, each once, at its first offset."""
        if not self.selectors:
            return []
        folded = data.lower()
        hays = {EXACT: data, FOLD: folded, COMPACT: folded.replace(b"\xc2\xa0", b"").translate(None, _SEPARATORS)}
        found: dict[tuple[int, str, str], Finding] = {}
        for where, hay in hays.items():
            for needle, offset in self._matches(where, hay):
                key = (needle.selector, needle.form, needle.encoding)
                if key not in found:
                    sel = self.selectors[needle.selector]
                    found[key] = Finding(path, needle.selector, self._tags[needle.selector], sel.kind, needle.form,
                                         needle.encoding, offset)
        return sorted(found.values(), key=lambda f: (f.selector, f.offset, f.encoding, f.form))

    def _matches(self, where: str, hay: bytes) -> Iterator[tuple[_Needle, int]]:
        if where in self._index:
            k, table = self._index[where]
            for i in range(len(hay) - k + 1):
                bucket = table.get(hay[i : i + k])
                if bucket:
                    for n in bucket:
                        if hay.startswith(n.needle, i):
                            yield n, i
            return
        for n in self._by_where[where]:
            at = hay.find(n.needle)
            if at >= 0:
                yield n, at

    def scan_files(self, files: Mapping[str, bytes]) -> list[Finding]:
        out: list[Finding] = []
        for path in sorted(files):
            out.extend(self.scan(files[path], path=path))
        return out
