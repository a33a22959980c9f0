"""Plotly figures for the compliance pages (rendered without the plotly.js bundle, which the page
loads with ``{% plotly_script %}``)."""

from __future__ import annotations

import plotly.graph_objects as go

from compliance.core.coverage import ThemeCoverage, percent_text
from trustfabric.charts import chart_html


def _color(pct: float | None) -> str:
    if pct is None:
        return "#cfd4dc"
    return "#137a4b" if pct >= 80 else "#9a6200" if pct >= 40 else "#b42318"


def coverage_chart(themes: list[ThemeCoverage], *, title: str) -> str:
    """Coverage per theme as horizontal bars (percent of applicable controls with current evidence)."""
    labels = [f"{t.code} {t.title}" for t in themes][::-1]
    values = [t.percent or 0 for t in themes][::-1]
    text = [("n/a" if t.percent is None else f"{percent_text(t.percent)}  ({t.covered}/{t.applicable})") for t in themes][::-1]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", text=text, textposition="outside", cliponaxis=False,
                           marker_color=[_color(t.percent) for t in themes][::-1],
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    return chart_html(fig, title=dict(text=title, font=dict(size=13)), height=max(220, 34 * len(themes) + 90),
                      margin=dict(l=10, r=40, t=40, b=30), bargap=0.35, showlegend=False,
                      xaxis=dict(range=[0, 118], ticksuffix="%", tickvals=[0, 25, 50, 75, 100]),
                      yaxis=dict(automargin=True))
