"""How every page renders a plotly figure: the house layout, no mode bar, responsive, and no plotly.js
in the fragment (the base template serves the bundle from the installed package, never a CDN)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

GRID = "#eef0f3"
LAYOUT: dict[str, Any] = dict(height=280, margin=dict(l=48, r=40, t=16, b=40), paper_bgcolor="white",
                              plot_bgcolor="white", legend=dict(orientation="h", y=-0.28),
                              font=dict(family="DejaVu Sans, sans-serif", size=12))
CONFIG = {"displayModeBar": False, "responsive": True}


def chart_html(fig: go.Figure, *, name: str | None = None, daily: bool = False, tozero: bool = False,
               **layout: Any) -> str:
    """The figure as an HTML fragment. ``layout`` overrides the house layout; ``name`` wraps it in
    ``<div class="chart" data-chart=name>`` (live updates swap that container); ``daily`` makes the
    x axis one category per day; ``tozero`` starts the y axis at zero."""
    fig.update_layout(**(LAYOUT | layout))
    fig.update_xaxes(gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID, **({"rangemode": "tozero"} if tozero else {}))
    if daily:
        fig.update_xaxes(type="category")
    body = fig.to_html(include_plotlyjs=False, full_html=False, config=CONFIG)
    return f'<div class="chart" data-chart="{name}">{body}</div>' if name else body
