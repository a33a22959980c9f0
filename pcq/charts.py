"""Plotly figures for the PCQ dashboard, rendered without the plotly.js bundle (the base template
serves it). Each figure sits in ``<div data-chart="name">``; the plot element itself gets plotly's
random id, so that a live update (an htmx out-of-band swap of the surrounding container) never sees
the old and the new plot as "the same element" — htmx would carry the old plot's classes over for the
settle phase, and plotly's layers would lose their positioning."""

from __future__ import annotations

import plotly.graph_objects as go

from trustfabric.charts import chart_html

BLUE, GREEN, RED, AMBER, GREY = "#2747d4", "#137a4b", "#b42318", "#b54708", "#667085"
KIND_COLORS = {
    "pagerank": BLUE, "betweenness": "#7a5af8", "shortest_paths": GREEN, "k_shortest_paths": "#0e9384",
    "louvain": AMBER, "components": GREY,
}
def _html(fig: go.Figure, name: str, *, daily: bool = False) -> str:
    return chart_html(fig, name=name, daily=daily)


def _day(value) -> str:
    return value.strftime("%b %d") if hasattr(value, "strftime") else str(value)


def coverage_chart(history: list[dict], target: float) -> str:
    """Per day: sampled % of jobs (left axis, with the target) and verified % of sampled jobs (right axis)."""
    fig = go.Figure()
    days = [_day(h["day"]) for h in history]
    fig.add_trace(go.Bar(x=days, y=[round(100 * h["rate"], 2) for h in history], name="sampled %", marker_color=BLUE))
    fig.add_trace(go.Scatter(x=days, y=[round(100 * h["verified"] / h["sampled"], 1) if h["sampled"] else None for h in history],
                             name="verified % of sampled", mode="lines+markers", line=dict(color=GREEN), yaxis="y2"))
    fig.add_hline(y=100 * target, line=dict(color=GREEN, dash="dot"), annotation_text=f"target {100 * target:g}%")
    fig.update_layout(yaxis=dict(title="sampled %", rangemode="tozero"),
                      yaxis2=dict(title="verified %", overlaying="y", side="right", range=[0, 105], showgrid=False))
    return _html(fig, "coverage", daily=True)


def failures_chart(rows: list[dict]) -> str:
    """Failed and error replays per day, stacked by job kind."""
    fig = go.Figure()
    days = sorted({r["day"] for r in rows})
    for kind in sorted({r["kind"] for r in rows}):
        counts = dict.fromkeys(days, 0)
        for r in rows:
            if r["kind"] == kind:
                counts[r["day"]] += r["n"]
        fig.add_trace(go.Bar(x=[_day(d) for d in days], y=[counts[d] for d in days], name=kind, marker_color=KIND_COLORS.get(kind, GREY)))
    fig.update_layout(barmode="stack", yaxis=dict(title="failed / error", rangemode="tozero"))
    return _html(fig, "failures", daily=True)


def lag_chart(rows: list[dict]) -> str:
    """Queue lag (submission → replay start) per day: mean and worst."""
    fig = go.Figure()
    days = [_day(r["day"]) for r in rows]
    fig.add_trace(go.Bar(x=days, y=[round(r["mean"], 2) for r in rows], name="mean (s)", marker_color=BLUE))
    fig.add_trace(go.Scatter(x=days, y=[round(r["worst"], 2) for r in rows], name="worst (s)", mode="lines+markers",
                             line=dict(color=AMBER)))
    fig.update_layout(yaxis=dict(title="seconds", rangemode="tozero"))
    return _html(fig, "lag", daily=True)


def backoff_chart(history: dict) -> str:
    """The sampler's AIMD rate multiplier over time (1 = full rate), with backoff events marked."""
    events = history["events"]
    fig = go.Figure()
    xs, ys = [], []
    for e in events:
        xs += [e.at, e.at]
        ys += [e.multiplier_before, e.multiplier_after]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="rate multiplier", line=dict(color=BLUE, shape="hv")))
    backs = [e for e in events if e.kind == "backoff"]
    fig.add_trace(go.Scatter(x=[e.at for e in backs], y=[e.multiplier_after for e in backs], mode="markers", name="backoff",
                             marker=dict(color=RED, size=8, symbol="triangle-down")))
    fig.update_layout(yaxis=dict(title="multiplier", range=[0, 1.05]))
    return _html(fig, "backoff")


def canary_chart(history: dict) -> str:
    """Severity of recent canary verdicts by job kind, with the ticket and page thresholds."""
    fig = go.Figure()
    points = history["points"]
    for kind in sorted({p["kind"] for p in points}):
        pts = [p for p in points if p["kind"] == kind]
        fig.add_trace(go.Scatter(
            x=[p["started_at"] for p in pts], y=[round(p["severity"], 4) for p in pts], mode="markers", name=kind,
            marker=dict(color=KIND_COLORS.get(kind, GREY), size=9, line=dict(width=1, color="white")),
            text=[f"{p['canary_version']} · {p['verdict']} · {p['level']}" for p in pts],
            hovertemplate="%{x}<br>severity %{y}<br>%{text}<extra></extra>",
        ))
    fig.add_hline(y=history["page_at"], line=dict(color=RED, dash="dot"), annotation_text="page")
    fig.add_hline(y=history["ticket_at"], line=dict(color=AMBER, dash="dot"), annotation_text="ticket")
    top = max([history["page_at"] * 1.2] + [p["severity"] * 1.1 for p in points])
    fig.update_layout(yaxis=dict(title="severity", range=[0, top]))
    fig.add_annotation(text=f"{len(points)} verdict{'s' if len(points) != 1 else ''}" if points else
                       "no canary verdicts yet — they appear here live", xref="paper", yref="paper", x=0, y=1.06,
                       showarrow=False, xanchor="left", font=dict(size=11, color=GREY))
    return _html(fig, "canary")


def bands_chart(bands: list) -> str:
    """The learned noise band per canary field (log scale; 0 means the prod copies always agreed)."""
    fields = [b.field for b in bands]
    fig = go.Figure(go.Bar(
        x=fields, y=[b.band if b.band > 0 else None for b in bands], marker_color=AMBER, name="noise band",
        text=[f"{b.observations} obs · {b.noisy} noisy" for b in bands], hovertemplate="%{x}<br>band %{y:.3g}<br>%{text}<extra></extra>",
    ))
    fig.update_layout(yaxis=dict(title="band (abs)", type="log"), showlegend=False)
    zero = [b.field for b in bands if b.band <= 0]
    if zero:
        fig.add_annotation(text=f"band 0 (prod copies agreed bit for bit): {', '.join(zero)}", xref="paper", yref="paper",
                           x=0, y=1.06, xanchor="left", showarrow=False, font=dict(size=11, color=GREY))
    return _html(fig, "bands")
