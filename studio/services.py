"""LAC on the Django side: bundles, environments, the decide API, the decision log and
just-in-time approvals. (The Studio UI, change requests, promotions and drift build on these.)"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from studio.lac import Bundle
from studio.lac.catalog import load_catalog_dir
from studio.models import (
    ApprovalRequest,
    ApprovalVote,
    ChangeComment,
    ChangeRequest,
    ChangeReview,
    DecisionPoint,
    DecisionRecord,
    Deployment,
    Draft,
    Environment,
    Grant,
    PolicyBundle,
    Simulation,
)
from trustfabric.errors import Forbidden, NotFound, ServiceError

MAX_BATCH = 1000
MAX_ROWS = 10_000
MAX_REQUEST_BYTES = 256 * 1024
SENSITIVE_CLASSES = ("P0", "P1")  # decisions on these data classes must carry a reason for access
APPROVAL_REQUEST_TTL = timedelta(hours=24)


class LacError(ServiceError):
    pass


# --- bundles ----------------------------------------------------------------------------------------------------

_CACHE: OrderedDict[str, Bundle] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def compiled(bundle: PolicyBundle) -> Bundle:
    """The compiled engine for a stored bundle (built once per process, LRU of 16)."""
    with _CACHE_LOCK:
        hit = _CACHE.get(bundle.digest)
        if hit is not None:
            _CACHE.move_to_end(bundle.digest)
            return hit
    built = Bundle.build(policies=bundle.sources, schema=bundle.schema, catalogs=bundle.catalogs,
                         lint_config=bundle.lint_config or None, hash_salt=bundle.digest.encode())
    if not built.ok:
        raise LacError("bundle_invalid", "The stored bundle does not compile.", details=[d.to_json() for d in built.errors][:20])
    with _CACHE_LOCK:
        _CACHE[bundle.digest] = built
        while len(_CACHE) > 16:
            _CACHE.popitem(last=False)
    return built


def bundle_create(*, actor: Any, sources: dict[str, str], schema: Any, catalogs: dict, version: str,
                  change_note: str = "", lint_config: dict | None = None) -> PolicyBundle:
    """Store an immutable bundle version. Refuses bundles with errors (diagnostics in ``details``)."""
    built = Bundle.build(policies=sources, schema=schema, catalogs=catalogs, lint_config=lint_config)
    if not built.ok:
        raise LacError("bundle_invalid", f"The bundle has {len(built.errors)} error(s).",
                       details=[d.to_json() for d in built.errors][:50])
    existing = PolicyBundle.objects.filter(digest=built.digest).first()
    if existing:
        return existing
    with transaction.atomic():
        b = PolicyBundle.objects.create(
            digest=built.digest, version=version, sources=dict(sources), schema=built.schema_data,
            catalogs={k: dict(v) for k, v in built.catalog_data.items()}, lint_config=lint_config or {},
            author=actor if getattr(actor, "pk", None) else None, change_note=change_note,
            checks=bundle_checks(built),
        )
        audit_record(actor=actor, action="studio.bundle.create", obj=b, details={"digest": b.digest, "version": version})
    return b


def bundle_import_default(*, actor: Any = "system") -> PolicyBundle:
    from studio.lac.bundle import DEFAULT_MESSAGES, DEFAULT_POLICIES, DEFAULT_SCHEMA

    sources = {str(p.relative_to(DEFAULT_POLICIES)): p.read_text(encoding="utf-8") for p in sorted(DEFAULT_POLICIES.rglob("*.lac"))}
    schema = json.loads(DEFAULT_SCHEMA.read_text(encoding="utf-8"))
    return bundle_create(actor=actor, sources=sources, schema=schema, catalogs=load_catalog_dir(DEFAULT_MESSAGES),
                         version="1.0.0", change_note="Default policy pack shipped with Trust Fabric")


def environments_bootstrap(*, actor: Any = "system") -> list[Environment]:
    """Make sure dev, stage and prod exist; deploy the default pack where nothing is deployed."""
    default = None
    envs = []
    for name in Environment.Name.values:
        env, _ = Environment.objects.get_or_create(name=name)
        if env.bundle_id is None:
            default = default or bundle_import_default(actor=actor)
            with transaction.atomic():
                env = Environment.objects.select_for_update().get(name=name)
                if env.bundle_id is None:
                    _deploy(env=env, bundle=default, kind=Deployment.Kind.BOOTSTRAP, actor=actor, note="default pack")
        envs.append(env)
    return envs


_ENV_CACHE: dict[str, tuple[float, Environment]] = {}
ENV_CACHE_SECONDS = 2.0  # deployments are seen by every process within this time


def environment(name: str, *, fresh: bool = False) -> Environment:
    """The environment with its deployed bundle (cached per process for ``ENV_CACHE_SECONDS``)."""
    hit = _ENV_CACHE.get(name)
    if hit is not None and not fresh and time.monotonic() - hit[0] < ENV_CACHE_SECONDS:
        return hit[1]
    env = _environment(name)
    _ENV_CACHE[name] = (time.monotonic(), env)
    return env


def clear_caches() -> None:
    """Forget cached environments (tests; after a deployment in this process)."""
    _ENV_CACHE.clear()


def _environment(name: str) -> Environment:
    env = Environment.objects.select_related("bundle").filter(name=name).first()
    if env is None and name in Environment.Name.values:  # first use: create dev/stage/prod with the default pack
        environments_bootstrap()
        env = Environment.objects.select_related("bundle").filter(name=name).first()
    if env is None:
        raise LacError("environment_unknown", f"No environment {name!r}; use dev, stage or prod.", status=404)
    if env.bundle is None:
        raise LacError("environment_empty", f"Nothing is deployed in {name}.", status=409)
    return env


# --- deciding ----------------------------------------------------------------------------------------------------


GRANTS_VERSION_KEY = "studio:grants-version"


def _grants_changed() -> None:
    from django.core.cache import cache

    try:
        cache.incr(GRANTS_VERSION_KEY)
    except ValueError:
        cache.set(GRANTS_VERSION_KEY, 1, timeout=None)


def _active_grants(env: str, subject_id: str | None, now: datetime) -> list[dict]:
    """Grants for the subject. Cached per (environment, subject) until any grant changes; expiry is
    still checked by the engine against the request time."""
    from django.core.cache import cache

    if not subject_id:
        return []
    version = cache.get(GRANTS_VERSION_KEY, 0)
    key = f"studio:grants:{version}:{env}:{hashlib.sha256(subject_id.encode()).hexdigest()[:32]}"
    cached = cache.get(key)
    if cached is not None:
        return [g for g in cached if g["expires_at"] > now.isoformat()]
    rows = _load_grants(env, subject_id, now)
    cache.set(key, rows, timeout=60)
    return rows


def _load_grants(env: str, subject_id: str, now: datetime) -> list[dict]:
    out = []
    for g in Grant.objects.filter(environment=env, subject_id=subject_id, revoked_at__isnull=True, expires_at__gt=now):
        for pid in g.policy_ids:
            out.append({"grant_id": str(g.pk), "policy_id": pid, "subject_id": subject_id,
                        "granted_at": g.granted_at.isoformat(), "expires_at": g.expires_at.isoformat()})
    return out


def _validate_request(req: Any) -> dict:
    if not isinstance(req, dict):
        raise LacError("request_not_object", "The request must be a JSON object with subject, action, resource, context and authority.")
    text = json.dumps(req, default=str)
    if len(text) > MAX_REQUEST_BYTES:
        raise LacError("request_too_large", "A request is at most 256 KB.")
    if _has_nul(req):  # a NUL character can be neither logged (PostgreSQL JSON) nor meant
        raise LacError("request_nul_character", "The request contains a NUL character (\\u0000); remove it.")
    missing = [k for k in ("subject", "action", "resource", "context") if k not in req]
    if missing:
        raise LacError("request_incomplete", f"The request lacks {', '.join(missing)}.", details={"missing": missing})
    resource = req.get("resource")
    if not isinstance(resource, dict) or not isinstance(resource.get("domain"), str) or not isinstance(resource.get("data_class"), str):
        raise LacError("request_bad_resource", "resource.domain and resource.data_class must be strings.")
    return req


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _storable(value: Any) -> Any:
    """JSON that PostgreSQL stores: NUL characters (the red-team corpus has some) become U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _prepare(env: Environment, req: dict, now: datetime, reason_for_access: str) -> dict:
    req = copy.deepcopy(_validate_request(req))
    req.pop("grants", None)  # grants come from the server, never from the caller
    context = req.setdefault("context", {})
    if not isinstance(context, dict):
        raise LacError("request_bad_context", "context must be an object.")
    context["time"] = now.isoformat()  # the server's clock decides, never the caller's
    if reason_for_access:
        context.setdefault("reason_for_access", reason_for_access)
    data_class = req["resource"]["data_class"]
    if data_class in SENSITIVE_CLASSES and not (context.get("reason_for_access") or "").strip():
        raise LacError(
            "reason_for_access_required",
            f"Decisions on {data_class} data need a reason for access (context.reason_for_access or reason_for_access).",
        )
    subject = req.get("subject") if isinstance(req.get("subject"), dict) else {}
    grants = _active_grants(env.name, subject.get("id"), now)
    if grants:
        req["grants"] = grants
    return req


