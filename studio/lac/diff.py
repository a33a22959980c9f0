"""Differences between two bundles: textual (per file), structural (policies, definitions, schema,
catalogs) and semantic (decisions that change over a set of requests).

Used by the Studio's change-request diff view, the diff simulator and the drift guard. Pure: no
Django import.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from . import ast as A
from .bundle import Bundle
from .compiler import Decision
from .formatter import definition_to_lines, obligation_to_str, policy_to_lines

# --- text --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileDiff:
    name: str
    status: str  # added | removed | changed
    added: int
    removed: int
    lines: tuple[tuple[str, str], ...]  # (kind, text): kind is "+", "-", " " or "@"


def text_diff(old: Mapping[str, str], new: Mapping[str, str], *, context: int = 3) -> list[FileDiff]:
    """Unified diffs per file (only files that differ), sorted by name."""
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        status = "added" if a is None else "removed" if b is None else "changed"
        lines: list[tuple[str, str]] = []
        added = removed = 0
        for line in difflib.unified_diff((a or "").splitlines(), (b or "").splitlines(), lineterm="", n=context):
            if line.startswith(("---", "+++")):
                continue
            if line.startswith("@@"):
                lines.append(("@", line))
            elif line.startswith("+"):
                added += 1
                lines.append(("+", line[1:]))
            elif line.startswith("-"):
                removed += 1
                lines.append(("-", line[1:]))
            else:
                lines.append((" ", line[1:]))
        out.append(FileDiff(name, status, added, removed, tuple(lines)))
    return out


# --- structure ---------------------------------------------------------------------------------------------------


def _policies(b: Bundle) -> dict[str, tuple[A.Policy, str]]:
    return {p.id: (p, "\n".join(policy_to_lines(p))) for p in b.policies}


def _definitions(b: Bundle) -> dict[str, str]:
    out = {}
    for m in b.modules:
        for d in m.decls:
            if isinstance(d, A.Definition):
                out[d.name] = "\n".join(definition_to_lines(d))
    return out


def digest_of(value: Any) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def structural_diff(old: Bundle, new: Bundle) -> dict[str, Any]:
    """What differs between two bundles, by construct (ignoring formatting and comments).

    ``{"policies": {"added": [...], "removed": [...], "changed": [{"id", "tier", "domain", "fields"}]},
    "definitions": {...}, "schema": {"changed": bool, "old": digest, "new": digest, "attributes": [...]},
    "catalogs": {"<locale>": {"added": [...], "removed": [...], "changed": [...]}}, "lint": bool,
    "identical": bool}``
    """
    po, pn = _policies(old), _policies(new)
    changed = []
    for pid in sorted(set(po) & set(pn)):
        (a, ta), (b, tb) = po[pid], pn[pid]
        if ta != tb:
            fields = [f for f in ("tier", "domain", "effect", "actions", "when", "unless", "graph", "obligations", "reason",
                                  "approvers", "grant_seconds") if getattr(a, f) != getattr(b, f)]
            changed.append({"id": pid, "tier": b.tier, "domain": b.domain, "fields": fields})
    do, dn = _definitions(old), _definitions(new)
    catalogs: dict[str, dict[str, list[str]]] = {}
    for loc in sorted(set(old.catalog_data) | set(new.catalog_data)):
        co, cn = old.catalog_data.get(loc, {}), new.catalog_data.get(loc, {})
        entry = {"added": sorted(set(cn) - set(co)), "removed": sorted(set(co) - set(cn)),
                 "changed": sorted(k for k in set(co) & set(cn) if co[k] != cn[k])}
        if any(entry.values()):
            catalogs[loc] = entry
    so, sn = digest_of(old.schema_data), digest_of(new.schema_data)
    out = {
        "policies": {"added": sorted(set(pn) - set(po)), "removed": sorted(set(po) - set(pn)), "changed": changed},
        "definitions": {"added": sorted(set(dn) - set(do)), "removed": sorted(set(do) - set(dn)),
                        "changed": sorted(k for k in set(do) & set(dn) if do[k] != dn[k])},
        "schema": {"changed": so != sn, "old": so, "new": sn,
                   "attributes": _schema_changes(old.schema_data, new.schema_data) if so != sn else []},
        "catalogs": catalogs,
        "lint": dict(old.lint_config) != dict(new.lint_config),
    }
    out["identical"] = not (out["policies"]["added"] or out["policies"]["removed"] or changed or any(out["definitions"].values())
                            or out["schema"]["changed"] or catalogs or out["lint"])
    return out


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: rfc8785.dumps(value).decode()}


def _schema_changes(old: Any, new: Any) -> list[str]:
    fo, fn = _flatten(old), _flatten(new)
    return sorted(k for k in set(fo) | set(fn) if fo.get(k) != fn.get(k))[:50]


def affected_domains(structure: Mapping[str, Any], before: Bundle, after: Bundle) -> set[str] | None:
    """The domains whose decisions a change can affect, or None for "any".

    The engine indexes a policy under its own domain only (``domain *`` under every domain of its
    tier), so a change confined to policies leaves every other domain's decisions exactly as they
    were. Changes to definitions, the schema, message catalogs or lint settings can affect any
    decision: None."""
    if any(structure["definitions"].values()) or structure["schema"]["changed"] or structure["catalogs"] or structure["lint"]:
        return None
    ids = set(structure["policies"]["added"]) | set(structure["policies"]["removed"]) | {c["id"] for c in structure["policies"]["changed"]}
    policies = {p.id: p for p in before.policies} | {p.id: p for p in after.policies}
    schema = after.schema or before.schema
    domains: set[str] = set()
    for pid in ids:
        p = policies[pid]
        if p.domain == "*":
            if schema is None:
                return None
            domains |= {name for name, d in schema.domains.items() if d.tier == p.tier}
        else:
            domains.add(p.domain)
    return domains


# --- semantics ---------------------------------------------------------------------------------------------------

DENY = ("forbid", "deny")
KINDS = ("permit_to_forbid", "forbid_to_permit", "new_approval", "approval_dropped", "obligations", "reason")
KIND_LABELS = {
    "permit_to_forbid": "permit → forbid",
    "forbid_to_permit": "forbid → permit",
    "new_approval": "new approval",
    "approval_dropped": "approval dropped",
    "obligations": "obligations changed",
    "reason": "reason changed",
}


def change_kind(before: Decision, after: Decision) -> str | None:
    """How a decision changed, or None. Forbid and deny both refuse: a move between them is a reason change."""
    b, a = before.effect, after.effect
    if b == a or (b in DENY and a in DENY):
        if b == "permit" and before.obligations != after.obligations:
            return "obligations"
        if before.reason.message_id != after.reason.message_id or before.reason.text != after.reason.text:
            return "reason"
        return None
    if a == "require_approval":
        return "new_approval"
    if b == "require_approval":
        return "forbid_to_permit" if a == "permit" else "approval_dropped"
    if b == "permit":
        return "permit_to_forbid"
    return "forbid_to_permit"


@dataclass
class SemanticDiff:
    total: int = 0
    errors: int = 0
    counts: Counter = field(default_factory=Counter)
    by_source: dict[str, Counter] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    truncated: int = 0

    @property
    def changed(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict[str, Any]:
        return {"total": self.total, "changed": self.changed, "errors": self.errors,
                "kinds": {k: self.counts.get(k, 0) for k in KINDS},
                "by_source": {s: {k: c.get(k, 0) for k in KINDS} | {"total": c.get("_total", 0)}
                              for s, c in sorted(self.by_source.items())},
                "truncated": self.truncated}


def _brief(d: Decision) -> dict[str, Any]:
    return {"effect": d.effect, "reason_id": d.reason.message_id, "reason": d.reason.text,
            "policies": list(d.deciding_policy_ids), "obligations": [obligation_to_str(o) for o in d.obligations]}


def semantic_diff(
    before: Bundle,
    after: Bundle,
    items: Iterable[tuple[str, str, Mapping[str, Any], str]],
    *,
    keep: int = 5000,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 5000,
) -> SemanticDiff:
    """Decide every ``(source, key, request, locale)`` with both bundles and classify what changed.

    ``source`` groups the counts ("log", "corpus"); ``key`` identifies the case in the change table
    (a decision id, a corpus case id). At most ``keep`` changed cases are kept with their details.
    """
    eb, ea = before.require_ok(), after.require_ok()
    out = SemanticDiff()
    n = 0
    for source, key, request, locale in items:
        n += 1
        per = out.by_source.get(source)
        if per is None:
            per = out.by_source[source] = Counter()
        per["_total"] += 1
        try:
            db = eb.decide(request, locale)
            da = ea.decide(request, locale)
        except Exception:  # a malformed logged request counts as an error, never stops the run
            out.errors += 1
            continue
        kind = change_kind(db, da)
        if kind is not None:
            out.counts[kind] += 1
            per[kind] += 1
            if len(out.changes) < keep:
                req = request if isinstance(request, Mapping) else {}
                res = req.get("resource") if isinstance(req.get("resource"), Mapping) else {}
                act = req.get("action")
                out.changes.append({"source": source, "key": key, "kind": kind, "locale": locale,
                                    "action": act.get("name") if isinstance(act, Mapping) else act,
                                    "domain": res.get("domain"), "data_class": res.get("data_class"),
                                    "before": _brief(db), "after": _brief(da)})
            else:
                out.truncated += 1
        if progress is not None and n % progress_every == 0:
            progress(n)
    out.total = n
    if progress is not None:
        progress(n)
    return out


def corpus_items(cases: Sequence[Mapping[str, Any]]) -> Iterable[tuple[str, str, Mapping[str, Any], str]]:
    for c in cases:
        yield "corpus", str(c.get("id", "")), c["request"], str(c.get("locale") or "en")


__all__ = ["KINDS", "KIND_LABELS", "FileDiff", "SemanticDiff", "affected_domains", "change_kind", "corpus_items", "digest_of", "semantic_diff",
           "structural_diff", "text_diff"]
