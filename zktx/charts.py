"""Plotly figures for the pilot console (plotly.js is served by the base template)."""

from __future__ import annotations

import plotly.graph_objects as go

from trustfabric.charts import chart_html

BLUE, GREEN, RED, AMBER = "#2747d4", "#137a4b", "#b42318", "#b54708"
PALETTE = [BLUE, GREEN, AMBER, "#7a5af8", "#0e9384", RED]
def _html(fig: go.Figure, name: str) -> str:
    return chart_html(fig, name=name, height=260, margin=dict(l=52, r=48, t=12, b=40), legend=dict(orientation="h", y=-0.3))


def latency_chart(s: dict) -> str:
    """p95 latency (submission → verdict) and error rate per time bucket."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=s["labels"], y=s["p95_ms"], name="p95 latency (ms)", mode="lines+markers",
                             line=dict(color=BLUE), connectgaps=False))
    fig.add_trace(go.Bar(x=s["labels"], y=[None if r is None else round(100 * r, 2) for r in s["error_rate"]],
                         name="error rate (%)", marker_color=RED, opacity=0.5, yaxis="y2"))
    fig.update_layout(yaxis=dict(title="ms", rangemode="tozero"),
                      yaxis2=dict(title="errors %", overlaying="y", side="right", rangemode="tozero", showgrid=False))
    return _html(fig, "latency")


def throughput_chart(s: dict) -> str:
    """Verdicts per bucket, stacked per tenant: a skewed tenant must not flatten the others."""
    fig = go.Figure()
    per_min = 60.0 / s["width_s"] if s["width_s"] else 1.0
    for i, (tenant, counts) in enumerate(s["tenants"].items()):
        fig.add_trace(go.Bar(x=s["labels"], y=[round(c * per_min, 2) for c in counts], name=tenant,
                             marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(barmode="stack", yaxis=dict(title="verdicts / min", rangemode="tozero"))
    return _html(fig, "throughput")