def decide(*, environment_name: str, request: dict, caller: Any = None, locale: str = "en", rows: list | None = None,
           reason_for_access: str = "", explain: bool = True, now: datetime | None = None) -> dict:
    """Decide one request in an environment; log it; open an approval request if one is needed."""
    return decide_batch(environment_name=environment_name, items=[{"request": request, "locale": locale, "rows": rows,
                        "reason_for_access": reason_for_access}], caller=caller, explain=explain, now=now)[0]


def decide_batch(*, environment_name: str, items: list[dict], caller: Any = None, explain: bool = False,
                 now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    if not isinstance(items, list) or not items:
        raise LacError("batch_empty", "Send at least one item.")
    if len(items) > MAX_BATCH:
        raise LacError("batch_too_large", f"At most {MAX_BATCH} items per batch.")
    env = environment(environment_name)
    bundle = compiled(env.bundle)
    _builtin_heartbeat(env)
    results, records, approvals = [], [], []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise LacError("batch_item_invalid", f"Item {n} is not an object.")
        rows = item.get("rows")
        if rows is not None and (not isinstance(rows, list) or len(rows) > MAX_ROWS or not all(isinstance(r, dict) for r in rows)):
            raise LacError("rows_invalid", f"Item {n}: rows must be a list of at most {MAX_ROWS} objects.")
        reason = str(item.get("reason_for_access") or "")[:2000]
        try:
            req = _prepare(env, item.get("request"), now, reason)
        except LacError as exc:
            raise LacError(exc.code, f"Item {n}: {exc.message}", details=exc.details) from exc
        locale = str(item.get("locale") or "en")[:10]
        t0 = time.perf_counter()
        d = bundle.decide(req, locale, explain=explain)
        elapsed_us = int((time.perf_counter() - t0) * 1e6)
        mode = env.mode_for(req["resource"]["domain"])
        out = d.to_dict()
        if not explain:
            out.pop("trace", None)
        out.update({"environment": env.name, "bundle_digest": env.bundle.digest, "mode": mode,
                    "enforced": mode == "enforce", "decided_at": now.isoformat()})
        if rows is not None:
            out["rows"] = bundle.minimize(rows, d) if d.effect == "permit" else []
        record = DecisionRecord(
            at=now, environment=env.name, bundle_digest=env.bundle.digest, mode=mode, action=_action(req),
            domain=req["resource"]["domain"][:60], data_class=req["resource"]["data_class"][:4], effect=d.effect,
            deciding_policy_ids=list(d.deciding_policy_ids), reason_id=d.reason.message_id, reason_text=d.reason.text,
            locale=locale, obligations=[o.to_dict() for o in d.obligations], request={k: v for k, v in req.items() if k != "grants"},
            reason_for_access=(req.get("context") or {}).get("reason_for_access", "") or "",
            caller=caller if getattr(caller, "pk", None) else None, duration_us=elapsed_us,
        )
        if d.effect == "require_approval" and d.approval is not None:
            approvals.append((record, d, req))
        records.append(record)
        out["decision_id"] = str(record.pk)
        results.append(out)
    with transaction.atomic():  # one commit: the decision log and the availability SLI together
        for record, d, req in approvals:
            record.approval = _open_approval(env, d, req, caller, now)
        DecisionRecord.objects.bulk_create(records)
        _record_sli(len(items))
    for out, record in zip(results, records, strict=True):
        if record.approval_id:
            out["approval_request"] = str(record.approval_id)
    return results


def _action(req: dict) -> str:
    a = req.get("action")
    return (a if isinstance(a, str) else (a or {}).get("name", ""))[:40]


def _record_sli(n: int) -> None:
    from oncall import services as oncall

    # the SLO may not exist (yet) in this database; deciding must not fail for it
    with contextlib.suppress(ServiceError):
        oncall.sli_record(slo="lac.decide.availability", good=n, total=n)


def _open_approval(env: Environment, d, req: dict, caller: Any, now: datetime) -> ApprovalRequest:
    subject = req.get("subject") if isinstance(req.get("subject"), dict) else {}
    subject_id = str(subject.get("id") or "")
    if not subject_id:
        raise LacError("subject_id_required", "A request that needs approval must name subject.id (who the grant is for).")
    existing = ApprovalRequest.objects.filter(environment=env.name, subject_id=subject_id, status=ApprovalRequest.Status.PENDING,
                                              policy_ids=list(d.approval.policy_ids)).first()
    if existing:
        return existing
    ar = ApprovalRequest.objects.create(
        created_at=now, expires_at=now + APPROVAL_REQUEST_TTL, environment=env.name, policy_ids=list(d.approval.policy_ids),
        approvers_required=d.approval.approvers, grant_seconds=d.approval.grant_seconds, subject_id=subject_id,
        summary=f"{_action(req)} on {req['resource']['domain']} ({req['resource']['data_class']})"[:300],
        reason_for_access=(req.get("context") or {}).get("reason_for_access", "") or "",
        requested_by=caller if getattr(caller, "pk", None) else None,
    )
    audit_record(actor=caller or "decide-api", action="studio.approval.open", obj=ar, reason=ar.reason_for_access,
                 details={"policies": ar.policy_ids, "subject": subject_id, "approvers": ar.approvers_required})
    return ar


# --- just-in-time approvals -----------------------------------------------------------------------------------------


def approval_vote(*, actor: Any, request: ApprovalRequest, approve: bool, comment: str = "", now: datetime | None = None) -> ApprovalRequest:
    """An approver approves or rejects. Requesters never approve their own request; the grant is
    issued when enough distinct approvers agreed (1 or 2, as the policy says)."""
    from accounts.permissions import principal
    from accounts.roles import Cap

    now = now or timezone.now()
    if not principal(actor).can(Cap.STUDIO_APPROVE):
        raise Forbidden("Only policy approvers decide access requests.", code="approval_forbidden")
    ApprovalRequest.objects.filter(pk=request.pk, status=ApprovalRequest.Status.PENDING, expires_at__lte=now).update(
        status=ApprovalRequest.Status.EXPIRED, decided_at=now
    )
    with transaction.atomic():
        ar = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if ar.status != ApprovalRequest.Status.PENDING:
            raise LacError("approval_closed", f"This request is {ar.status}.", status=409)
        if (ar.requested_by_id and ar.requested_by_id == actor.pk) or ar.subject_id == actor.get_username():
            raise Forbidden("You cannot approve your own access request.", code="approval_self")
        if ApprovalVote.objects.filter(request=ar, approver=actor).exists():
            raise LacError("approval_already_voted", "You already voted on this request.", status=409)
        ApprovalVote.objects.create(request=ar, approver=actor, approve=approve, comment=comment[:400], at=now)
        audit_record(actor=actor, action="studio.approval.vote", obj=ar, reason=comment, details={"approve": approve})
        if not approve:
            ar.status, ar.decided_at = ApprovalRequest.Status.REJECTED, now
            ar.save(update_fields=["status", "decided_at"])
            return ar
        if ar.votes.filter(approve=True).count() >= ar.approvers_required:
            ar.status, ar.decided_at = ApprovalRequest.Status.APPROVED, now
            ar.save(update_fields=["status", "decided_at"])
            grant = Grant.objects.create(request=ar, environment=ar.environment, subject_id=ar.subject_id, policy_ids=ar.policy_ids,
                                         granted_at=now, expires_at=now + timedelta(seconds=ar.grant_seconds))
            _grants_changed()  # now, and again after commit (a reader may re-cache in between)
            transaction.on_commit(_grants_changed)
            audit_record(actor=actor, action="studio.grant.issue", obj=grant, details={"subject": ar.subject_id, "until": grant.expires_at.isoformat()})
    return ar


def grant_revoke(*, actor: Any, grant: Grant, reason: str) -> Grant:
    from accounts.permissions import principal
    from accounts.roles import Cap

    if not principal(actor).can(Cap.STUDIO_APPROVE):
        raise Forbidden("Only policy approvers revoke grants.", code="approval_forbidden")
    if not reason.strip():
        raise LacError("revoke_reason_required", "Say why the grant is revoked.")
    with transaction.atomic():
        Grant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        _grants_changed()
        transaction.on_commit(_grants_changed)
        grant.refresh_from_db()
        audit_record(actor=actor, action="studio.grant.revoke", obj=grant, reason=reason)
    return grant


def approval_get(pk) -> ApprovalRequest:
    ar = ApprovalRequest.objects.filter(pk=pk).first()
    if ar is None:
        raise NotFound("approval request")
    return ar


# --- registry: drafts ------------------------------------------------------------------------------------------------

FILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,80}\.lac$")
MAX_SOURCE_BYTES = 200_000
LOCALE_RE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
MESSAGE_ID_RE = re.compile(r"^[a-z0-9_.]{1,120}$")
ENV_ORDER = ("dev", "stage", "prod")


