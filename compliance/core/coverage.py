"""What counts as sufficient, current evidence, and coverage per theme.

Definition (used by the workspace, the gap list and packets alike):

* Every control has a **freshness window** of ``freshness_days`` (90 by default).
* For a period ``[S, E]`` (a packet's period; for the live workspace ``S`` is open and ``E`` is now)
  the control's **evidence window** is ``[max(S, E - freshness), E]``.
* An evidence item **covers** the window when the time it speaks for (``[period_start,
  period_end]`` of a collected item; the evidence date of an upload or a link) overlaps it.
* A control has **sufficient current evidence** when at least one item linked to it covers its
  evidence window. A control without it is a **gap**, unless the control is marked not applicable.

Pure module: no Django import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DEFAULT_FRESHNESS_DAYS = 90
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def evidence_window(*, period_end: datetime, freshness_days: int, period_start: datetime | None = None) -> Window:
    if freshness_days < 1:
        raise ValueError("freshness_days must be at least 1")
    start = period_end - timedelta(days=freshness_days)
    if period_start is not None and period_start > start:
        start = period_start
    return Window(start, period_end)


def covers(item_start: datetime, item_end: datetime, window: Window) -> bool:
    """True when ``[item_start, item_end]`` overlaps the window (both closed)."""
    if item_end < item_start:
        item_start, item_end = item_end, item_start
    return item_start <= window.end and item_end >= window.start


@dataclass(frozen=True)
class ControlInput:
    ref: str
    theme: str
    status: str
    freshness_days: int
    evidence: Sequence[tuple[datetime, datetime]]  # (period_start, period_end) of each linked item


@dataclass(frozen=True)
class Assessment:
    ref: str
    theme: str
    applicable: bool
    sufficient: bool
    current: int  # linked items covering the window
    linked: int  # all linked items
    window: Window

    @property
    def is_gap(self) -> bool:
        return self.applicable and not self.sufficient


def assess(control: ControlInput, *, period_end: datetime, period_start: datetime | None = None) -> Assessment:
    window = evidence_window(period_end=period_end, freshness_days=control.freshness_days, period_start=period_start)
    current = sum(1 for s, e in control.evidence if covers(s, e, window))
    applicable = control.status != NOT_APPLICABLE
    return Assessment(control.ref, control.theme, applicable, current > 0, current, len(control.evidence), window)


@dataclass
class ThemeCoverage:
    code: str
    title: str
    controls: int = 0
    applicable: int = 0
    covered: int = 0
    gaps: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.covered / self.applicable if self.applicable else None

    @property
    def percent(self) -> float | None:
        r = self.ratio
        return None if r is None else round(100 * r, 1)


def percent_text(percent: float | None) -> str:
    """``12.5`` → ``"13%"`` (half up, as the pages round), ``None`` → ``"n/a"``."""
    if percent is None:
        return "n/a"
    return f"{int(percent + 0.5)}%"


def theme_coverage(assessments: Iterable[Assessment], themes: Sequence[tuple[str, str]]) -> list[ThemeCoverage]:
    """Coverage per theme, in the order of ``themes`` ((code, title) pairs)."""
    by_code = {code: ThemeCoverage(code, title) for code, title in themes}
    for a in assessments:
        t = by_code[a.theme]
        t.controls += 1
        if a.applicable:
            t.applicable += 1
            if a.sufficient:
                t.covered += 1
            else:
                t.gaps.append(a.ref)
    return list(by_code.values())


def overall(themes: Iterable[ThemeCoverage]) -> ThemeCoverage:
    total = ThemeCoverage("*", "All controls")
    for t in themes:
        total.controls += t.controls
        total.applicable += t.applicable
        total.covered += t.covered
        total.gaps.extend(t.gaps)
    return total
