"""ZK-TX signed audit bundles (``zktx-bundle/1``): format, builder, offline verifier, selector scan.

Pure package: no Django import. Specification: ``docs/zktx-bundle.md``. Modules:

* :mod:`.format` — layout, manifest schema, digests, canonical JSON, deterministic tar.
* :mod:`.builder` — draft, seal (partners' BLS acceptance, exchange Ed25519 signature), witness
  statement body, attaching the inclusion proof.
* :mod:`.bls` — BLS12-381 proof-of-possession scheme over py_ecc.
* :mod:`.verify` — :func:`verify_bundle` and its :class:`Report`.
* :mod:`.scan` — the raw-selector scanner.
* :mod:`.errors` — exceptions, each with a stable ``code``.
"""

from .builder import (
    BundleDraft,
    attach_inclusion,
    build_bundle,
    bundle_digest,
    bundle_statement,
    draft_bundle,
    seal_bundle,
)
from .errors import (
    ArchiveError,
    BuildError,
    BundleError,
    InclusionError,
    ManifestError,
    RawSelectorError,
    UnsafeEntryError,
)
from .format import SCHEMA, STATEMENT_TYPE, Limits, PartnerKey
from .scan import Finding, Selector, SelectorScanner
from .verify import EXIT_CODES, Check, Report, verify_bundle

__all__ = [
    "EXIT_CODES",
    "SCHEMA",
    "STATEMENT_TYPE",
    "ArchiveError",
    "BuildError",
    "BundleDraft",
    "BundleError",
    "Check",
    "Finding",
    "InclusionError",
    "Limits",
    "ManifestError",
    "PartnerKey",
    "RawSelectorError",
    "Report",
    "Selector",
    "SelectorScanner",
    "UnsafeEntryError",
    "attach_inclusion",
    "build_bundle",
    "bundle_digest",
    "bundle_statement",
    "draft_bundle",
    "seal_bundle",
    "verify_bundle",
]