def _can(actor: Any, cap) -> bool:
    from accounts.permissions import principal

    return principal(actor).can(cap)


def draft_create(*, actor: Any, environment_name: str = "dev", title: str = "") -> Draft:
    """Start a working copy of what ``environment_name`` runs."""
    from accounts.roles import Cap

    if not _can(actor, Cap.STUDIO_AUTHOR):
        raise Forbidden("Only policy authors start drafts.", code="draft_forbidden")
    env = environment(environment_name, fresh=True)
    title = (title or "").strip()[:200] or f"Draft from {env.name} {env.bundle.version}"
    with transaction.atomic():
        d = Draft.objects.create(title=title, author=actor, base_bundle=env.bundle, base_environment=env.name,
                                 sources=dict(env.bundle.sources), catalogs={k: dict(v) for k, v in env.bundle.catalogs.items()})
        audit_record(actor=actor, action="studio.draft.create", obj=d, details={"base": env.bundle.digest, "environment": env.name})
    return d


def draft_get(pk, *, actor: Any = None) -> Draft:
    d = Draft.objects.select_related("base_bundle", "author").filter(pk=pk).first()
    if d is None:
        raise NotFound("draft")
    return d


def _editable(draft: Draft, actor: Any) -> None:
    if draft.status != Draft.Status.EDITING:
        raise LacError("draft_closed", f"This draft is {draft.status}; start a new one.", status=409)
    if draft.author_id != getattr(actor, "pk", None):
        raise Forbidden("Only the draft's author edits it.", code="draft_not_author")


def draft_save(*, actor: Any, draft: Draft, file: str | None = None, source: str | None = None,
               catalogs: dict | None = None, delete_file: str | None = None) -> Draft:
    """Save one file, the message catalogs, or delete a file. Saving never checks: drafts may be broken."""
    _editable(draft, actor)
    sources = dict(draft.sources)
    if file is not None:
        if not FILE_NAME_RE.match(file):
            raise LacError("draft_bad_file_name", "File names are lower-case letters, digits, '.', '_' or '-', ending in .lac.")
        if source is None or len(source.encode()) > MAX_SOURCE_BYTES:
            raise LacError("draft_source_too_large", f"A policy file is at most {MAX_SOURCE_BYTES // 1000} KB.")
        sources[file] = source.replace("\r\n", "\n")
    if delete_file is not None:
        if delete_file not in sources:
            raise NotFound("file")
        if len(sources) == 1:
            raise LacError("draft_last_file", "A pack needs at least one policy file.")
        del sources[delete_file]
    if catalogs is not None:
        catalogs = _clean_catalogs(catalogs)
        draft.catalogs = catalogs
    draft.sources = sources
    draft.save(update_fields=["sources", "catalogs", "updated_at"])
    return draft


def _clean_catalogs(catalogs: Any) -> dict:
    if not isinstance(catalogs, dict):
        raise LacError("catalogs_invalid", "Catalogs are an object of locale → {message id: text}.")
    out: dict[str, dict[str, str]] = {}
    for loc, msgs in catalogs.items():
        if not isinstance(loc, str) or not LOCALE_RE.match(loc) or not isinstance(msgs, dict):
            raise LacError("catalogs_invalid", f"Bad locale {loc!r}: use a code such as en, es or fr-CA.")
        clean = {}
        for mid, text in msgs.items():
            if not isinstance(mid, str) or not MESSAGE_ID_RE.match(mid):
                raise LacError("catalogs_invalid", f"Bad message id {mid!r}.")
            if not isinstance(text, str) or len(text) > 2000:
                raise LacError("catalogs_invalid", f"Message {mid} in {loc} must be text of at most 2,000 characters.")
            if text.strip():
                clean[mid] = text
        out[loc] = clean
    return out


_BUILD_CACHE: OrderedDict[str, Bundle] = OrderedDict()


def build_candidate(sources: dict, catalogs: dict, schema: Any, lint_config: dict | None = None) -> Bundle:
    """Build (parse, check, lint, compile) a candidate pack; memoized on its content (LRU of 8)."""
    key = hashlib.sha256(json.dumps([sources, catalogs, schema, lint_config or {}], sort_keys=True).encode()).hexdigest()
    with _CACHE_LOCK:
        hit = _BUILD_CACHE.get(key)
        if hit is not None:
            _BUILD_CACHE.move_to_end(key)
            return hit
    built = Bundle.build(policies=sources, schema=schema, catalogs=catalogs, lint_config=lint_config or None)
    with _CACHE_LOCK:
        _BUILD_CACHE[key] = built
        while len(_BUILD_CACHE) > 8:
            _BUILD_CACHE.popitem(last=False)
    return built


def draft_bundle(draft: Draft, *, file: str | None = None, source: str | None = None) -> Bundle:
    sources = dict(draft.sources)
    if file is not None and source is not None:
        sources[file] = source
    b = draft.base_bundle
    return build_candidate(sources, draft.catalogs, b.schema, b.lint_config or None)


def diagnostics_json(built: Bundle, *, file: str | None = None) -> list[dict]:
    """Diagnostics as the editor wants them (1-based lines and columns), this file's first."""
    out = []
    for d in built.diagnostics:
        out.append(d.to_dict())
    if file is not None:
        out.sort(key=lambda j: (j.get("file") != file,))
    return out


def lint_source(*, draft: Draft, file: str, source: str) -> dict:
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise LacError("draft_source_too_large", f"A policy file is at most {MAX_SOURCE_BYTES // 1000} KB.")
    built = draft_bundle(draft, file=file, source=source)
    diags = diagnostics_json(built, file=file)
    return {"ok": built.ok, "digest": built.digest, "errors": len(built.errors), "warnings": len(built.warnings),
            "diagnostics": diags}


def format_lac(source: str, name: str = "<input>") -> str:
    from studio.lac.formatter import format_source

    return format_source(source, name)


