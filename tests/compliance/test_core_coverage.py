"""Sufficient current evidence and coverage per theme (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from compliance.core.coverage import ControlInput, assess, covers, evidence_window, overall, theme_coverage

END = datetime(2025, 3, 31, 23, 59, tzinfo=UTC)


def item(days_ago: float, span_days: float = 0):
    end = END - timedelta(days=days_ago)
    return (end - timedelta(days=span_days), end)


def control(ref="CC1.1", theme="CC1", status="implemented", fresh=90, evidence=()):
    return ControlInput(ref=ref, theme=theme, status=status, freshness_days=fresh, evidence=list(evidence))


def test_window_is_the_freshness_window_clipped_to_the_period():
    w = evidence_window(period_end=END, freshness_days=90)
    assert w.start == END - timedelta(days=90) and w.end == END
    start = datetime(2025, 3, 1, tzinfo=UTC)
    assert evidence_window(period_end=END, freshness_days=90, period_start=start).start == start
    with pytest.raises(ValueError):
        evidence_window(period_end=END, freshness_days=0)


def test_an_item_covers_when_its_period_overlaps():
    w = evidence_window(period_end=END, freshness_days=30)
    assert covers(*item(10), w)
    assert not covers(*item(31), w)
    assert covers(*item(25, span_days=10), w)  # an aggregate reaching into the window
    assert not covers(END + timedelta(days=1), END + timedelta(days=2), w)  # after the period


def test_assessment():
    assert assess(control(evidence=[item(5)]), period_end=END).sufficient
    stale = assess(control(evidence=[item(120), item(91)]), period_end=END)
    assert not stale.sufficient and stale.is_gap and stale.current == 0 and stale.linked == 2
    assert assess(control(fresh=365, evidence=[item(120)]), period_end=END).sufficient
    na = assess(control(status="not_applicable"), period_end=END)
    assert not na.applicable and not na.is_gap
    # evidence older than the packet's first day does not count for that packet
    assert not assess(control(evidence=[item(40)]), period_end=END, period_start=END - timedelta(days=30)).sufficient


def test_theme_coverage_leaves_not_applicable_out():
    a = [assess(control("CC1.1", evidence=[item(1)]), period_end=END), assess(control("CC1.2"), period_end=END),
         assess(control("CC1.3", status="not_applicable"), period_end=END), assess(control("A1.1", theme="A1"), period_end=END)]
    themes = theme_coverage(a, [("CC1", "Control environment"), ("A1", "Availability"), ("C1", "Confidentiality")])
    cc1, a1, c1 = themes
    assert (cc1.controls, cc1.applicable, cc1.covered, cc1.percent, cc1.gaps) == (3, 2, 1, 50.0, ["CC1.2"])
    assert a1.percent == 0.0 and c1.percent is None
    total = overall(themes)
    assert (total.applicable, total.covered, total.gaps) == (3, 1, ["CC1.2", "A1.1"])


def test_percent_text_rounds_half_up_like_the_pages():
    from compliance.core.coverage import percent_text

    assert [percent_text(p) for p in (12.5, 12.4, 0.0, 100.0, None)] == ["13%", "12%", "0%", "100%", "n/a"]
