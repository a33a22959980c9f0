"""The Policy Studio coverage map: the static coverage of the bundle deployed in an environment
(:mod:`studio.lac.coverage`), the environment's mode per domain, and what the decision log says about
every (domain, action, data class) cell.

A read: nothing is written.  Goal: every Tier-1 and Tier-2 cell covered and enforced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q

from studio import services
from studio.lac.coverage import DEFAULT_DENY_REASON, CellCoverage
from studio.lac.coverage import coverage_map as static_coverage
from studio.models import DecisionRecord, Environment

EFFECTS = ("permit", "require_approval", "forbid", "deny")
GOAL_TIERS = (1, 2)
ENFORCE = "enforce"

STATE_LABELS = {
    "enforced": "Covered and enforced",
    "monitor": "Covered, monitor mode",
    "uncovered": "Not covered",
    "deny_hits": "Default-deny hits",
    "na": "No dataset of this class",
}

COVERED_DEFINITION = (
    "A cell (domain × operation × data class) is covered when at least one policy written for that domain "
    "reaches it: its header names the operation (or any) and its conditions do not rule the data class out. "
    "Tier-wide rules (domain *) reach every cell of their tier and do not count."
)


def _decision_counts(environment_name: str, since: datetime | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Decisions per cell and effect, default-deny hits and the last of them: one aggregated query."""
    qs = DecisionRecord.objects.filter(environment=environment_name)
    if since is not None:
        qs = qs.filter(at__gte=since)
    no_policy = Q(reason_id=DEFAULT_DENY_REASON)
    rows = (
        qs.order_by()  # no default ordering: it would join the GROUP BY
        .values("domain", "action", "data_class", "effect")
        .annotate(n=Count("pk"), default_deny=Count("pk", filter=no_policy), last_default_deny=Max("at", filter=no_policy))
    )
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["domain"], row["action"], row["data_class"])
        agg = out.setdefault(key, {"counts": dict.fromkeys(EFFECTS, 0), "decisions": 0, "default_deny": 0,
                                   "last_default_deny": None})
        agg["counts"][row["effect"]] = agg["counts"].get(row["effect"], 0) + row["n"]
        agg["decisions"] += row["n"]
        agg["default_deny"] += row["default_deny"]
        last = row["last_default_deny"]
        if last is not None and (agg["last_default_deny"] is None or last > agg["last_default_deny"]):
            agg["last_default_deny"] = last
    return out


def _state(cell: CellCoverage, enforced: bool, default_deny: int) -> str:
    if not cell.in_schema and not default_deny:
        return "na"
    if cell.in_schema and not cell.covered:
        return "uncovered"
    if default_deny:
        return "deny_hits"
    return "enforced" if enforced else "monitor"


def _percent(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def coverage_map(environment_name: str, *, since: datetime | None = None) -> dict[str, Any]:
    """The coverage map of an environment: every cell with its policies, mode and decision counts since
    ``since`` (all logged decisions when None), the gaps, and per tier the share of cells covered and
    enforced.  Raises ``LacError`` (404) for an unknown environment."""
    env = services.environment(environment_name)
    bundle = services.compiled(env.bundle)
    cmap = static_coverage(bundle)
    logged = _decision_counts(env.name, since)
    empty = {"counts": dict.fromkeys(EFFECTS, 0), "decisions": 0, "default_deny": 0, "last_default_deny": None}

    tiers: dict[int, dict[str, Any]] = {}
    gaps: list[dict[str, Any]] = []
    matched = 0
    for dname, tier in cmap.domains:
        dom = bundle.schema.domains[dname]
        mode = env.mode_for(dname)
        enforced = mode == ENFORCE
        t = tiers.setdefault(tier, {"tier": tier, "domains": [], "cells": 0, "covered": 0, "enforced": 0,
                                    "covered_enforced": 0, "uncovered": 0, "decisions": 0, "default_deny": 0,
                                    "monitor_domains": []})
        if not enforced:
            t["monitor_domains"].append(dname)
        row = {"name": dname, "tier": tier, "description": dom.description, "mode": mode, "enforced": enforced,
               "datasets": [{"name": ds.name, "data_class": ds.data_class} for ds in dom.datasets.values()],
               "cells": []}
        for action in cmap.actions:
            for dc in cmap.data_classes:
                cell = cmap.cell(dname, action, dc)
                seen = logged.get(cell.key, empty)
                matched += seen["decisions"]
                state = _state(cell, enforced, seen["default_deny"])
                c = {**cell.to_dict(), "mode": mode, "enforced": enforced, "counts": dict(seen["counts"]),
                     "decisions": seen["decisions"], "default_deny": seen["default_deny"],
                     "last_default_deny": seen["last_default_deny"], "state": state, "state_label": STATE_LABELS[state],
                     "anchor": f"cell-{dname.replace('.', '-')}-{action}-{dc}"}
                row["cells"].append(c)
                t["decisions"] += seen["decisions"]
                t["default_deny"] += seen["default_deny"]
                if cell.in_schema:
                    t["cells"] += 1
                    t["covered"] += cell.covered
                    t["enforced"] += enforced
                    t["covered_enforced"] += cell.covered and enforced
                    t["uncovered"] += not cell.covered
                if state in ("uncovered", "deny_hits"):
                    gaps.append(c)
        t["domains"].append(row)

    for t in tiers.values():
        t["percent"] = _percent(t["covered_enforced"], t["cells"])
        t["covered_percent"] = _percent(t["covered"], t["cells"])
        t["enforced_percent"] = _percent(t["enforced"], t["cells"])
        t["goal"] = t["tier"] in GOAL_TIERS
        t["goal_met"] = t["cells"] > 0 and t["covered_enforced"] == t["cells"]
    total = sum(v["decisions"] for v in logged.values())
    order = {a: i for i, a in enumerate(cmap.actions)}
    gaps.sort(key=lambda c: (c["state"] != "uncovered", c["tier"], c["domain"], order[c["action"]], c["data_class"]))
    return {
        "environment": env.name,
        "environments": list(Environment.Name.values),
        "bundle": {"version": env.bundle.version, "digest": env.bundle.digest, "deployed_at": env.deployed_at},
        "since": since,
        "actions": list(cmap.actions),
        "data_classes": list(cmap.data_classes),
        "columns": [{"action": a, "data_class": dc} for a in cmap.actions for dc in cmap.data_classes],
        "tiers": [tiers[k] for k in sorted(tiers)],
        "gaps": gaps,
        "totals": {"decisions": total, "default_deny": sum(v["default_deny"] for v in logged.values()),
                   "outside_schema": total - matched},
        "goal_met": all(t["goal_met"] for t in tiers.values() if t["goal"]),
        "definition": COVERED_DEFINITION,
    }