def preview(*, draft: Draft, request: Any, rows: list | None = None, locales: tuple[str, ...] | None = None) -> dict:
    """Evaluate the draft on one request without touching any deployed bundle: the decision, its trace,
    the reason in every locale of the draft, and the obligations applied to sample rows."""
    built = draft_bundle(draft)
    if not built.ok:
        raise LacError("draft_has_errors", f"The draft has {len(built.errors)} error(s); fix them to preview.",
                       details=diagnostics_json(built)[:20])
    req = _validate_request(request)
    if rows is not None and (not isinstance(rows, list) or len(rows) > 1000 or not all(isinstance(r, dict) for r in rows)):
        raise LacError("rows_invalid", "Sample rows must be a list of at most 1,000 objects.")
    locales = locales or tuple(sorted(built.catalog_data)) or ("en",)
    d = built.decide(req, locales[0], explain=True)
    reasons = {loc: built.decide(req, loc).reason.text for loc in locales}
    out = d.to_dict()
    out["trace"] = list(d.trace)
    out["reasons"] = reasons
    if rows is not None:
        out["rows_before"] = rows
        out["rows_after"] = built.minimize(rows, d) if d.effect == "permit" else []
    return out


# --- registry: change requests -------------------------------------------------------------------------------------

REDTEAM_MAX_FP = 0.02


def bundle_checks(built: Bundle) -> dict:
    """Lint, types and the red-team gate for a bundle (stored with the bundle and shown on change requests)."""
    from studio.lac import redteam

    summary = redteam.run(built)
    return {
        "errors": len(built.errors), "warnings": len(built.warnings), "policies": len(built.policies),
        "lint": [d.to_dict() for d in built.warnings][:50],
        "redteam": {"total": summary["total"], "passed": summary["passed"], "false_negative": summary["false_negative"],
                    "false_positive": summary["false_positive"], "fp_rate": round(summary["fp_rate"], 4),
                    "failing": [f["id"] for f in summary["failures"]][:50]},
    }


def checks_pass(checks: dict) -> tuple[bool, list[str]]:
    problems = []
    if checks.get("errors", 1):
        problems.append(f"{checks.get('errors')} type/parse error(s)")
    rt = checks.get("redteam")
    if not rt:
        problems.append("no red-team result")
    else:
        if rt["false_negative"]:
            problems.append(f"red-team: {rt['false_negative']} false negative(s) (must be 0)")
        if rt["fp_rate"] > REDTEAM_MAX_FP:
            problems.append(f"red-team: false-positive rate {rt['fp_rate']:.1%} (must be ≤ {REDTEAM_MAX_FP:.0%})")
    return (not problems, problems)


def _register(*, actor: Any, built: Bundle, version: str, change_note: str, parent: PolicyBundle | None,
              registered: bool = True) -> PolicyBundle:
    existing = PolicyBundle.objects.filter(digest=built.digest).first()
    if existing:
        if registered and not existing.registered:
            existing.registered = True
            existing.save(update_fields=["registered"])
        return existing
    return PolicyBundle.objects.create(
        digest=built.digest, version=version, sources=dict(built.sources), schema=built.schema_data,
        catalogs={k: dict(v) for k, v in built.catalog_data.items()}, lint_config=dict(built.lint_config or {}),
        author=actor if getattr(actor, "pk", None) else None, change_note=change_note, checks=bundle_checks(built),
        parent=parent, registered=registered,
    )


def _next_version(base: PolicyBundle, tier: int, structure: dict) -> str:
    """Semver: a removed policy or a schema change is major, an added or Tier-1 change minor, else patch."""
    try:
        major, minor, patch = (int(x) for x in base.version.split(".")[:3])
    except ValueError:
        major, minor, patch = 1, 0, 0
    if structure["policies"]["removed"] or structure["schema"]["changed"]:
        v = (major + 1, 0, 0)
    elif structure["policies"]["added"] or tier == 1:
        v = (major, minor + 1, 0)
    else:
        v = (major, minor, patch + 1)
    version = "{}.{}.{}".format(*v)
    while PolicyBundle.objects.filter(version=version).exists():
        v = (v[0], v[1], v[2] + 1)
        version = "{}.{}.{}".format(*v)
    return version


def change_tier(structure: dict, before: Bundle, after: Bundle) -> int:
    """Tier 1 when any Tier-1 policy is added, removed or changed, or the schema or shared definitions change."""
    tiers = {p.id: p.tier for p in before.policies} | {p.id: p.tier for p in after.policies}
    touched = structure["policies"]["added"] + structure["policies"]["removed"] + [c["id"] for c in structure["policies"]["changed"]]
    if any(tiers.get(pid) == 1 for pid in touched) or structure["schema"]["changed"] or any(structure["definitions"].values()):
        return 1
    return 2


def change_submit(*, actor: Any, draft: Draft, title: str, description: str = "") -> ChangeRequest:
    """Freeze a draft into an immutable bundle and open a change request for it."""
    from studio.lac.diff import structural_diff

    _editable(draft, actor)
    title = (title or "").strip()[:200]
    if not title:
        raise LacError("change_title_required", "Give the change request a title.")
    built = draft_bundle(draft)
    if not built.ok:
        raise LacError("bundle_invalid", f"The draft has {len(built.errors)} error(s); fix them before submitting.",
                       details=diagnostics_json(built)[:20])
    base = draft.base_bundle
    before = compiled(base)
    structure = structural_diff(before, built)
    if structure["identical"]:
        raise LacError("change_empty", "The draft does not change anything the engine sees.")
    tier = change_tier(structure, before, built)
    with transaction.atomic():
        bundle = _register(actor=actor, built=built, version=_next_version(base, tier, structure),
                           change_note=f"{title}\n\n{description}".strip(), parent=base)
        cr = ChangeRequest.objects.create(title=title, description=description.strip()[:20_000], author=actor, draft=draft,
                                          base_bundle=base, bundle=bundle, target_environment="dev", tier=tier,
                                          approvals_required=2 if tier == 1 else 1, checks=bundle.checks | {"structure": structure})
        draft.status = Draft.Status.SUBMITTED
        draft.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="studio.change.submit", obj=cr,
                     details={"bundle": bundle.digest, "version": bundle.version, "tier": tier})
    return cr


def change_get(pk) -> ChangeRequest:
    cr = ChangeRequest.objects.select_related("bundle", "base_bundle", "author", "draft").filter(pk=pk).first()
    if cr is None:
        raise NotFound("change request")
    return cr


def change_comment(*, actor: Any, change: ChangeRequest, body: str) -> ChangeComment:
    from accounts.roles import Cap

    if not (_can(actor, Cap.STUDIO_AUTHOR) or _can(actor, Cap.STUDIO_APPROVE)):
        raise Forbidden("Only policy authors and approvers discuss changes.", code="change_forbidden")
    body = (body or "").strip()
    if not body or len(body) > 10_000:
        raise LacError("comment_invalid", "A comment is 1 to 10,000 characters.")
    return ChangeComment.objects.create(change=change, author=actor, body=body)


def change_review(*, actor: Any, change: ChangeRequest, approve: bool, comment: str = "") -> ChangeRequest:
    """Approve or reject. Authors never review their own change; Tier-1 changes need two approvers."""
    from accounts.roles import Cap

    if not _can(actor, Cap.STUDIO_APPROVE):
        raise Forbidden("Only policy approvers review change requests.", code="change_review_forbidden")
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        if cr.status != ChangeRequest.Status.OPEN:
            raise LacError("change_closed", f"This change request is {cr.status}.", status=409)
        if cr.author_id == actor.pk:
            raise Forbidden("Authors cannot approve their own change.", code="change_self_review")
        if cr.reviews.filter(reviewer=actor).exists():
            raise LacError("change_already_reviewed", "You already reviewed this change.", status=409)
        if approve and not checks_pass(cr.checks)[0]:
            raise LacError("change_checks_failing", "The change fails its checks: " + "; ".join(checks_pass(cr.checks)[1]), status=409)
        ChangeReview.objects.create(change=cr, reviewer=actor, approve=approve, comment=(comment or "")[:1000])
        if not approve:
            cr.status = ChangeRequest.Status.REJECTED
        elif cr.reviews.filter(approve=True).count() >= cr.approvals_required:
            cr.status = ChangeRequest.Status.APPROVED
        cr.save(update_fields=["status"])
        audit_record(actor=actor, action="studio.change.review", obj=cr, reason=comment, details={"approve": approve, "status": cr.status})
    return cr


