"""The evidence-provider registry, seen from the compliance app.

The registry itself lives in :mod:`trustfabric.evidence` (the shared, leftmost layer), so that each
pillar's ``evidence.py`` registers its providers without importing ``compliance``: no app imports
one to its right (DESIGN.md). This module re-exports it for the compliance services.
"""

from trustfabric.evidence import (
    MAX_SAFE_INTEGER,
    PROVIDER_ID_RE,
    EvidenceDraft,
    Provider,
    ProviderError,
    all_providers,
    get,
    jsonable,
    period_ref,
    register,
    unregister,
)

__all__ = ["MAX_SAFE_INTEGER", "PROVIDER_ID_RE", "EvidenceDraft", "Provider", "ProviderError", "all_providers", "get",
           "jsonable", "period_ref", "register", "unregister"]
