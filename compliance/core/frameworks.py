"""Framework and mapping data files (``tf-framework/1``, ``tf-mapping/1``).

A framework file names the framework (``key``, ``name``, ``version``) and lists its themes, each
with its controls (``ref`` and a short ``title`` in our own words). A mapping file pairs the
controls of two frameworks by reference. Parsing checks the shape strictly and computes a digest
over the canonical JSON of the content, so that re-loading the same content is recognised.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

FRAMEWORK_SCHEMA = "tf-framework/1"
MAPPING_SCHEMA = "tf-mapping/1"
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
REF_RE = re.compile(r"^[A-Z][A-Za-z0-9.]{0,15}$")
MAX_TITLE = 120


class FrameworkFileError(ValueError):
    """The data file is not a valid framework or mapping file; ``code`` is stable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ControlSpec:
    ref: str
    title: str


@dataclass(frozen=True)
class ThemeSpec:
    code: str
    title: str
    controls: tuple[ControlSpec, ...]


@dataclass(frozen=True)
class FrameworkSpec:
    key: str
    name: str
    version: str
    note: str
    themes: tuple[ThemeSpec, ...]
    digest: str  # "sha256:<hex>" of the canonical content

    @property
    def refs(self) -> list[str]:
        return [c.ref for t in self.themes for c in t.controls]


@dataclass(frozen=True)
class MappingSpec:
    left: str
    right: str
    note: str
    pairs: tuple[tuple[str, str], ...]  # (left ref, right ref), sorted
    digest: str


def _digest(obj: object) -> str:
    data = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _load(text: str | bytes) -> dict:
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameworkFileError("framework_file_not_json", f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise FrameworkFileError("framework_file_shape", "the file must hold a JSON object")
    return obj


def _text(value: object, what: str, limit: int = MAX_TITLE) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise FrameworkFileError("framework_file_shape", f"{what} must be a string of 1 to {limit} characters")
    return value.strip()


def parse_framework(text: str | bytes) -> FrameworkSpec:
    obj = _load(text)
    if obj.get("schema") != FRAMEWORK_SCHEMA:
        raise FrameworkFileError("framework_file_schema", f"schema must be {FRAMEWORK_SCHEMA!r}")
    unknown = set(obj) - {"schema", "key", "name", "version", "note", "themes"}
    if unknown:
        raise FrameworkFileError("framework_file_shape", f"unknown fields: {sorted(unknown)}")
    key, version = obj.get("key"), obj.get("version")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise FrameworkFileError("framework_file_key", "key must be 2-32 lower-case letters, digits, '_' or '-'")
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise FrameworkFileError("framework_file_version", "version must be 1-40 letters, digits, '.', '_' or '-'")
    name = _text(obj.get("name"), "name", 200)
    note = obj.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        raise FrameworkFileError("framework_file_shape", "note must be a string of at most 2000 characters")
    themes_raw = obj.get("themes")
    if not isinstance(themes_raw, list) or not themes_raw:
        raise FrameworkFileError("framework_file_shape", "themes must be a non-empty list")
    themes: list[ThemeSpec] = []
    seen_refs: set[str] = set()
    seen_codes: set[str] = set()
    for i, t in enumerate(themes_raw):
        if not isinstance(t, dict) or set(t) != {"code", "title", "controls"}:
            raise FrameworkFileError("framework_file_shape", f"themes[{i}] needs exactly code, title and controls")
        code = t["code"]
        if not isinstance(code, str) or not REF_RE.match(code) or code in seen_codes:
            raise FrameworkFileError("framework_file_theme", f"themes[{i}].code {code!r} is invalid or repeated")
        seen_codes.add(code)
        controls: list[ControlSpec] = []
        if not isinstance(t["controls"], list) or not t["controls"]:
            raise FrameworkFileError("framework_file_shape", f"theme {code} has no controls")
        for j, c in enumerate(t["controls"]):
            if not isinstance(c, dict) or set(c) != {"ref", "title"}:
                raise FrameworkFileError("framework_file_shape", f"theme {code} control {j} needs exactly ref and title")
            ref = c["ref"]
            if not isinstance(ref, str) or not REF_RE.match(ref) or not ref.startswith(code):
                raise FrameworkFileError("framework_file_ref", f"control ref {ref!r} is invalid or not under theme {code}")
            if ref in seen_refs:
                raise FrameworkFileError("framework_file_ref", f"control ref {ref!r} appears twice")
            seen_refs.add(ref)
            controls.append(ControlSpec(ref, _text(c["title"], f"title of {ref}")))
        themes.append(ThemeSpec(code, _text(t["title"], f"title of theme {code}"), tuple(controls)))
    content = {"key": key, "name": name, "version": version, "note": note,
               "themes": [{"code": t.code, "title": t.title, "controls": [[c.ref, c.title] for c in t.controls]} for t in themes]}
    return FrameworkSpec(key, name, version, note, tuple(themes), _digest(content))


def parse_mapping(text: str | bytes) -> MappingSpec:
    obj = _load(text)
    if obj.get("schema") != MAPPING_SCHEMA:
        raise FrameworkFileError("mapping_file_schema", f"schema must be {MAPPING_SCHEMA!r}")
    unknown = set(obj) - {"schema", "left", "right", "note", "pairs"}
    if unknown:
        raise FrameworkFileError("mapping_file_shape", f"unknown fields: {sorted(unknown)}")
    left, right = obj.get("left"), obj.get("right")
    for side in (left, right):
        if not isinstance(side, str) or not KEY_RE.match(side):
            raise FrameworkFileError("mapping_file_shape", "left and right must be framework keys")
    if left == right:
        raise FrameworkFileError("mapping_file_shape", "a mapping pairs two different frameworks")
    pairs_raw = obj.get("pairs")
    if not isinstance(pairs_raw, dict) or not pairs_raw:
        raise FrameworkFileError("mapping_file_shape", "pairs must be an object: left ref -> list of right refs")
    pairs: set[tuple[str, str]] = set()
    for a, bs in pairs_raw.items():
        if not REF_RE.match(a) or not isinstance(bs, list) or not all(isinstance(b, str) and REF_RE.match(b) for b in bs):
            raise FrameworkFileError("mapping_file_ref", f"pairs[{a!r}] must map a ref to a list of refs")
        pairs.update((a, b) for b in bs)
    note = obj.get("note", "")
    ordered = tuple(sorted(pairs))
    return MappingSpec(left, right, note if isinstance(note, str) else "", ordered,
                       _digest({"left": left, "right": right, "pairs": [list(p) for p in ordered]}))