def change_merge(*, actor: Any, change: ChangeRequest) -> Deployment:
    """Deploy an approved change: a policy change to dev, a drift remediation to the environment it fixes."""
    from accounts.roles import Cap

    if not (_can(actor, Cap.STUDIO_AUTHOR) or _can(actor, Cap.STUDIO_APPROVE)):
        raise Forbidden("Only policy authors and approvers merge.", code="change_forbidden")
    with transaction.atomic():
        cr = ChangeRequest.objects.select_for_update(of=("self",)).select_related("bundle").get(pk=change.pk)
        if cr.status != ChangeRequest.Status.APPROVED:
            raise LacError("change_not_approved", f"Only approved changes merge; this one is {cr.status}.", status=409)
        env = Environment.objects.select_for_update().get(name=cr.target_environment)
        if cr.kind == ChangeRequest.Kind.CHANGE and env.bundle_id != cr.base_bundle_id:
            raise LacError("change_stale_base", f"{env.name} changed since this draft was started (it runs {env.bundle.version}); "
                           "start a new draft from it and re-apply the change.", status=409)
        if not cr.bundle.registered:
            cr.bundle.registered = True
            cr.bundle.save(update_fields=["registered"])
        kind = Deployment.Kind.MERGE if cr.kind == ChangeRequest.Kind.CHANGE else Deployment.Kind.REMEDIATE
        dep = _deploy(env=env, bundle=cr.bundle, kind=kind, actor=actor, change=cr, note=f"{cr.ref}: {cr.title}")
        cr.status, cr.merged_at, cr.merged_by = ChangeRequest.Status.MERGED, timezone.now(), actor
        cr.save(update_fields=["status", "merged_at", "merged_by"])
        audit_record(actor=actor, action="studio.change.merge", obj=cr, details={"environment": env.name, "bundle": cr.bundle.digest})
    return dep


def change_close(*, actor: Any, change: ChangeRequest, reason: str = "") -> ChangeRequest:
    if change.author_id != getattr(actor, "pk", None) and not _can(actor, _cap("STUDIO_APPROVE")):
        raise Forbidden("Only the author or an approver closes a change request.", code="change_forbidden")
    with transaction.atomic():
        n = ChangeRequest.objects.filter(pk=change.pk, status__in=[ChangeRequest.Status.OPEN, ChangeRequest.Status.APPROVED]).update(
            status=ChangeRequest.Status.CLOSED)
        if not n:
            raise LacError("change_closed", "This change request is no longer open.", status=409)
        audit_record(actor=actor, action="studio.change.close", obj=change, reason=reason)
    change.refresh_from_db()
    return change


def _cap(name: str):
    from accounts.roles import Cap

    return getattr(Cap, name)


# --- deployments, promotions, rollback -------------------------------------------------------------------------------


def _deploy(*, env: Environment, bundle: PolicyBundle, kind: str, actor: Any, change: ChangeRequest | None = None,
            note: str = "") -> Deployment:
    """Point ``env`` at ``bundle`` (inside the caller's transaction, env row locked); history, audit, witness."""
    from witness import services as witness

    now = timezone.now()
    previous = env.bundle
    dep = Deployment.objects.create(environment=env.name, bundle=bundle, previous=previous, kind=kind,
                                    actor=actor if getattr(actor, "pk", None) else None, change=change, note=note[:500], at=now)
    env.bundle, env.deployed_at = bundle, now
    env.save(update_fields=["bundle", "deployed_at"])
    entry = witness.statement_append(stype="lac.promotion", service="studio", body={
        "bundle_digest": bundle.digest, "environment": env.name, "kind": kind, "version": bundle.version,
        "previous_digest": previous.digest if previous else None, "deployment": dep.pk,
        "change": change.ref if change else None, "at": now.isoformat(),
        "actor": actor.get_username() if hasattr(actor, "get_username") else str(actor),
    })
    dep.witness_entry = getattr(entry, "leaf_hash", "") or str(getattr(entry, "pk", ""))
    dep.save(update_fields=["witness_entry"])
    audit_record(actor=actor, action=f"studio.deploy.{kind}", obj=dep, reason=note,
                 details={"environment": env.name, "bundle": bundle.digest, "version": bundle.version,
                          "previous": previous.digest if previous else None})
    transaction.on_commit(clear_caches)
    transaction.on_commit(lambda: _publish_env(env.name))
    return dep


def _publish_env(name: str) -> None:
    from trustfabric import realtime

    with contextlib.suppress(Exception):
        realtime.publish("studio", event={"type": "studio.deployment", "environment": name})


def deployments(env_name: str, limit: int = 20) -> list[Deployment]:
    return list(Deployment.objects.filter(environment=env_name).select_related("bundle", "previous", "actor", "change")[:limit])


def promotion_gates(source: str, target: str, *, now: datetime | None = None) -> list[dict]:
    """Every gate a promotion ``source → target`` must pass, each ``{"gate", "ok", "detail", "fix"}``."""
    now = now or timezone.now()
    gates: list[dict] = []
    order_ok = source in ENV_ORDER and target in ENV_ORDER and ENV_ORDER.index(target) == ENV_ORDER.index(source) + 1
    gates.append({"gate": "order", "ok": order_ok, "detail": f"{source} → {target}" if order_ok else
                  "Promotions go dev → stage → prod, one step at a time.", "fix": ""})
    if not order_ok:
        return gates
    src, dst = environment(source, fresh=True), environment(target, fresh=True)
    differs = src.bundle_id != dst.bundle_id
    gates.append({"gate": "change", "ok": differs, "detail": f"{target} runs {dst.bundle.version}; {source} runs {src.bundle.version}"
                  if differs else f"{target} already runs {src.bundle.version}.", "fix": ""})
    gates.append({"gate": "registered", "ok": src.bundle.registered,
                  "detail": "The bundle is a registered version." if src.bundle.registered else
                  f"{source} runs a bundle that was only observed on a decision point, never registered.",
                  "fix": "Adopt it through a change request or redeploy the registered version."})
    ok, problems = checks_pass(src.bundle.checks or {})
    gates.append({"gate": "checks", "ok": ok, "detail": "Lint, types and the red-team gate pass." if ok else "; ".join(problems),
                  "fix": "" if ok else "Fix the policies in a new change request."})
    for name in (source, target):
        report = drift_report(name, now=now)
        n = len(report["drifting"])
        gates.append({"gate": f"drift:{name}", "ok": n == 0,
                      "detail": f"No drift in {name}." if n == 0 else report["headline"],
                      "fix": "" if n == 0 else "Adopt the live change into the registry, or redeploy the registered version.",
                      "drift": report if n else None})
    return gates


def promote(*, actor: Any, source: str, target: str, note: str = "") -> Deployment:
    from accounts.roles import Cap

    if not _can(actor, Cap.STUDIO_APPROVE):
        raise Forbidden("Only approvers promote bundles.", code="promote_forbidden")
    gates = promotion_gates(source, target)
    failing = [g for g in gates if not g["ok"]]
    if failing:
        raise LacError("promotion_blocked", "Promotion blocked: " + "; ".join(g["detail"] for g in failing), status=409,
                       details={"gates": [{k: v for k, v in g.items() if k != "drift"} for g in gates]})
    with transaction.atomic():
        src = Environment.objects.select_related("bundle").get(name=source)
        dst = Environment.objects.select_for_update(of=("self",)).select_related("bundle").get(name=target)
        return _deploy(env=dst, bundle=src.bundle, kind=Deployment.Kind.PROMOTE, actor=actor,
                       note=note or f"promote {src.bundle.version} {source} → {target}")


