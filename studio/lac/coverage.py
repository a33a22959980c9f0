"""Static policy coverage: for every (domain, action, data class) cell of the schema, which policies of a
compiled bundle can apply, whether a permit path exists, and whether the cell is *covered*.

A **cell** is one combination of a schema domain, an action and a data class -- the key of the engine's
index, so exactly the policies :meth:`Engine.decide` evaluates for a request with that action, domain and
data class.  A policy reaches a cell when its header names the action (or ``any``), its domain is the
cell's domain (or ``*`` for the cell's tier) and its ``when`` does not rule the data class out (the
same static analysis the compiler's index uses).

A cell is **covered** when *at least one policy written for the cell's own domain* (not ``domain *``)
reaches it.  Tier-wide policies (``domain *``: residency, cross-tenant, MFA, small cells, the tier-2
audit permit) reach every cell of their tier, so counting them would call every cell covered; they are
reported separately (``tier_policy_ids``) and do not cover a cell.  An uncovered cell is one where the
pack says nothing about that operation on that class of the domain's data: every request the tier-wide
rules let through ends in the default deny (``lac.deny.no_policy``).

A cell is **in the schema** when some dataset of the domain holds data of its class; only those cells
count towards the coverage figures (a request naming another class is still decided, and shown).

Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .bundle import Bundle
from .compiler import CompiledPolicy
from .formatter import obligation_to_str
from .schema import Schema

DEFAULT_DENY_REASON = "lac.deny.no_policy"  # the engine's reason when no policy applies

Key = tuple[str, str, str]  # (domain, action, data class)


@dataclass(frozen=True)
class CellCoverage:
    domain: str
    tier: int
    action: str
    data_class: str
    in_schema: bool  # some dataset of the domain holds data of this class
    datasets: tuple[str, ...]  # those datasets
    personal: bool  # the class may hold personal data (every class but the schema's least sensitive)
    domain_policy_ids: tuple[str, ...]  # policies of the cell's own domain that reach it
    tier_policy_ids: tuple[str, ...]  # tier-wide policies (domain *) that reach it
    forbid_ids: tuple[str, ...]
    approval_ids: tuple[str, ...]
    permit_ids: tuple[str, ...]
    obligations: tuple[str, ...]  # obligations of the permit path (union, as written)
    unminimized_ids: tuple[str, ...]  # on personal data: permit-path policies without any obligation

    @property
    def key(self) -> Key:
        return (self.domain, self.action, self.data_class)

    @property
    def covered(self) -> bool:
        """At least one policy written for this domain reaches the cell (see the module docstring)."""
        return bool(self.domain_policy_ids)

    @property
    def permit_path(self) -> bool:
        """Some permit or require_approval reaches the cell: a request can be allowed here."""
        return bool(self.permit_ids or self.approval_ids)

    @property
    def policy_ids(self) -> tuple[str, ...]:
        return self.forbid_ids + self.approval_ids + self.permit_ids

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain, "tier": self.tier, "action": self.action, "data_class": self.data_class,
            "in_schema": self.in_schema, "datasets": list(self.datasets), "personal": self.personal,
            "covered": self.covered, "permit_path": self.permit_path,
            "policy_ids": list(self.policy_ids), "domain_policy_ids": list(self.domain_policy_ids),
            "tier_policy_ids": list(self.tier_policy_ids), "forbid_ids": list(self.forbid_ids),
            "approval_ids": list(self.approval_ids), "permit_ids": list(self.permit_ids),
            "obligations": list(self.obligations), "unminimized_ids": list(self.unminimized_ids),
        }


@dataclass(frozen=True)
class TierSummary:
    tier: int
    cells: int  # cells in the schema
    covered: int
    permit_path: int
    uncovered: tuple[Key, ...]

    @property
    def percent(self) -> float | None:
        return None if not self.cells else 100.0 * self.covered / self.cells

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "cells": self.cells, "covered": self.covered, "permit_path": self.permit_path,
                "percent": self.percent, "uncovered": [list(k) for k in self.uncovered]}


@dataclass(frozen=True)
class CoverageMap:
    actions: tuple[str, ...]
    data_classes: tuple[str, ...]
    domains: tuple[tuple[str, int], ...]  # (name, tier), by tier then name
    cells: dict[Key, CellCoverage] = field(repr=False)

    def cell(self, domain: str, action: str, data_class: str) -> CellCoverage:
        return self.cells[(domain, action, data_class)]

    def in_schema(self) -> list[CellCoverage]:
        return [c for c in self.cells.values() if c.in_schema]

    def uncovered(self, tier: int | None = None) -> list[CellCoverage]:
        return [c for c in self.in_schema() if not c.covered and (tier is None or c.tier == tier)]

    def tiers(self) -> dict[int, TierSummary]:
        out = {}
        for tier in sorted({t for _, t in self.domains}):
            cells = [c for c in self.in_schema() if c.tier == tier]
            out[tier] = TierSummary(tier, len(cells), sum(c.covered for c in cells), sum(c.permit_path for c in cells),
                                    tuple(c.key for c in cells if not c.covered))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": list(self.actions), "data_classes": list(self.data_classes),
            "domains": [{"name": n, "tier": t} for n, t in self.domains],
            "cells": [c.to_dict() for c in self.cells.values()],
            "tiers": {str(t): s.to_dict() for t, s in self.tiers().items()},
        }


def _ids(cps: Iterable[CompiledPolicy]) -> tuple[str, ...]:
    return tuple(cp.id for cp in cps)


def coverage_map(bundle: Bundle, schema: Schema | None = None) -> CoverageMap:
    """The coverage of every cell of ``schema`` (default: the bundle's own) by the bundle's policies.

    Cells the bundle's index does not know (a schema with more domains, actions or classes than the one
    the bundle was compiled against) are reached by no policy.  Raises :class:`BundleError` for a bundle
    that does not compile."""
    engine = bundle.require_ok()
    schema = schema or engine.schema
    last_class = schema.data_classes[-1] if schema.data_classes else None
    domains = tuple(sorted(((n, d.tier) for n, d in schema.domains.items()), key=lambda x: (x[1], x[0])))
    cells: dict[Key, CellCoverage] = {}
    empty: tuple = ((), (), ())
    for dname, tier in domains:
        dom = schema.domains[dname]
        for action in schema.actions:
            for dc in schema.data_classes:
                forbids, approvals, permits = engine.index.get((action, dname, dc), empty)
                reach = sorted((*forbids, *approvals, *permits), key=CompiledPolicy.sort_key)
                datasets = tuple(sorted(ds.name for ds in dom.datasets.values() if ds.data_class == dc))
                personal = dc != last_class
                path = (*approvals, *permits)
                obligations: list[str] = []
                for cp in path:
                    for o in cp.obligations:
                        s = obligation_to_str(o)
                        if s not in obligations:
                            obligations.append(s)
                cells[(dname, action, dc)] = CellCoverage(
                    domain=dname, tier=tier, action=action, data_class=dc, in_schema=bool(datasets),
                    datasets=datasets, personal=personal,
                    domain_policy_ids=tuple(cp.id for cp in reach if cp.domain == dname),
                    tier_policy_ids=tuple(cp.id for cp in reach if cp.domain == "*"),
                    forbid_ids=_ids(forbids), approval_ids=_ids(approvals), permit_ids=_ids(permits),
                    obligations=tuple(obligations),
                    unminimized_ids=tuple(cp.id for cp in path if personal and not cp.obligations),
                )
    return CoverageMap(tuple(schema.actions), tuple(schema.data_classes), domains, cells)


__all__ = ["DEFAULT_DENY_REASON", "CellCoverage", "CoverageMap", "TierSummary", "coverage_map"]
