"""Plotly figures for the on-call pages (rendered without the plotly.js bundle, which the base
template serves from the installed package)."""

from __future__ import annotations

import plotly.graph_objects as go

from trustfabric.charts import chart_html


def _html(fig: go.Figure) -> str:
    return chart_html(fig, tozero=True, margin=dict(l=40, r=10, t=30, b=40), legend=dict(orientation="h", y=-0.25))


def weekly_chart(weekly: list[dict], key: str, title: str) -> str:
    fig = go.Figure()
    for source in sorted({w["source"] for w in weekly}):
        pts = [w for w in weekly if w["source"] == source and w[key] is not None]
        if pts:
            fig.add_trace(go.Scatter(x=[p["week"] for p in pts], y=[round(p[key] / 60, 2) for p in pts], mode="lines+markers", name=source))
    fig.update_layout(title=dict(text=title, font=dict(size=13)))
    return _html(fig)


def false_alarm_chart(sources: dict) -> str:
    names = [s for s, v in sources.items() if v["false_alarm_rate"] is not None]
    fig = go.Figure(go.Bar(x=names, y=[round(100 * sources[s]["false_alarm_rate"], 1) for s in names], marker_color="#2747d4"))
    fig.update_layout(title=dict(text="False-alarm rate by source (%)", font=dict(size=13)))
    return _html(fig)


def burndown_chart(slo, report) -> str:
    points = report.burndown
    fig = go.Figure(go.Scatter(x=[p.at for p in points], y=[round(100 * p.remaining, 2) for p in points], mode="lines", fill="tozeroy",
                               line=dict(color="#2747d4"), name="budget remaining"))
    fig.add_hline(y=0, line=dict(color="#b42318", dash="dot"))
    fig.update_layout(title=dict(text=f"{slo.name}: error budget remaining (%)", font=dict(size=13)))
    return _html(fig)