def rollback(*, actor: Any, environment_name: str, reason: str) -> Deployment:
    """Put back what ran before the last deployment, in one action."""
    from accounts.roles import Cap

    if not _can(actor, Cap.STUDIO_APPROVE):
        raise Forbidden("Only approvers roll back.", code="rollback_forbidden")
    if not (reason or "").strip():
        raise LacError("rollback_reason_required", "Say why you roll back.")
    environment(environment_name, fresh=True)  # unknown names fail here; a first use bootstraps dev, stage and prod
    with transaction.atomic():
        env = Environment.objects.select_for_update(of=("self",)).select_related("bundle").filter(name=environment_name).first()
        if env is None:
            raise NotFound("environment")
        last = Deployment.objects.filter(environment=env.name).select_related("previous").first()
        if last is None or last.previous is None:
            raise LacError("rollback_nothing", f"{env.name} has no earlier version to return to.", status=409)
        return _deploy(env=env, bundle=last.previous, kind=Deployment.Kind.ROLLBACK, actor=actor, note=reason.strip())


def environment_set_mode(*, actor: Any, environment_name: str, domain: str, mode: str, reason: str) -> Environment:
    from accounts.roles import Cap

    if not _can(actor, Cap.STUDIO_APPROVE):
        raise Forbidden("Only approvers change enforcement modes.", code="mode_forbidden")
    if mode not in ("monitor", "enforce"):
        raise LacError("mode_invalid", "A mode is monitor or enforce.")
    if not (reason or "").strip():
        raise LacError("mode_reason_required", "Say why the mode changes.")
    with transaction.atomic():
        env = Environment.objects.select_for_update().get(name=environment_name)
        domains = {d for d in (compiled(env.bundle).schema_data.get("domains") or {})}
        if domains and domain not in domains:
            raise LacError("mode_unknown_domain", f"{domain!r} is not a domain of the schema.")
        modes = dict(env.modes or {})
        old = modes.get(domain, "enforce")
        modes[domain] = mode
        env.modes = modes
        env.save(update_fields=["modes"])
        audit_record(actor=actor, action="studio.environment.mode", obj=env, reason=reason,
                     details={"domain": domain, "from": old, "to": mode})
        transaction.on_commit(clear_caches)
    return env


# --- distribution and status (decision points) -----------------------------------------------------------------------

BUILTIN_HEARTBEAT_SECONDS = 15
STALE_AFTER = timedelta(minutes=10)
DRIFT_GRACE = timedelta(seconds=30)  # a point may lag a deployment this long before it counts as drift
POINT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,119}$")


def bundle_document(bundle: PolicyBundle) -> dict:
    """What a decision point downloads: the canonical bundle plus its digest and version."""
    return {"format": "lac-bundle/1", "digest": bundle.digest, "version": bundle.version, "policies": dict(sorted(bundle.sources.items())),
            "schema": bundle.schema, "catalogs": bundle.catalogs, "lint": bundle.lint_config or {}}


def status_report(*, actor: Any, point_id: str, environment_name: str, digest: str, bundle: dict | None = None,
                  meta: dict | None = None, builtin: bool = False, now: datetime | None = None) -> DecisionPoint:
    """A decision point says which bundle it runs (OPA's status API, in effect)."""
    now = now or timezone.now()
    if not POINT_ID_RE.match(point_id or ""):
        raise LacError("status_bad_point_id", "point_id: 1–120 characters, letters, digits and _ . : @ / -.")
    if environment_name not in ENV_ORDER:
        raise LacError("environment_unknown", f"No environment {environment_name!r}; use dev, stage or prod.", status=404)
    if not re.match(r"^sha256:[0-9a-f]{64}$", digest or ""):
        raise LacError("status_bad_digest", "digest must be sha256:<64 hex digits>.")
    if bundle is not None and not PolicyBundle.objects.filter(digest=digest).exists():
        _observe_bundle(actor, digest, bundle)
    env = environment(environment_name, fresh=True)
    with transaction.atomic():
        point = DecisionPoint.objects.select_for_update().filter(point_id=point_id).first()
        if point is None:
            point = DecisionPoint(point_id=point_id, first_seen=now, builtin=builtin,
                                  owner=actor if getattr(actor, "pk", None) else None)
        was = point.mismatch_since
        point.environment, point.reported_digest, point.reported_at = environment_name, digest, now
        point.meta = {k: str(v)[:200] for k, v in (meta or {}).items()}
        if digest == env.bundle.digest:
            point.mismatch_since = None
        elif point.mismatch_since is None:
            point.mismatch_since = now
        point.save()
        state = _point_state(point, env, now)
        if state == "drift" and was is None:
            audit_record(actor=actor or "status-api", action="studio.drift.detected", obj=point,
                         details={"environment": environment_name, "expected": env.bundle.digest, "reported": digest})
    if state == "drift":  # every report while drifting; on-call groups them into one incident by the dedup key
        _drift_alert(point, env)
    return point


