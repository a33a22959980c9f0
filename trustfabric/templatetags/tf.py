from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Stroke icons drawn on a 24×24 grid (our own simple shapes).
_ICONS = {
    "shield": '<path d="M12 3l7 3v6c0 4.5-3 7.5-7 9-4-1.5-7-4.5-7-9V6z"/><path d="M9 12l2 2 4-4"/>',
    "check": '<circle cx="12" cy="12" r="9"/><path d="M8 12.5l2.5 2.5L16 9.5"/>',
    "bell": '<path d="M6 16V11a6 6 0 1 1 12 0v5l2 2H4z"/><path d="M10 20a2 2 0 0 0 4 0"/>',
    "lock": '<rect x="5" y="10" width="14" height="10" rx="2"/><path d="M8 10V7a4 4 0 0 1 8 0v3"/>',
    "folder": '<path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/>',
    "log": '<path d="M6 4h12v16H6z"/><path d="M9 8h6M9 12h6M9 16h4"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3.5 3 14.5 0 18M12 3c-3 3.5-3 14.5 0 18"/>',
    "key": '<circle cx="8" cy="15" r="4"/><path d="M11 12l8-8M16 7l2 2"/>',
    "users": '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6 6 0 0 1 3.5 6"/>',
    "megaphone": '<path d="M4 10v4h3l8 5V5L7 10z"/><path d="M18 9a4 4 0 0 1 0 6"/>',
    "list": '<path d="M8 6h12M8 12h12M8 18h12"/><circle cx="4" cy="6" r="1"/><circle cx="4" cy="12" r="1"/><circle cx="4" cy="18" r="1"/>',
    "logout": '<path d="M15 4h4v16h-4"/><path d="M10 8l-4 4 4 4M6 12h10"/>',
    "info": '<circle cx="12" cy="12" r="9"/><path d="M12 11v6M12 7.5v.5"/>',
    "alert": '<path d="M12 3l10 18H2z"/><path d="M12 10v5M12 18v.5"/>',
    "api": '<path d="M8 7l-5 5 5 5M16 7l5 5-5 5M14 4l-4 16"/>',
}


@register.simple_tag
def icon(name: str, size: int = 18) -> str:
    paths = _ICONS.get(name, _ICONS["info"])
    return format_html(
        '<svg class="icon" width="{}" height="{}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{}</svg>',
        size,
        size,
        mark_safe(paths),  # noqa: S308  (constant markup from this module)
    )


@register.simple_tag
def plotly_script() -> str:
    from django.urls import reverse

    from trustfabric.views import plotly_digest

    url = reverse("plotly-js-pinned", args=[plotly_digest()])
    # not deferred: the charts' inline scripts call Plotly as soon as they are parsed
    return format_html('<script src="{}"></script>', url)


@register.filter
def seconds_human(value) -> str:
    """28800 → '8 h', 5400 → '1 h 30 min', 90 → '1 min 30 s'."""
    try:
        s = int(value)
    except (TypeError, ValueError):
        return ""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size} {unit}")
            s %= size
    return " ".join(parts[:2]) or "0 s"


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.9912 → '99.1%' (digits after the point); empty for non-numbers."""
    try:
        return f"{100 * float(value):.{int(digits)}f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def get_item(mapping, key):
    """``{{ row|get_item:column }}``: a dict value by a variable key (None when absent)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
