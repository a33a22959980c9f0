"""Exceptions of the audit-bundle core, each with a stable machine-readable ``code``.

The codes are part of the public contract (documented in ``docs/zktx-bundle.md``): services map
them to 4xx responses and the verifier reports them. They never change once released; messages may.

Every class derives from :class:`BundleError`, which derives from :class:`ValueError`. A raise site
may give a more specific code than the class default (``BundleError("...", code="file_missing")``).
"""

from __future__ import annotations


class BundleError(ValueError):
    """Base class of every error raised by :mod:`zktx.bundle`."""

    code: str = "bundle_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ArchiveError(BundleError):
    """The bytes are not a readable gzip-compressed tar archive, or exceed a size limit."""

    code = "archive_malformed"


class UnsafeEntryError(BundleError):
    """A tar member is unsafe or not allowed: path tricks, links, devices, duplicates, sizes."""

    code = "tar_unsafe_path"


class ManifestError(BundleError):
    """``manifest.json`` (or another bundle JSON document) is missing, not canonical or malformed."""

    code = "manifest_invalid"


class BuildError(BundleError):
    """The builder refused its input (bad path, bad meta, bad acceptance, bad inclusion proof)."""

    code = "build_invalid"


class RawSelectorError(BuildError):
    """The builder found a raw selector in the bundle content; ``findings`` say where (not what)."""

    code = "raw_selector_found"

    def __init__(self, message: str, findings: tuple = ()) -> None:
        super().__init__(message)
        self.findings = findings


class InclusionError(BundleError):
    """A witness inclusion proof is malformed or does not verify."""

    code = "witness_inclusion_invalid"