def _observe_bundle(actor: Any, digest: str, doc: Any) -> PolicyBundle:
    """Keep the content of a bundle a point runs but the registry never saw (needed to adopt it)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("policies"), dict):
        raise LacError("status_bad_bundle", "bundle must be the bundle document: {policies, schema, catalogs, lint}.")
    built = Bundle.build(policies=doc["policies"], schema=doc.get("schema") or {}, catalogs=doc.get("catalogs") or {},
                         lint_config=doc.get("lint") or None)
    if built.digest != digest:
        raise LacError("status_digest_mismatch", f"The bundle sent hashes to {built.digest}, not {digest}.")
    if not built.ok:
        raise LacError("status_bundle_invalid", "The bundle sent does not compile.", details=[d.to_dict() for d in built.errors][:20])
    with transaction.atomic():
        return _register(actor=actor, built=built, version=f"observed-{digest[7:15]}",
                         change_note="Observed on a decision point; not registered", parent=None, registered=False)


_builtin_last: dict[str, float] = {}


def _builtin_heartbeat(env: Environment) -> None:
    """The built-in decide API reports the digest it decides with, at most every 15 s per process."""
    import os
    import socket

    t = time.monotonic()
    if t - _builtin_last.get(env.name, -1e9) < BUILTIN_HEARTBEAT_SECONDS:
        return
    _builtin_last[env.name] = t
    with contextlib.suppress(ServiceError):
        status_report(actor="decide-api", point_id=f"builtin:{socket.gethostname()[:60]}:{os.getpid()}",
                      environment_name=env.name, digest=env.bundle.digest, builtin=True,
                      meta={"kind": "built-in decide API"})
    DecisionPoint.objects.filter(builtin=True, reported_at__lt=timezone.now() - timedelta(hours=1)).delete()


def _point_state(point: DecisionPoint, env: Environment, now: datetime) -> str:
    """ok | converging (lagging a recent deployment) | drift | stale (silent too long)."""
    if now - point.reported_at > STALE_AFTER:
        return "stale"
    if point.reported_digest == env.bundle.digest:
        return "ok"
    recent = env.deployed_at and now - env.deployed_at < DRIFT_GRACE
    previous = Deployment.objects.filter(environment=env.name, bundle__digest=point.reported_digest).exists()
    if recent and previous:
        return "converging"
    return "drift"


def _drift_alert(point: DecisionPoint, env: Environment) -> None:
    from oncall import services as oncall

    with contextlib.suppress(ServiceError):
        oncall.raise_alert(source="lac.drift", severity="warning" if env.name != "prod" else "critical",
                           summary=f"Policy drift in {env.name}: {point.point_id} runs {point.reported_digest[:19]}",
                           dedup_key=f"lac-drift:{env.name}:{point.point_id}",
                           details={"environment": env.name, "expected": env.bundle.digest, "reported": point.reported_digest},
                           links=["/studio/drift/"])


def drift_report(environment_name: str, *, now: datetime | None = None) -> dict:
    """Registry-expected vs reported digests for every decision point of an environment."""
    now = now or timezone.now()
    env = environment(environment_name, fresh=True)
    known = {b.digest: b for b in PolicyBundle.objects.filter(
        digest__in=DecisionPoint.objects.filter(environment=env.name).values("reported_digest"))}
    points, drifting = [], []
    last = Deployment.objects.filter(environment=env.name).select_related("bundle").first()
    registry_ok = last is None or last.bundle_id == env.bundle_id
    for p in DecisionPoint.objects.filter(environment=env.name):
        state = _point_state(p, env, now)
        b = known.get(p.reported_digest)
        row = {"point": p, "point_id": p.point_id, "state": state, "reported": p.reported_digest, "since": p.mismatch_since,
               "reported_at": p.reported_at, "builtin": p.builtin, "known": b is not None,
               "registered": bool(b and b.registered), "version": b.version if b else None}
        points.append(row)
        if state == "drift":
            drifting.append(row)
    if not registry_ok:
        drifting.append({"point": None, "point_id": "registry", "state": "drift", "reported": env.bundle.digest,
                         "since": env.deployed_at, "builtin": False, "known": True, "registered": env.bundle.registered,
                         "version": env.bundle.version, "reported_at": env.deployed_at})
    headline = ""
    if drifting:
        first = drifting[0]
        since = first["since"].strftime("%Y-%m-%d %H:%M UTC") if first["since"] else "unknown"
        headline = (f"{len(drifting)} decision point(s) in {env.name} run something other than the registered "
                    f"{env.bundle.version} ({env.bundle.digest[:19]}): {first['point_id']} runs "
                    f"{first['version'] or first['reported'][:19]} since {since}.")
    return {"environment": env.name, "expected": env.bundle.digest, "version": env.bundle.version, "points": points,
            "drifting": drifting, "headline": headline}


def remediate(*, actor: Any, environment_name: str, point_id: str, way: str) -> ChangeRequest:
    """Open the change request that reconciles a drifting point: ``adopt`` its bundle into the registry
    (and deploy it there), or ``redeploy`` the registered version. Approved like any other change."""
    from studio.lac.diff import structural_diff

    if way not in ("adopt", "redeploy"):
        raise LacError("remediation_unknown", "A remediation is adopt or redeploy.")
    if not (_can(actor, _cap("STUDIO_AUTHOR")) or _can(actor, _cap("STUDIO_APPROVE"))):
        raise Forbidden("Only policy authors and approvers remediate drift.", code="remediation_forbidden")
    env = environment(environment_name, fresh=True)
    point = DecisionPoint.objects.filter(point_id=point_id, environment=env.name).first()
    if point is None:
        raise NotFound("decision point")
    if point.reported_digest == env.bundle.digest:
        raise LacError("remediation_no_drift", f"{point_id} already runs the registered bundle.", status=409)
    if way == "adopt":
        bundle = PolicyBundle.objects.filter(digest=point.reported_digest).first()
        if bundle is None:
            raise LacError("remediation_unknown_bundle", "The point never sent the content of the bundle it runs; it must report "
                           "it (status API, field bundle) before it can be adopted. Redeploy instead.", status=409)
        structure = structural_diff(compiled(env.bundle), compiled(bundle))
        title = f"Adopt the live bundle of {point_id} into {env.name}"
        desc = (f"{point_id} runs {point.reported_digest} instead of the registered {env.bundle.version} "
                f"({env.bundle.digest}) since {point.mismatch_since:%Y-%m-%d %H:%M} UTC. Merging registers it and deploys it to {env.name}.")
        tier = change_tier(structure, compiled(env.bundle), compiled(bundle))
    else:
        bundle, structure, tier = env.bundle, None, 2
        title = f"Redeploy {env.bundle.version} to {env.name}"
        desc = (f"{point_id} runs {point.reported_digest} instead of the registered {env.bundle.version}. Merging records the "
                f"registered version as authoritative; points re-fetch it from GET /api/lac/bundles/{env.name}.")
    open_same = ChangeRequest.objects.filter(kind=way, target_environment=env.name, bundle=bundle,
                                             status__in=[ChangeRequest.Status.OPEN, ChangeRequest.Status.APPROVED]).first()
    if open_same:
        return open_same
    with transaction.atomic():
        cr = ChangeRequest.objects.create(title=title, description=desc, kind=way, author=actor, base_bundle=env.bundle,
                                          bundle=bundle, target_environment=env.name, tier=tier,
                                          approvals_required=2 if (tier == 1 or env.name == "prod") else 1,
                                          checks=(bundle.checks or {}) | ({"structure": structure} if structure else {}))
        audit_record(actor=actor, action="studio.drift.remediate", obj=cr,
                     details={"environment": env.name, "point": point_id, "way": way, "bundle": bundle.digest})
    return cr


def environment_diff(a: str, b: str, *, log_limit: int = 2000) -> dict:
    """Structural and semantic differences between what two environments run (corpus + recent log of ``b``)."""
    from studio.lac import redteam
    from studio.lac.diff import corpus_items, semantic_diff, structural_diff

    ea, eb = environment(a, fresh=True), environment(b, fresh=True)
    key = (ea.bundle.digest, eb.bundle.digest, log_limit)
    hit = _ENV_DIFF_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] < 60:
        return hit[1]
    ba, bb = compiled(ea.bundle), compiled(eb.bundle)
    structure = structural_diff(bb, ba)
    if structure["identical"]:
        out = {"structure": structure, "semantic": None, "from": eb, "to": ea}
    else:
        log = DecisionRecord.objects.filter(environment=b).values_list("id", "request", "locale")[:log_limit]
        items = list(corpus_items(redteam.load_corpus())) + [("log", str(pk), req, loc or "en") for pk, req, loc in log]
        sem = semantic_diff(bb, ba, items, keep=200)
        out = {"structure": structure, "semantic": sem.summary() | {"changes": sem.changes[:50]}, "from": eb, "to": ea}
    _ENV_DIFF_CACHE[key] = (time.monotonic(), out)
    return out


_ENV_DIFF_CACHE: dict[tuple, tuple[float, dict]] = {}


# --- diff simulator --------------------------------------------------------------------------------------------------

MAX_SIMULATION_DAYS = 90
PROGRESS_EVERY = 5000


def simulation_start(*, actor: Any, draft: Draft, environment_name: str, days: int = 7, include_corpus: bool = True,
                     now: datetime | None = None) -> Simulation:
    """Queue a diff simulation of ``draft`` against what ``environment_name`` runs, over the decisions
    logged in that environment during the last ``days`` days (and the red-team corpus)."""
    from accounts.roles import Cap
    from studio import tasks

    if not _can(actor, Cap.STUDIO_AUTHOR) and not _can(actor, Cap.STUDIO_APPROVE):
        raise Forbidden("Only policy authors and approvers run simulations.", code="simulation_forbidden")
    if not isinstance(days, int) or not 1 <= days <= MAX_SIMULATION_DAYS:
        raise LacError("simulation_bad_period", f"The period is 1 to {MAX_SIMULATION_DAYS} days.")
    built = draft_bundle(draft)
    if not built.ok:
        raise LacError("draft_has_errors", f"The draft has {len(built.errors)} error(s); fix them to simulate.",
                       details=diagnostics_json(built)[:20])
    env = environment(environment_name, fresh=True)
    now = now or timezone.now()
    sim = Simulation.objects.create(
        draft=draft, candidate={"sources": draft.sources, "catalogs": draft.catalogs, "schema": draft.base_bundle.schema,
                                "lint_config": draft.base_bundle.lint_config or {}},
        candidate_digest=built.digest, environment=env.name, baseline_digest=env.bundle.digest,
        period_start=now - timedelta(days=days), period_end=now, include_corpus=include_corpus,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    transaction.on_commit(lambda: tasks.simulate.delay(str(sim.pk)))
    return sim


def _log_items(sim: Simulation, domains: set[str] | None = None):
    """Logged requests of the period (only of ``domains`` when given), streamed as raw JSON text
    (no ORM objects: 100k rows in about a second)."""
    from django.db import connection

    table = DecisionRecord._meta.db_table
    sql = (f"SELECT id, CAST(request AS TEXT), locale FROM {table} "  # noqa: S608 - table name from the model, values bound
           "WHERE environment = %s AND at >= %s AND at <= %s")
    params: list = [sim.environment, sim.period_start, sim.period_end]
    if domains is not None:
        sql += " AND domain IN (" + ", ".join(["%s"] * len(domains)) + ")" if domains else " AND 1 = 0"
        params += sorted(domains)
    loads = json.loads
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while True:
            rows = cur.fetchmany(5000)
            if not rows:
                break
            for pk, raw, locale in rows:
                yield "log", str(pk), loads(raw), locale or "en"


def simulation_run(simulation_id) -> Simulation:
    """Run a queued simulation (the Celery task calls this). Progress is saved every 5,000 decisions."""
    from studio.lac import redteam
    from studio.lac.diff import KINDS, affected_domains, corpus_items, semantic_diff, structural_diff

    sim = Simulation.objects.filter(pk=simulation_id).first()
    if sim is None:
        raise NotFound("simulation")
    if sim.status in (Simulation.Status.DONE, Simulation.Status.FAILED):
        return sim
    base = PolicyBundle.objects.filter(digest=sim.baseline_digest).first()
    try:
        if base is None:
            raise LacError("simulation_baseline_missing", "The baseline bundle is gone.")
        c = sim.candidate
        cand = build_candidate(c["sources"], c["catalogs"], c["schema"], c.get("lint_config") or None)
        if not cand.ok:
            raise LacError("draft_has_errors", "The candidate no longer compiles.")
        baseline = compiled(base)
        domains = affected_domains(structural_diff(baseline, cand), baseline, cand)
        logged = DecisionRecord.objects.filter(environment=sim.environment, at__gte=sim.period_start, at__lte=sim.period_end)
        total = logged.count()
        replayed = total if domains is None else logged.filter(domain__in=sorted(domains)).count()
        corpus = redteam.load_corpus() if sim.include_corpus else []
        sim.total, sim.status = replayed + len(corpus), Simulation.Status.RUNNING
        sim.save(update_fields=["total", "status"])

        def items():
            yield from corpus_items(corpus)
            yield from _log_items(sim, domains)

        def progress(n: int) -> None:
            Simulation.objects.filter(pk=sim.pk).update(processed=n)
            _publish_simulation(sim.pk, n, sim.total)

        result = semantic_diff(baseline, cand, items(), keep=5000, progress=progress, progress_every=PROGRESS_EVERY)
        summary = result.summary()
        # logged decisions of domains the change cannot reach decide identically: counted, not re-run
        summary["unaffected"] = total - replayed
        summary["affected_domains"] = sorted(domains) if domains is not None else None
        summary["total"] += total - replayed
        if "log" in summary["by_source"] or total:
            summary["by_source"].setdefault("log", dict.fromkeys(KINDS, 0) | {"total": 0})["total"] += total - replayed
        sim.summary, sim.changes, sim.processed = summary, _storable(result.changes), result.total
        sim.status, sim.finished_at = Simulation.Status.DONE, timezone.now()
        sim.save(update_fields=["summary", "changes", "processed", "status", "finished_at"])
    except ServiceError as exc:
        Simulation.objects.filter(pk=sim.pk).update(status=Simulation.Status.FAILED, error=f"{exc.message} ({exc.code})",
                                                    finished_at=timezone.now())
    _publish_simulation(sim.pk, sim.processed, sim.total)
    sim.refresh_from_db()
    return sim


def _publish_simulation(pk, processed: int, total: int) -> None:
    from trustfabric import realtime

    with contextlib.suppress(Exception):
        realtime.publish(f"studio.simulation.{pk}", event={"type": "simulation.progress", "processed": processed, "total": total})


def simulation_get(pk) -> Simulation:
    sim = Simulation.objects.filter(pk=pk).first()
    if sim is None:
        raise NotFound("simulation")
    return sim


def simulation_csv_rows(sim: Simulation):
    yield ["source", "case", "kind", "action", "domain", "data_class", "locale", "effect_before", "effect_after",
           "reason_before", "reason_after", "policies_before", "policies_after", "obligations_before", "obligations_after"]
    for c in sim.changes:
        b, a = c["before"], c["after"]
        yield [c["source"], c["key"], c["kind"], c.get("action") or "", c.get("domain") or "", c.get("data_class") or "",
               c.get("locale") or "", b["effect"], a["effect"], b["reason"], a["reason"], " ".join(b["policies"]),
               " ".join(a["policies"]), "; ".join(b["obligations"]), "; ".join(a["obligations"])]


# --- what the Studio pages show ---------------------------------------------------------------------------------------


def editor_schema(schema_data: dict) -> dict:
    """The schema in the shape the editor's schema dock and autocompletion use."""
    enums = {name: list((e or {}).get("values") or []) for name, e in (schema_data.get("enums") or {}).items()}
    enums.setdefault("domain", sorted(schema_data.get("domains") or {}))
    enums.setdefault("data_class", sorted(schema_data.get("data_classes") or {}))
    enums.setdefault("action", sorted(schema_data.get("actions") or {}))

    def attr(t: Any) -> dict:
        if isinstance(t, dict):
            return {"type": "record", "attributes": {k: attr(v) for k, v in (t.get("attributes") or {}).items()}}
        t = str(t)
        base = t.rstrip("?")
        inner = base[4:-1] if base.startswith("set<") else base
        out: dict[str, Any] = {"type": t}
        if inner in enums:
            out["values"] = enums[inner]
        return out

    entities = {}
    for ent, attrs in (schema_data.get("entities") or {}).items():
        entities[ent] = {k: attr(v) for k, v in (attrs or {}).items()} if isinstance(attrs, dict) else {}
    from studio.lac.checker import FUNCTIONS

    domains = {}
    for k, v in (schema_data.get("domains") or {}).items():
        fields: dict[str, str] = {}
        for ds in (v.get("datasets") or {}).values():
            fields.update(ds.get("fields") or {})
        domains[k] = {"tier": v.get("tier"), "description": v.get("description", ""), "fields": fields}
    return {"entities": entities, "enums": enums, "functions": dict(FUNCTIONS),
            "data_classes": schema_data.get("data_classes") or {}, "actions": schema_data.get("actions") or {},
            "domains": domains}


