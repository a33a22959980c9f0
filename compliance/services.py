"""Compliance evidence workspace: frameworks and controls, evidence collected through providers,
uploads and runbook links, gaps with owners and due dates, and signed packets.

Business actions of this app live here (one transaction each, audited through
:func:`accounts.services.audit_record`); views, tasks and the ``compliance`` command call them.
Evidence from other apps arrives only through :mod:`trustfabric.evidence` (no pillar is imported).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.services import audit_record
from compliance.core import coverage as cov
from compliance.core.frameworks import (
    FrameworkFileError,
    FrameworkSpec,
    MappingSpec,
    parse_framework,
    parse_mapping,
)
from compliance.core.uploads import MAX_UPLOAD_BYTES, SNIFF_BYTES, UploadRejected, check_upload
from compliance.models import (
    GAP_OPEN_STATES,
    Control,
    ControlMapping,
    Evidence,
    EvidenceLink,
    Framework,
    Gap,
    OwnerNotice,
    Packet,
    Theme,
)
from trustfabric import evidence as registry
from trustfabric.errors import Conflict, Forbidden, NotFound, ServiceError
from witness.tlog.canonical import canonical_bytes

log = logging.getLogger(__name__)
User = get_user_model()

DATA_DIR = Path(__file__).resolve().parent / "data"
PACKET_VERSION = "0.9"
PACKET_VERSION_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){0,3}$")
MAX_PACKET_DAYS = 3 * 366
GAP_DUE_DAYS = 30
EVIDENCE_SCHEMA = "tf-evidence/1"
SIGNING_SERVICE = "compliance"  # the witness service key that signs packets and their log statements


class ComplianceError(ServiceError):
    pass


def _now(now: datetime | None = None) -> datetime:
    return now or timezone.now()


def _check_edit(actor: Any) -> None:
    """People need compliance.edit; system actors (strings: tasks, commands) may act."""
    if getattr(actor, "is_authenticated", False):
        from accounts.permissions import principal
        from accounts.roles import Cap

        if not principal(actor).can(Cap.COMPLIANCE_EDIT):
            raise Forbidden("Only compliance staff change the evidence workspace.", code="compliance_forbidden")


def storage_dir(*parts: str) -> Path:
    path = Path(settings.VAR_DIR) / "compliance"
    for p in parts:
        path = path / p
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    return path


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def day_end(d: date) -> datetime:
    return datetime.combine(d, time.max, tzinfo=UTC)


# --- frameworks --------------------------------------------------------------------------------------------------------


def bundled_files() -> tuple[list[Path], list[Path]]:
    return sorted((DATA_DIR / "frameworks").glob("*.json")), sorted((DATA_DIR / "mappings").glob("*.json"))


def frameworks_load(*, actor: Any, framework_files: list[Path] | None = None, mapping_files: list[Path] | None = None) -> list[dict]:
    """Load framework versions and mappings from data files (default: the ones shipped in
    ``compliance/data``). Idempotent: a version already loaded with the same content is left alone;
    the same version with other content is refused (versions are immutable: bump the version)."""
    _check_edit(actor)
    if framework_files is None and mapping_files is None:
        framework_files, mapping_files = bundled_files()
    report: list[dict] = []
    for path in framework_files or []:
        try:
            spec = parse_framework(Path(path).read_bytes())
        except FrameworkFileError as exc:
            raise ComplianceError(exc.code, f"{Path(path).name}: {exc}") from exc
        except OSError as exc:
            raise ComplianceError("framework_file_unreadable", f"{path}: {exc}") from exc
        fw, created = framework_load_spec(actor=actor, spec=spec)
        report.append({"file": Path(path).name, "kind": "framework", "key": fw.key, "version": fw.version,
                       "created": created, "controls": fw.controls.count()})
    for path in mapping_files or []:
        try:
            mspec = parse_mapping(Path(path).read_bytes())
        except FrameworkFileError as exc:
            raise ComplianceError(exc.code, f"{Path(path).name}: {exc}") from exc
        report.append({"file": Path(path).name, "kind": "mapping", **mapping_load_spec(actor=actor, spec=mspec)})
    return report


def framework_load_spec(*, actor: Any, spec: FrameworkSpec, now: datetime | None = None) -> tuple[Framework, bool]:
    now = _now(now)
    with transaction.atomic():
        existing = Framework.objects.filter(key=spec.key, version=spec.version).first()
        if existing is not None:
            if existing.source_digest != spec.digest:
                raise Conflict("framework_version_changed",
                               f"{spec.key} {spec.version} is already loaded with other content; give the new content a new version.")
            return existing, False
        previous = Framework.objects.select_for_update().filter(key=spec.key, is_current=True).first()
        carried: dict[str, Control] = {}
        if previous is not None:
            carried = {c.ref: c for c in previous.controls.all()}
            previous.is_current = False
            previous.save(update_fields=["is_current"])
        fw = Framework.objects.create(key=spec.key, name=spec.name, version=spec.version, note=spec.note,
                                      source_digest=spec.digest, is_current=True, loaded_at=now,
                                      loaded_by=actor if getattr(actor, "pk", None) else None)
        order = 0
        rows = []
        for ti, t in enumerate(spec.themes):
            theme = Theme.objects.create(framework=fw, code=t.code, title=t.title, order=ti)
            for c in t.controls:
                old = carried.get(c.ref)
                rows.append(Control(framework=fw, theme=theme, ref=c.ref, title=c.title, order=order,
                                    owner_id=old.owner_id if old else None,
                                    status=old.status if old else Control.Status.NOT_STARTED,
                                    freshness_days=old.freshness_days if old else cov.DEFAULT_FRESHNESS_DAYS))
                order += 1
        Control.objects.bulk_create(rows)
        audit_record(actor=actor, action="compliance.framework.load", obj=fw,
                     details={"key": fw.key, "version": fw.version, "digest": spec.digest, "controls": len(rows),
                              "replaces": previous.version if previous else None})
    return fw, True


def mapping_load_spec(*, actor: Any, spec: MappingSpec) -> dict:
    """Pair the controls of the current versions of both frameworks (idempotent)."""
    left = Framework.objects.filter(key=spec.left, is_current=True).first()
    right = Framework.objects.filter(key=spec.right, is_current=True).first()
    if left is None or right is None:
        return {"left": spec.left, "right": spec.right, "pairs": 0, "created": 0,
                "skipped": "load both frameworks before their mapping"}
    lrefs = dict(left.controls.values_list("ref", "pk"))
    rrefs = dict(right.controls.values_list("ref", "pk"))
    unknown = sorted({a for a, _ in spec.pairs if a not in lrefs} | {b for _, b in spec.pairs if b not in rrefs})
    rows = [ControlMapping(left_id=lrefs[a], right_id=rrefs[b]) for a, b in spec.pairs if a in lrefs and b in rrefs]
    with transaction.atomic():
        before = ControlMapping.objects.filter(left__framework=left, right__framework=right).count()
        ControlMapping.objects.bulk_create(rows, ignore_conflicts=True)
        after = ControlMapping.objects.filter(left__framework=left, right__framework=right).count()
        if after != before:
            audit_record(actor=actor, action="compliance.mapping.load", object_type="compliance.mapping",
                         object_id=f"{left.key}:{left.version}~{right.key}:{right.version}",
                         details={"digest": spec.digest, "pairs": after, "unknown_refs": unknown[:50]})
    return {"left": f"{left.key} {left.version}", "right": f"{right.key} {right.version}", "pairs": after,
            "created": after - before, "unknown_refs": unknown}


def current_frameworks() -> list[Framework]:
    return list(Framework.objects.filter(is_current=True).order_by("key"))


def mapped_controls(control: Control) -> list[Control]:
    """The controls of other frameworks mapped to this one (both directions)."""
    ids = set(ControlMapping.objects.filter(left=control).values_list("right_id", flat=True))
    ids |= set(ControlMapping.objects.filter(right=control).values_list("left_id", flat=True))
    return list(Control.objects.filter(pk__in=ids).select_related("framework").order_by("framework__key", "order"))


# --- controls ------------------------------------------------------------------------------------------------------


def _operator_user(user_id: Any) -> Any:
    from accounts.permissions import principal

    user = User.objects.filter(pk=int(user_id), is_active=True).first() if str(user_id).isdigit() else None
    if user is None or not principal(user).is_operator:
        raise ComplianceError("owner_invalid", "Owners are active people of the operator organization.")
    if principal(user).roles == {"auditor"}:
        raise ComplianceError("owner_is_auditor", "Auditors review the controls; they cannot own them.")
    return user


def control_update(*, actor: Any, control: Control, owner_id: Any = ..., status: str | None = None,
                   freshness_days: int | None = None, request: Any = None) -> Control:
    _check_edit(actor)
    changes: dict[str, Any] = {}
    with transaction.atomic():
        control = Control.objects.select_for_update().get(pk=control.pk)
        if owner_id is not ...:
            owner = _operator_user(owner_id) if owner_id not in (None, "") else None
            if (owner.pk if owner else None) != control.owner_id:
                changes["owner"] = owner.get_username() if owner else None
                old_owner = control.owner_id
                control.owner = owner
                Gap.objects.filter(control=control, status__in=GAP_OPEN_STATES).filter(
                    Q(owner_id=old_owner) | Q(owner__isnull=True)).update(owner=owner)
        if status is not None and status != control.status:
            if status not in Control.Status.values:
                raise ComplianceError("control_status_invalid", f"status must be one of {Control.Status.values}.")
            changes["status"] = status
            control.status = status
        if freshness_days is not None and freshness_days != control.freshness_days:
            if not 1 <= int(freshness_days) <= 730:
                raise ComplianceError("control_freshness_invalid", "The freshness window is 1 to 730 days.")
            changes["freshness_days"] = int(freshness_days)
            control.freshness_days = int(freshness_days)
        if not changes:
            return control
        control.save()
        audit_record(actor=actor, action="compliance.control.update", obj=control, request=request,
                     details={"ref": control.ref, "framework": control.framework.key, **changes})
        _refresh_control_gap(control, actor=actor)
    return control


# --- evidence: collection ----------------------------------------------------------------------------------------------


def evidence_document(provider: registry.Provider, draft: registry.EvidenceDraft) -> dict:
    """The stored and hashed form of a collected item (the packet holds exactly ``C(document)``)."""
    return {
        "schema": EVIDENCE_SCHEMA,
        "kind": "collected",
        "provider": {"id": provider.id, "version": provider.version},
        "source_ref": draft.source_ref,
        "title": draft.title,
        "summary": draft.summary,
        "period": {"start": draft.period_start.isoformat(), "end": draft.period_end.isoformat()},
        "content": registry.jsonable(dict(draft.content)),
    }


def document_sha256(doc: dict) -> str:
    return hashlib.sha256(canonical_bytes(doc)).hexdigest()


def _check_draft(provider: registry.Provider, draft: Any) -> None:
    problems = []
    if not isinstance(draft, registry.EvidenceDraft):
        raise registry.ProviderError(f"{provider.id} returned {type(draft).__name__}, not an EvidenceDraft")
    if not draft.source_ref or len(draft.source_ref) > 200:
        problems.append("source_ref must be 1-200 characters")
    if not draft.title or len(draft.title) > 200:
        problems.append("title must be 1-200 characters")
    for t in (draft.period_start, draft.period_end):
        if not isinstance(t, datetime) or t.tzinfo is None:
            problems.append("period bounds must be timezone-aware datetimes")
            break
    else:
        if draft.period_end < draft.period_start:
            problems.append("period_end is before period_start")
    if problems:
        raise registry.ProviderError(f"{provider.id}: {'; '.join(problems)}")


def _controls_by_ref(framework_keys: set[str]) -> dict[tuple[str, str], int]:
    rows = Control.objects.filter(framework__is_current=True, framework__key__in=framework_keys).values_list(
        "framework__key", "ref", "pk")
    return {(k, r): pk for k, r, pk in rows}


def _store_draft(provider: registry.Provider, draft: registry.EvidenceDraft, refs: dict, now: datetime) -> tuple[Evidence, bool, int]:
    doc = evidence_document(provider, draft)
    digest = document_sha256(doc)
    wanted = draft.controls if draft.controls is not None else provider.controls
    control_ids = [refs[(k, r)] for k, rs in wanted.items() for r in rs if (k, r) in refs]
    with transaction.atomic():
        ev = Evidence.objects.filter(kind=Evidence.Kind.COLLECTED, provider_id=provider.id, source_ref=draft.source_ref,
                                     sha256=digest).first()
        created = ev is None
        if created:
            try:
                with transaction.atomic():
                    ev = Evidence.objects.create(
                        kind=Evidence.Kind.COLLECTED, title=draft.title[:200], description=draft.summary,
                        provider_id=provider.id, provider_version=provider.version, source_ref=draft.source_ref,
                        period_start=draft.period_start, period_end=draft.period_end, collected_at=now,
                        sha256=digest, content=doc)
            except IntegrityError:  # a concurrent collection stored it first
                ev = Evidence.objects.get(kind=Evidence.Kind.COLLECTED, provider_id=provider.id,
                                          source_ref=draft.source_ref, sha256=digest)
                created = False
        have = set(EvidenceLink.objects.filter(evidence=ev).values_list("control_id", flat=True))
        new_links = [EvidenceLink(control_id=cid, evidence=ev, auto=True, linked_at=now) for cid in control_ids if cid not in have]
        EvidenceLink.objects.bulk_create(new_links, ignore_conflicts=True)
    return ev, created, len(new_links)


def evidence_collect(*, actor: Any, period_start: datetime, period_end: datetime, provider_ids: list[str] | None = None,
                     now: datetime | None = None) -> dict[str, dict]:
    """Ask every registered provider (or those named) for its evidence of the period; store each draft
    once (hashed, time-stamped, linked to the provider's controls). A failing provider is reported,
    not fatal. Returns ``{provider id: {"new", "existing", "links"} or {"error"}}``."""
    _check_edit(actor)
    now = _now(now)
    if period_start.tzinfo is None or period_end.tzinfo is None or period_end <= period_start:
        raise ComplianceError("collect_period_invalid", "The collection period must end after it starts.")
    chosen = [p for p in registry.all_providers() if not provider_ids or p.id in provider_ids]
    if provider_ids:
        unknown = sorted(set(provider_ids) - {p.id for p in chosen})
        if unknown:
            raise ComplianceError("provider_unknown", f"No evidence provider named {', '.join(unknown)}.")
    refs = _controls_by_ref({k for p in chosen for k in p.controls})
    results: dict[str, dict] = {}
    for provider in chosen:
        try:
            drafts = list(provider.collect(period_start, period_end) or [])
            for d in drafts:
                _check_draft(provider, d)
        except Exception as exc:  # a provider's bug must not stop the others
            log.exception("evidence provider %s failed", provider.id)
            results[provider.id] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        new = existing = links = 0
        for d in drafts:
            try:
                _ev, created, n = _store_draft(provider, d, refs, now)
            except Exception as exc:  # e.g. content that is not canonical JSON
                log.exception("evidence provider %s returned an unstorable draft", provider.id)
                results[provider.id] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
                break
            new += created
            existing += not created
            links += n
        else:
            results[provider.id] = {"new": new, "existing": existing, "links": links}
    with transaction.atomic():
        audit_record(actor=actor, action="compliance.evidence.collect", object_type="compliance.collection",
                     object_id=registry.period_ref(period_start, period_end)[:80],
                     details={"period": [period_start.isoformat(), period_end.isoformat()], "results": results})
    gaps_refresh(actor=actor, now=now)
    return results


# --- evidence: uploads and runbook links ----------------------------------------------------------------------------


def _evidence_period(evidence_date: date | None, now: datetime) -> tuple[datetime, datetime]:
    if evidence_date is None:
        return now, now
    if evidence_date > now.date():
        raise ComplianceError("evidence_date_future", "The evidence date cannot be in the future.")
    return day_start(evidence_date), min(day_end(evidence_date), now)


def _clean_title(title: str, fallback: str) -> str:
    title = (title or "").strip() or fallback
    if len(title) > 200:
        raise ComplianceError("evidence_title_too_long", "Titles are at most 200 characters.")
    return title


def upload_path(evidence: Evidence) -> Path:
    return storage_dir("uploads") / evidence.storage_key


def evidence_upload(*, actor: Any, uploaded: Any, control: Control | None = None, title: str = "", description: str = "",
                    evidence_date: date | None = None, request: Any = None, now: datetime | None = None) -> Evidence:
    """Store an uploaded file as evidence after checking its name, size and type (magic bytes).

    ``uploaded`` is a Django ``UploadedFile`` (or any object with ``name``, ``size``, ``seek``,
    ``read`` and ``chunks``). The file is stored content-addressed under ``var/compliance/uploads``:
    the client's name is only ever displayed, never used as a path.
    """
    _check_edit(actor)
    now = _now(now)
    name, size = getattr(uploaded, "name", ""), int(getattr(uploaded, "size", 0) or 0)
    try:
        if size > MAX_UPLOAD_BYTES:  # refuse before reading anything
            check_upload(name=name, size=size, head=b"")
        uploaded.seek(0)
        head = uploaded.read(SNIFF_BYTES)
        checked = check_upload(name=name, size=size, head=head)
    except UploadRejected as exc:
        raise ComplianceError(exc.code, str(exc), status=413 if exc.code == "upload_too_large" else 400) from exc
    period_start, period_end = _evidence_period(evidence_date, now)
    title = _clean_title(title, name)
    uploaded.seek(0)
    digest = hashlib.sha256()
    total = 0
    target_dir = storage_dir("uploads")
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in uploaded.chunks():
                total += len(chunk)
                if total > MAX_UPLOAD_BYTES:
                    raise ComplianceError("upload_too_large", "The file is larger than 20 MB.", status=413)
                digest.update(chunk)
                out.write(chunk)
        if total != size or total == 0:
            raise ComplianceError("upload_incomplete", "The upload was cut short; try again.")
        sha = digest.hexdigest()
        key = f"{sha[:2]}/{sha}"
        final = target_dir / key
        final.parent.mkdir(mode=0o750, exist_ok=True)
        os.chmod(tmp, 0o640)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with transaction.atomic():
        ev = Evidence.objects.create(
            kind=Evidence.Kind.UPLOAD, title=title, description=(description or "").strip()[:2000],
            period_start=period_start, period_end=period_end, collected_at=now, sha256=sha,
            file_name=checked.name, content_type=checked.content_type, size=total, storage_key=key,
            created_by=actor if getattr(actor, "pk", None) else None)
        if control is not None:
            EvidenceLink.objects.create(control=control, evidence=ev, linked_by=ev.created_by, linked_at=now)
        audit_record(actor=actor, action="compliance.evidence.upload", obj=ev, request=request,
                     details={"sha256": sha, "size": total, "type": checked.kind, "name": checked.name,
                              "control": control.ref if control else None})
        if control is not None:
            _refresh_control_gap(control, actor=actor, now=now)
    return ev


def evidence_verify_file(evidence: Evidence) -> bool | None:
    """Re-hash a stored upload: True if it still matches its SHA-256, False if not, None if it is no upload."""
    if evidence.kind != Evidence.Kind.UPLOAD:
        return None
    path = upload_path(evidence)
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == evidence.sha256


def runbook_link_create(*, actor: Any, url: str, title: str, control: Control | None = None, description: str = "",
                        evidence_date: date | None = None, request: Any = None, now: datetime | None = None) -> Evidence:
    _check_edit(actor)
    now = _now(now)
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500 or any(c.isspace() for c in url):
        raise ComplianceError("link_url_invalid", "Give the runbook's full http(s) address (at most 500 characters).")
    title = _clean_title(title, url)
    period_start, period_end = _evidence_period(evidence_date, now)
    doc = {"schema": EVIDENCE_SCHEMA, "kind": "link", "url": url, "title": title, "description": (description or "").strip()[:2000],
           "date": period_start.date().isoformat()}
    with transaction.atomic():
        ev = Evidence.objects.create(
            kind=Evidence.Kind.LINK, title=title, description=doc["description"], period_start=period_start,
            period_end=period_end, collected_at=now, sha256=document_sha256(doc), content=doc, url=url,
            created_by=actor if getattr(actor, "pk", None) else None)
        if control is not None:
            EvidenceLink.objects.create(control=control, evidence=ev, linked_by=ev.created_by, linked_at=now)
        audit_record(actor=actor, action="compliance.evidence.link_create", obj=ev, request=request,
                     details={"url": url, "control": control.ref if control else None})
        if control is not None:
            _refresh_control_gap(control, actor=actor, now=now)
    return ev


def evidence_link_add(*, actor: Any, control: Control, evidence: Evidence, request: Any = None, now: datetime | None = None) -> EvidenceLink:
    _check_edit(actor)
    now = _now(now)
    with transaction.atomic():
        link, created = EvidenceLink.objects.get_or_create(
            control=control, evidence=evidence,
            defaults={"linked_by": actor if getattr(actor, "pk", None) else None, "linked_at": now})
        if not created:
            raise Conflict("evidence_already_linked", f"That evidence is already linked to {control.ref}.")
        audit_record(actor=actor, action="compliance.evidence.link", obj=control, request=request,
                     details={"ref": control.ref, "evidence": str(evidence.pk), "sha256": evidence.sha256})
        _refresh_control_gap(control, actor=actor, now=now)
    return link


def evidence_link_remove(*, actor: Any, control: Control, evidence: Evidence, request: Any = None, now: datetime | None = None) -> None:
    _check_edit(actor)
    with transaction.atomic():
        deleted, _ = EvidenceLink.objects.filter(control=control, evidence=evidence).delete()
        if not deleted:
            raise NotFound("evidence link")
        audit_record(actor=actor, action="compliance.evidence.unlink", obj=control, request=request,
                     details={"ref": control.ref, "evidence": str(evidence.pk), "sha256": evidence.sha256})
        _refresh_control_gap(control, actor=actor, now=_now(now))


# --- sufficiency and gaps ------------------------------------------------------------------------------------------------


def assess_controls(controls: list[Control], *, period_end: datetime, period_start: datetime | None = None) -> dict[Any, cov.Assessment]:
    """Assess each control (see :mod:`compliance.core.coverage`) with one query for the evidence periods."""
    periods: dict[Any, list[tuple[datetime, datetime]]] = defaultdict(list)
    for cid, s, e in EvidenceLink.objects.filter(control__in=[c.pk for c in controls]).values_list(
            "control_id", "evidence__period_start", "evidence__period_end"):
        periods[cid].append((s, e))
    out = {}
    for c in controls:
        item = cov.ControlInput(ref=c.ref, theme=c.theme.code, status=c.status, freshness_days=c.freshness_days,
                                evidence=periods.get(c.pk, []))
        out[c.pk] = cov.assess(item, period_end=period_end, period_start=period_start)
    return out


def framework_coverage(framework: Framework, *, period_end: datetime | None = None, period_start: datetime | None = None) -> dict:
    """Per-theme and overall coverage of a framework, and each control's assessment."""
    period_end = period_end or timezone.now()
    controls = list(framework.controls.select_related("theme", "owner").order_by("order"))
    assessments = assess_controls(controls, period_end=period_end, period_start=period_start)
    themes = cov.theme_coverage(assessments.values(), list(framework.themes.order_by("order").values_list("code", "title")))
    return {"controls": controls, "assessments": assessments, "themes": themes, "overall": cov.overall(themes)}


def _gap_reason(control: Control) -> str:
    return f"No evidence linked within the last {control.freshness_days} days."


def _refresh_control_gap(control: Control, *, actor: Any, now: datetime | None = None) -> Gap | None:
    """Open or close the control's gap after its evidence or status changed (caller's transaction)."""
    now = _now(now)
    control = Control.objects.select_related("theme", "framework").get(pk=control.pk)
    if not control.framework.is_current:
        return None
    a = assess_controls([control], period_end=now)[control.pk]
    gap = Gap.objects.filter(control=control, status__in=GAP_OPEN_STATES).first()
    if a.is_gap and gap is None:
        return Gap.objects.create(control=control, owner_id=control.owner_id, due_date=now.date() + timedelta(days=GAP_DUE_DAYS),
                                  reason=_gap_reason(control), opened_at=now)
    if not a.is_gap and gap is not None:
        gap.status, gap.resolved_at = Gap.Status.RESOLVED, now
        gap.resolution = "Control marked not applicable." if not a.applicable else "Current evidence is linked."
        gap.save(update_fields=["status", "resolved_at", "resolution"])
        audit_record(actor=actor, action="compliance.gap.close", obj=gap, details={"ref": control.ref, "resolution": gap.resolution})
    return gap


def gaps_refresh(*, actor: Any = "compliance.gaps", now: datetime | None = None) -> dict:
    """Open a gap (owner: the control's owner; due in 30 days) for every applicable control of a
    current framework without sufficient current evidence, and close the gaps whose control has it."""
    now = _now(now)
    opened = closed = 0
    for fw in current_frameworks():
        controls = list(fw.controls.select_related("theme"))
        assessments = assess_controls(controls, period_end=now)
        open_gaps = {g.control_id: g for g in Gap.objects.filter(control__framework=fw, status__in=GAP_OPEN_STATES)}
        new, done = [], []
        for c in controls:
            a = assessments[c.pk]
            if a.is_gap and c.pk not in open_gaps:
                new.append(Gap(control=c, owner_id=c.owner_id, due_date=now.date() + timedelta(days=GAP_DUE_DAYS),
                               reason=_gap_reason(c), opened_at=now))
            elif not a.is_gap and c.pk in open_gaps:
                g = open_gaps[c.pk]
                g.status, g.resolved_at = Gap.Status.RESOLVED, now
                g.resolution = "Control marked not applicable." if not a.applicable else "Current evidence is linked."
                done.append(g)
        if new or done:
            with transaction.atomic():
                Gap.objects.bulk_create(new, ignore_conflicts=True)
                Gap.objects.bulk_update(done, ["status", "resolved_at", "resolution"])
                audit_record(actor=actor, action="compliance.gaps.refresh", obj=fw,
                             details={"framework": f"{fw.key} {fw.version}", "opened": len(new), "closed": len(done)})
        opened += len(new)
        closed += len(done)
    return {"opened": opened, "closed": closed,
            "open": Gap.objects.filter(status__in=GAP_OPEN_STATES, control__framework__is_current=True).count()}


def gap_update(*, actor: Any, gap: Gap, owner_id: Any = ..., due_date: date | None = None, status: str | None = None,
               resolution: str = "", request: Any = None, now: datetime | None = None) -> Gap:
    _check_edit(actor)
    now = _now(now)
    changes: dict[str, Any] = {}
    with transaction.atomic():
        gap = Gap.objects.select_for_update().select_related("control").get(pk=gap.pk)
        if owner_id is not ...:
            owner = _operator_user(owner_id) if owner_id not in (None, "") else None
            if (owner.pk if owner else None) != gap.owner_id:
                gap.owner = owner
                changes["owner"] = owner.get_username() if owner else None
        if due_date is not None and due_date != gap.due_date:
            if due_date < gap.opened_at.date():
                raise ComplianceError("gap_due_invalid", "The due date cannot be before the gap was opened.")
            gap.due_date = due_date
            gap.last_notified_at = None  # a new date: notify again when it passes
            changes["due_date"] = due_date.isoformat()
        if status is not None and status != gap.status:
            if status not in Gap.Status.values:
                raise ComplianceError("gap_status_invalid", f"status must be one of {Gap.Status.values}.")
            if not gap.is_open:
                raise Conflict("gap_closed", "This gap is closed; a new gap opens if the control lacks evidence again.")
            if status in (Gap.Status.RESOLVED, Gap.Status.RISK_ACCEPTED):
                if not (resolution or "").strip():
                    raise ComplianceError("gap_resolution_required", "Say how the gap was closed (or why the risk is accepted).")
                gap.resolved_at = now
                gap.resolution = resolution.strip()[:300]
            gap.status = status
            changes["status"] = status
        if not changes:
            return gap
        gap.save()
        audit_record(actor=actor, action="compliance.gap.update", obj=gap, request=request, reason=resolution,
                     details={"ref": gap.control.ref, **changes})
    return gap


def gaps_filtered(*, framework: str = "", owner: str = "", due: str = "", status: str = "open", user: Any = None,
                  today: date | None = None):
    """The gap list with its filters: framework (key or id), owner (user id, ``me`` or ``none``),
    due (``overdue``, ``7``, ``30`` days, or an ISO date: due on or before), status (``open``,
    ``closed``, ``all`` or a status value)."""
    today = today or timezone.now().date()
    qs = Gap.objects.select_related("control__framework", "control__theme", "owner").filter(control__framework__is_current=True)
    if framework:
        qs = qs.filter(Q(control__framework__key=framework) | Q(control__framework__pk=framework)) if _is_uuid(framework) \
            else qs.filter(control__framework__key=framework)
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner == "me" and user is not None:
        qs = qs.filter(owner=user)
    elif owner.isdigit():
        qs = qs.filter(owner_id=int(owner))
    if due == "overdue":
        qs = qs.filter(due_date__lt=today)
    elif due in ("7", "30"):
        qs = qs.filter(due_date__lte=today + timedelta(days=int(due)))
    elif due:
        with contextlib.suppress(ValueError):
            qs = qs.filter(due_date__lte=date.fromisoformat(due))
    if status == "open":
        qs = qs.filter(status__in=GAP_OPEN_STATES)
    elif status == "closed":
        qs = qs.exclude(status__in=GAP_OPEN_STATES)
    elif status in Gap.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("due_date", "control__framework__key", "control__order")


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


# --- notifications of overdue gaps -------------------------------------------------------------------------------------


def notice_group(user: Any) -> str:
    return f"compliance.user.{user.pk}"


def gaps_notify_overdue(*, now: datetime | None = None) -> dict:
    """Tell owners about their overdue gaps, once a day: an in-app notice (shown in the workspace and
    pushed live to their open pages) and an e-mail. Gaps without an owner go to compliance staff."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from trustfabric import realtime

    now = _now(now)
    today_start = day_start(now.date())
    due = list(Gap.objects.filter(status__in=GAP_OPEN_STATES, due_date__lt=now.date(), control__framework__is_current=True)
               .filter(Q(last_notified_at__isnull=True) | Q(last_notified_at__lt=today_start))
               .select_related("control__framework", "owner").order_by("due_date"))
    if not due:
        return {"notified": 0, "gaps": 0}
    staff = list(User.objects.filter(is_active=True, memberships__role="compliance",
                                     memberships__organization__kind="operator").distinct())
    by_user: dict[Any, list[Gap]] = defaultdict(list)
    for g in due:
        for u in ([g.owner] if g.owner and g.owner.is_active else staff):
            by_user[u].append(g)
    notices = []
    with transaction.atomic():
        for user, gaps in by_user.items():
            refs = ", ".join(f"{g.control.framework.key.upper()} {g.control.ref}" for g in gaps[:6])
            more = f" and {len(gaps) - 6} more" if len(gaps) > 6 else ""
            whose = "you own" if all(g.owner_id == user.pk for g in gaps) else "without an owner"
            msg = f"{len(gaps)} overdue compliance gap{'s' if len(gaps) != 1 else ''} {whose}: {refs}{more}."[:300]
            notices.append(OwnerNotice.objects.create(user=user, gap=gaps[0] if len(gaps) == 1 else None, message=msg, created_at=now))
        Gap.objects.filter(pk__in=[g.pk for g in due]).update(last_notified_at=now)
        audit_record(actor="compliance.gaps", action="compliance.gaps.notify", object_type="compliance.gaps", object_id="overdue",
                     details={"gaps": len(due), "people": sorted(u.get_username() for u in by_user)})
    for notice in notices:
        user = notice.user
        try:
            send_mail(subject="[Trust Fabric] Overdue compliance gaps", message=notice.message + "\n\nOpen the gap list: "
                      + getattr(settings, "TF_BASE_URL", "").rstrip("/") + "/compliance/gaps/?owner=me",
                      from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[user.email or f"{user.get_username()}@localhost"])
        except Exception:  # e-mail is best effort; the in-app notice is the record
            log.exception("could not e-mail %s about overdue gaps", user.get_username())
        try:
            html = render_to_string("compliance/partials/notice_banner.html", {"notice": notice})
            realtime.publish(notice_group(user), html=html, event={"kind": "compliance.notice", "id": str(notice.pk)})
        except Exception:
            log.exception("could not push the overdue-gap notice live")
    return {"notified": len(notices), "gaps": len(due)}


def notice_dismiss(*, user: Any, notice_id: Any, now: datetime | None = None) -> OwnerNotice:
    notice = OwnerNotice.objects.filter(pk=notice_id, user=user).first()
    if notice is None:
        raise NotFound("notice")
    if notice.read_at is None:
        notice.read_at = _now(now)
        notice.save(update_fields=["read_at"])
    return notice


# --- packets --------------------------------------------------------------------------------------------------------------


def packet_create(*, actor: Any, framework: Framework, period_start: date, period_end: date, version: str = PACKET_VERSION,
                  title: str = "", request: Any = None, now: datetime | None = None) -> Packet:
    _check_edit(actor)
    now = _now(now)
    version = (version or "").strip()
    if not PACKET_VERSION_RE.match(version):
        raise ComplianceError("packet_version_invalid", "A packet version looks like 0.9 or 1.0.2.")
    if period_end < period_start:
        raise ComplianceError("packet_period_invalid", "The period must end on or after its first day.")
    if period_start > now.date():
        raise ComplianceError("packet_period_future", "The period cannot start in the future.")
    if (period_end - period_start).days + 1 > MAX_PACKET_DAYS:
        raise ComplianceError("packet_period_too_long", "A packet covers at most three years.")
    try:
        with transaction.atomic():
            packet = Packet.objects.create(framework=framework, version=version, period_start=period_start, period_end=period_end,
                                           title=(title or "").strip()[:200], created_at=now,
                                           created_by=actor if getattr(actor, "pk", None) else None)
            audit_record(actor=actor, action="compliance.packet.create", obj=packet, request=request,
                         details={"framework": f"{framework.key} {framework.version}", "version": version,
                                  "period": [period_start.isoformat(), period_end.isoformat()]})
    except IntegrityError as exc:
        raise Conflict("packet_exists", f"Packet {version} for {framework.name} over {period_start} – {period_end} exists; "
                       "give the new one another version.") from exc
    return packet


def packet_export_start(*, actor: Any, packet: Packet, request: Any = None, dispatch: bool = True) -> Packet:
    """Queue the export (Celery, default queue); the page follows its progress."""
    _check_edit(actor)
    with transaction.atomic():
        packet = Packet.objects.select_for_update().get(pk=packet.pk)
        if packet.is_busy:
            raise Conflict("packet_export_running", "This packet is being exported already.")
        if packet.status == Packet.Status.DONE:
            raise Conflict("packet_exported", "This packet is exported; its signed zip is final. Create a new version instead.")
        packet.status, packet.progress, packet.step, packet.error = Packet.Status.QUEUED, 0, "Waiting for a worker", ""
        packet.save(update_fields=["status", "progress", "step", "error"])
        audit_record(actor=actor, action="compliance.packet.export", obj=packet, request=request,
                     details={"framework": packet.framework.key, "version": packet.version})
        if dispatch:
            from compliance import tasks

            tasks.export_packet.delay_on_commit(str(packet.pk))
    return packet


def packet_progress(packet_id: Any, progress: int, step: str) -> None:
    Packet.objects.filter(pk=packet_id).update(progress=max(0, min(100, int(progress))), step=step[:120])


def packet_export(*, packet_id: Any, now: datetime | None = None) -> Packet:
    """Build, sign, log and store the packet (the task's body). Safe to call twice: a packet that is
    not queued is returned as it is."""
    from compliance import export

    updated = Packet.objects.filter(pk=packet_id, status=Packet.Status.QUEUED).update(
        status=Packet.Status.RUNNING, started_at=_now(now), progress=1, step="Starting")
    packet = Packet.objects.select_related("framework").get(pk=packet_id)
    if not updated:
        return packet
    try:
        export.run(packet, now=_now(now))
    except Exception as exc:
        log.exception("packet export %s failed", packet_id)
        Packet.objects.filter(pk=packet_id).update(status=Packet.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                                                   finished_at=timezone.now(), step="Failed")
    packet.refresh_from_db()
    return packet


def packet_path(packet: Packet) -> Path:
    return storage_dir("packets") / packet.file_name


def packet_download_name(packet: Packet) -> str:
    fw = packet.framework
    return f"tf-packet-{fw.key}-{packet.version}-{packet.period_start:%Y%m%d}-{packet.period_end:%Y%m%d}.zip"


def signing_key_string() -> str:
    """The verifier key of the packets' signing key (the witness service key ``compliance``)."""
    from witness import keys

    return keys.verifier_key_string(SIGNING_SERVICE)


def log_key_string() -> str:
    from witness import keys

    return keys.log_signer().verifier().key_string


def packet_verify(*, packet: Packet):
    """Verify the stored zip as an auditor would (signature, files, evidence hashes, log inclusion)."""
    from compliance.core.packet import verify_packet
    from witness.tlog.note import Ed25519Verifier

    if packet.status != Packet.Status.DONE:
        raise Conflict("packet_not_exported", "Export the packet before verifying it.")
    path = packet_path(packet)
    if not path.is_file():
        raise ComplianceError("packet_file_missing", "The packet's file is missing from storage.", status=410)
    return verify_packet(path.read_bytes(), key=Ed25519Verifier.from_key_string(signing_key_string()),
                         log_key=Ed25519Verifier.from_key_string(log_key_string()))


# --- daily run (beat) ----------------------------------------------------------------------------------------------------


def daily_run(*, now: datetime | None = None) -> dict:
    """Collect yesterday's evidence (a closed UTC day), refresh the gaps, notify owners of overdue ones."""
    now = _now(now)
    today = day_start(now.date())
    collected = evidence_collect(actor="compliance.daily", period_start=today - timedelta(days=1), period_end=today, now=now)
    gaps = gaps_refresh(actor="compliance.daily", now=now)
    notified = gaps_notify_overdue(now=now)
    return {"collected": collected, "gaps": gaps, "notified": notified}
