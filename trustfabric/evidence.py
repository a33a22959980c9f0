"""The evidence provider registry: how apps offer compliance evidence without compliance importing them,
and without them importing compliance (it lives here, in the shared layer).

Each app may have an ``evidence.py`` module; :class:`compliance.apps.ComplianceConfig` imports every
one at start-up (``autodiscover_modules("evidence")``), and each registers its providers::

    from trustfabric.evidence import EvidenceDraft, Provider, register

    def collect(period_start, period_end):
        return [EvidenceDraft(source_ref="...", title="...", content={...},
                              period_start=period_start, period_end=period_end)]

    register(Provider(id="myapp.thing", title="Thing reports", version="1",
                      controls={"soc2": ["CC7.2"], "iso27001": ["A.8.16"]}, collect=collect))

It holds no model and imports nothing from Django's ORM: a provider only describes itself and returns drafts; the compliance services
hash, store, time-stamp and link them.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

PROVIDER_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_SAFE_INTEGER = (1 << 53) - 1


class ProviderError(ValueError):
    """A provider definition or a draft it returned is invalid."""


@dataclass(frozen=True)
class EvidenceDraft:
    """One evidence item a provider offers for a period.

    ``source_ref`` identifies what the item is about, unique within the provider (a build's
    commit, a drill's id, or the period for an aggregate such as ``"2025-01-01..2025-01-31"``).
    ``content`` is JSON (datetimes, dates, UUIDs and decimals are turned into strings).
    ``controls`` narrows the provider's controls for this item (None: all of the provider's).
    """

    source_ref: str
    title: str
    content: Mapping[str, Any]
    period_start: datetime
    period_end: datetime
    summary: str = ""
    controls: Mapping[str, Sequence[str]] | None = None


@dataclass(frozen=True)
class Provider:
    id: str  # "<app>.<what>", e.g. "witness.checkpoints"
    title: str
    version: str
    controls: Mapping[str, Sequence[str]]  # framework key -> control refs this provider's evidence supports
    collect: Callable[[datetime, datetime], list[EvidenceDraft]]
    description: str = ""
    app: str = field(default="")

    def control_refs(self, framework_key: str) -> list[str]:
        return list(self.controls.get(framework_key, ()))


_REGISTRY: dict[str, Provider] = {}
_LOCK = threading.Lock()


def register(provider: Provider) -> Provider:
    """Add (or replace, by id) a provider. Returns it, so it can be used as a decorator's result."""
    if not isinstance(provider, Provider):
        raise ProviderError("register() takes a trustfabric.evidence.Provider")
    if not PROVIDER_ID_RE.match(provider.id) or len(provider.id) > 80:
        raise ProviderError(f"provider id {provider.id!r} must look like '<app>.<name>' (lower case, at most 80 characters)")
    if not provider.version or len(provider.version) > 20:
        raise ProviderError(f"provider {provider.id}: version must be 1 to 20 characters")
    if not provider.title or len(provider.title) > 120:
        raise ProviderError(f"provider {provider.id}: title must be 1 to 120 characters")
    if not callable(provider.collect):
        raise ProviderError(f"provider {provider.id}: collect must be callable")
    if not isinstance(provider.controls, Mapping) or not provider.controls:
        raise ProviderError(f"provider {provider.id}: controls must map framework keys to control refs")
    for key, refs in provider.controls.items():
        if not isinstance(key, str) or isinstance(refs, str) or not all(isinstance(r, str) and r for r in refs):
            raise ProviderError(f"provider {provider.id}: controls[{key!r}] must be a list of control refs")
    with _LOCK:
        _REGISTRY[provider.id] = provider
    return provider


def unregister(provider_id: str) -> None:
    with _LOCK:
        _REGISTRY.pop(provider_id, None)


def get(provider_id: str) -> Provider | None:
    return _REGISTRY.get(provider_id)


def all_providers() -> list[Provider]:
    with _LOCK:
        return sorted(_REGISTRY.values(), key=lambda p: p.id)


def jsonable(value: Any) -> Any:
    """``value`` with datetimes/dates (ISO 8601), UUIDs and decimals as strings, non-finite floats as
    None and integers beyond ±(2**53 - 1) as strings: ready for RFC 8785 canonical JSON."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value)


def period_ref(period_start: datetime, period_end: datetime) -> str:
    """A source reference for an aggregate over a period: ``<start>..<end>`` in ISO 8601."""
    return f"{period_start.isoformat()}..{period_end.isoformat()}"