def editor_dock(schema: dict) -> list[dict]:
    """The schema dock's rows: every attribute path (records flattened) with its type and enum values."""
    out = []

    def walk(prefix: str, attrs: dict, rows: list) -> None:
        for name, a in attrs.items():
            if a.get("type") == "record":
                walk(f"{prefix}{name}.", a.get("attributes") or {}, rows)
            else:
                rows.append({"path": f"{prefix}{name}", "type": a.get("type", ""), "values": a.get("values") or []})

    for ent, attrs in schema["entities"].items():
        rows: list = []
        walk(f"{ent}.", attrs, rows)
        for r in rows:
            r["name"] = r["path"][len(ent) + 1:]
        out.append({"entity": ent, "attributes": rows})
    return out


def policy_matrix(query: str = "") -> dict:
    """Every policy id across dev, stage and prod: tier, domain, effect and whether each environment runs
    the same text as dev."""
    from studio.lac.formatter import policy_to_lines

    envs = []
    for name in ENV_ORDER:
        with contextlib.suppress(ServiceError):
            envs.append(environment(name))
    rows: dict[str, dict] = {}
    for env in envs:
        for p in compiled(env.bundle).policies:
            h = hashlib.sha256("\n".join(policy_to_lines(p)).encode()).hexdigest()[:8]
            r = rows.setdefault(p.id, {"id": p.id, "tier": p.tier, "domain": p.domain, "effect": p.effect, "envs": {}})
            r["envs"][env.name] = h
    q = (query or "").strip().lower()
    out = []
    for r in sorted(rows.values(), key=lambda r: (r["tier"], r["domain"], r["id"])):
        if q and q not in r["id"].lower() and q not in r["domain"].lower() and q not in r["effect"]:
            continue
        ref = r["envs"].get("dev")
        r["status"] = [{"env": e.name, "hash": r["envs"].get(e.name),
                        "state": "absent" if e.name not in r["envs"] else ("same" if r["envs"][e.name] == ref else "differs")}
                       for e in envs]
        out.append(r)
    domains: dict[str, list] = {}
    for r in out:
        domains.setdefault(f"Tier {r['tier']} · {r['domain']}", []).append(r)
    return {"envs": envs, "groups": domains, "count": len(out), "total": len(rows)}
