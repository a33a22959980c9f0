"""ZK-TX exchange: partner keys, epochs, blinded sets, ≤k queries and transcripts, fairness, appeals and audit bundles.

The one place where the exchange's business actions happen (DESIGN.md): each write is one
transaction with its audit event; views, the API, tasks and commands call these functions.

What the exchange sees (docs/zktx-protocol.md §1): blinded and doubly-blinded elements, proofs,
signatures, public keys, digests — never a raw selector, a pepper or a partner's secret key. It
verifies every epoch (``verify_epoch``) before matching and every query transcript
(``verify_transcript``) before it releases a receipt; every released verdict is a
``zktx.transcript`` witness statement. Partners get verdict receipts, never transcripts (a query
transcript holds the count and the other side's evaluation, which would let a partner test
membership of its own selectors: §4 and §7 of the spec); transcripts and bundles are audit
material for the exchange's operators and auditors.

Long work (committing an epoch, matching queries, exporting bundles) runs in Celery tasks on the
``zktx`` queue (``zktx/tasks.py``) that call :func:`epoch_commit_run`, :func:`queue_process` and
:func:`bundle_export_run`; the same functions can be called in-process (``manage.py zktx pilot``).
Queries are served in weighted-fair order across tenants and admitted through per-tenant token
buckets (:mod:`zktx.fairness`); per-epoch budgets and novelty rules bound probing (§9).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from accounts.permissions import Principal
from accounts.roles import Cap
from accounts.services import audit_record
from trustfabric.errors import Conflict, Forbidden, NotFound, ServiceError
from zktx import blobs, fairness, keys, wire
from zktx.bundle import bls
from zktx.bundle import format as bundle_format
from zktx.bundle.builder import attach_inclusion, bundle_statement, draft_bundle, seal_bundle
from zktx.bundle.errors import BundleError
from zktx.models import (
    Appeal,
    AuditBundle,
    Envelope,
    Epoch,
    EpochEvaluation,
    FairnessClock,
    HolderSet,
    PartnerKey,
    Pilot,
    PilotRun,
    Query,
    ServiceLog,
    TenantQuota,
)
from zktx.protocol.chunkproof import check_chunking
from zktx.protocol.errors import (
    InvalidElementError,
    KeyMismatchError,
    ProtocolError,
    QueryBudgetExhaustedError,
    ReferenceMismatchError,
    TranscriptMalformedError,
)
from zktx.protocol.group import decode_elements
from zktx.protocol.psi import (
    EpochState,
    Exchange,
    QueryBudget,
    check_holder_set,
    check_query_novelty,
    check_query_request,
)
from zktx.protocol.selectors import SELECTOR_TYPES
from zktx.protocol.transcript import (
    EPOCH_EVALUATION_TYPE,
    QUERY_EVALUATION_TYPE,
    Policy,
    SessionHeader,
    SignedSessionHeader,
    b64d,
    b64e,
    check_type,
    digest,
    get,
    get_elements,
    proofs_from_json,
    verify_signature,
)
from zktx.protocol.verify import (
    PartyKeys,
    VerifiedEpoch,
    verify_commitment,
    verify_epoch,
    verify_transcript,
)

log = logging.getLogger("zktx.exchange")

SYSTEM = "zktx-exchange"
CLOCK_KEY = "exchange"
APPEAL_SLA = timedelta(hours=float(getattr(settings, "ZKTX_APPEAL_SLA_HOURS", 24)))
MAX_EVALUATION_ATTEMPTS = int(getattr(settings, "ZKTX_MAX_EVALUATION_ATTEMPTS", 3))
CLAIM_TIMEOUT = timedelta(minutes=10)
DEFAULT_QUOTA = {"weight": 1.0, "rate_per_minute": 60.0, "burst": 20, **getattr(settings, "ZKTX_DEFAULT_QUOTA", {})}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class RateLimited(ServiceError):
    """HTTP 429: the API adds ``Retry-After: <retry_after>``."""

    status = 429

    def __init__(self, code: str, message: str, *, retry_after: int, details: Any = None):
        super().__init__(code, message, details={"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after


@dataclass(frozen=True)
class Via:
    """How a write arrived (recorded as a request envelope with the body; never headers or tokens)."""

    method: str
    path: str


def _now() -> datetime:
    return timezone.now()


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at else None


def _protocol_error(exc: ProtocolError, what: str = "") -> ServiceError:
    return ServiceError(exc.code, f"{what}{exc.message}" if what else exc.message)


def _org_of(actor: Any) -> Organization | None:
    if not getattr(actor, "is_authenticated", False):
        return None
    m = actor.memberships.select_related("organization").first()
    return m.organization if m else None


def _log(event: str, *, pilot: Pilot | None = None, run: PilotRun | None = None, **fields: Any) -> None:
    """One structured service log line (also sent to the ``zktx.exchange`` logger)."""
    clean = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in fields.items()}
    if pilot is not None:
        clean.setdefault("pilot", pilot.name)
    ServiceLog.objects.create(at=_now(), event=event, pilot=pilot, run=run, fields=clean)
    log.info(event, extra={"zktx": clean})


def _envelope(via: Via | None, *, kind: str, organization: Organization | None, pilot: Pilot | None,
              run: PilotRun | None, body: Any) -> None:
    if via is None:
        return
    Envelope.objects.create(
        received_at=_now(), kind=kind, method=via.method[:8], path=via.path[:300], organization=organization,
        pilot=pilot, run=run, body_blob=blobs.put_json(body),
    )


# =========================================================================== visibility


def is_console(p: Principal) -> bool:
    return p.is_operator and p.can(Cap.ZKTX_CONSOLE)


def pilots_visible(p: Principal) -> QuerySet[Pilot]:
    qs = Pilot.objects.select_related("holder", "querier")
    if is_console(p):
        return qs
    if p.is_partner and p.can(Cap.PORTAL):
        return qs.filter(Q(holder=p.organization) | Q(querier=p.organization))
    return qs.none()


def _visible(p: Principal, qs: QuerySet, pilot_field: str = "pilot") -> QuerySet:
    if is_console(p):
        return qs
    if p.is_partner and p.can(Cap.PORTAL):
        org = p.organization
        return qs.filter(Q(**{f"{pilot_field}__holder": org}) | Q(**{f"{pilot_field}__querier": org}))
    return qs.none()


def _get(qs: QuerySet, what: str, **lookup: Any):
    try:
        return qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError, DjangoValidationError) as exc:
        raise NotFound(what) from exc


def pilot_get(p: Principal, pilot_id: Any) -> Pilot:
    return _get(pilots_visible(p), "pilot", pk=pilot_id)


def epochs_visible(p: Principal) -> QuerySet[Epoch]:
    return _visible(p, Epoch.objects.select_related("pilot", "pilot__holder", "pilot__querier", "run"))


def epoch_get(p: Principal, epoch_id: Any) -> Epoch:
    return _get(epochs_visible(p), "epoch", pk=epoch_id)


def queries_visible(p: Principal) -> QuerySet[Query]:
    return _visible(p, Query.objects.select_related("pilot", "epoch", "tenant"))


def query_get(p: Principal, query_pk: Any) -> Query:
    return _get(queries_visible(p), "query", pk=query_pk)


def appeals_visible(p: Principal) -> QuerySet[Appeal]:
    return _visible(p, Appeal.objects.select_related("query", "query__pilot", "organization"), "query__pilot")


def appeal_get(p: Principal, appeal_id: Any) -> Appeal:
    return _get(appeals_visible(p), "appeal", pk=appeal_id)


def runs_visible(p: Principal) -> QuerySet[PilotRun]:
    qs = PilotRun.objects.prefetch_related("pilots")
    if is_console(p):
        return qs
    if p.is_partner and p.can(Cap.PORTAL):
        org = p.organization
        return qs.filter(Q(pilots__holder=org) | Q(pilots__querier=org)).distinct()
    return qs.none()


def run_get(p: Principal, run_id: Any) -> PilotRun:
    return _get(runs_visible(p), "pilot run", pk=run_id)


def bundles_visible(p: Principal) -> QuerySet[AuditBundle]:
    return AuditBundle.objects.select_related("run").filter(run__in=runs_visible(p))


def bundle_get(p: Principal, bundle_id: Any) -> AuditBundle:
    return _get(bundles_visible(p), "audit bundle", pk=bundle_id)


def keys_visible(p: Principal) -> QuerySet[PartnerKey]:
    qs = PartnerKey.objects.select_related("organization")
    if is_console(p):
        return qs
    if p.is_partner and p.can(Cap.PORTAL):
        return qs.filter(organization=p.organization)
    return qs.none()


def _partner_role(actor: Any, pilot: Pilot) -> tuple[Organization, str]:
    org = _org_of(actor)
    role = pilot.role_of(org)
    if role is None:
        if org is not None and org.is_operator:
            raise Forbidden("Only the pilot's partners do this, with their own keys.", code="zktx_partner_only")
        raise NotFound("pilot")
    return org, role


def _require_role(role: str, wanted: str) -> None:
    if role != wanted:
        raise Forbidden(f"Only the {wanted} of this pilot does this.", code="zktx_wrong_role")


# =========================================================================== exchange info and keys


def exchange_info() -> dict[str, Any]:
    """Public keys a partner pins: exchange identity, statement signer and the witness log."""
    return {
        "identity_key": b64e(keys.exchange_public_key()),
        "exchange_verifier_key": keys.exchange_verifier_key(),
        "statement_verifier_key": keys.statement_verifier_key(),
        "log_verifier_key": keys.log_verifier_key(),
        "suite": "ristretto255-SHA512",
    }


def active_key(org: Organization) -> PartnerKey | None:
    return PartnerKey.objects.filter(organization=org, status=PartnerKey.Status.ACTIVE).first()


def _hex(value: Any, n: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * n:
        raise ServiceError("key_format_invalid", f"{what} must be {2 * n} hex digits.")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise ServiceError("key_format_invalid", f"{what} must be {2 * n} hex digits.") from exc


@transaction.atomic
def key_register(
    *, actor: Any, identity_key: str, bls_public_key: str, bls_pop: str, signature: str, via: Via | None = None
) -> PartnerKey:
    """Register (or rotate) the caller's partner keys.

    ``identity_key`` is the b64 Ed25519 public key, ``signature`` its signature of the
    ``zktx-key-registration/1`` body (:mod:`zktx.wire`); the BLS key must come with a valid proof
    of possession (rogue-key defence, docs/zktx-bundle.md §5). The previous key is revoked.
    """
    org = _org_of(actor)
    if org is None or org.is_operator:
        raise Forbidden("Only partner organizations register exchange keys.", code="zktx_partner_only")
    try:
        ident = b64d(identity_key, "identity_key")
    except ProtocolError as exc:
        raise ServiceError("key_format_invalid", "identity_key must be a base64url Ed25519 public key.") from exc
    if len(ident) != 32:
        raise ServiceError("key_format_invalid", "identity_key must be 32 bytes.")
    pk = _hex(bls_public_key, 48, "bls_public_key")
    pop = _hex(bls_pop, 96, "bls_pop")
    body = wire.registration_body(organization=org.slug, identity_key=ident, bls_public_key=pk, bls_pop=pop)
    if not wire.verify_registration(body, signature):
        raise ServiceError("registration_signature_invalid",
                           "The registration is not signed by the identity key (for this organization).")
    try:
        bls.pop_verify(pk, pop)
    except bls.BlsError as exc:
        raise ServiceError(exc.code, f"BLS key: {exc.message}") from exc
    now = _now()
    old = list(PartnerKey.objects.select_for_update().filter(organization=org, status=PartnerKey.Status.ACTIVE))
    for k in old:
        k.status, k.revoked_at = PartnerKey.Status.REVOKED, now
        k.save(update_fields=["status", "revoked_at"])
    key = PartnerKey.objects.create(organization=org, identity_public=ident.hex(), bls_public=pk.hex(),
                                    bls_pop=pop.hex(), created_at=now, created_by=actor)
    audit_record(actor=actor, action="zktx.key.register", obj=key, organization=org,
                 details={"identity_key": ident.hex(), "bls_public_key": pk.hex(), "rotated": [str(k.pk) for k in old]})
    _log("key.registered", organization=org.slug, identity_key=ident.hex()[:16], rotated=len(old))
    _envelope(via, kind="key-register", organization=org, pilot=None, run=None,
              body={"identity_key": identity_key, "bls_public_key": bls_public_key, "bls_pop": bls_pop,
                    "signature": signature})
    return key


# =========================================================================== pilots and runs


def _check_policy(values: Mapping[str, int]) -> Policy:
    try:
        return Policy(**values)
    except ProtocolError as exc:
        raise ServiceError("pilot_policy_invalid", exc.message) from exc
    except TypeError as exc:
        raise ServiceError("pilot_policy_invalid", str(exc)) from exc


@transaction.atomic
def pilot_create(
    *,
    actor: Any,
    name: str,
    holder: Organization,
    querier: Organization,
    k: int,
    selector_type: str = "phone",
    min_holder_set: int = 100,
    min_query: int = 16,
    max_query: int = 4096,
    query_budget: int = 100,
    min_novel: int = 8,
    epoch_seconds: int = 86400,
    config: dict | None = None,
) -> Pilot:
    if not isinstance(name, str) or not _NAME_OK.match(name):
        raise ServiceError("pilot_name_invalid", "A pilot name is 1-40 letters, digits, '.', '_' or '-'.")
    if Pilot.objects.filter(name=name).exists():
        raise Conflict("pilot_exists", f"There is already a pilot named {name}.")
    for org in (holder, querier):
        if org.kind != Organization.Kind.PARTNER:
            raise ServiceError("pilot_partner_invalid", f"{org} is not a partner organization.")
    if holder.pk == querier.pk:
        raise ServiceError("pilot_partner_invalid", "The holder and the querier must be different partners.")
    if selector_type not in SELECTOR_TYPES:
        raise ServiceError("pilot_selector_type_invalid", f"selector_type must be one of {', '.join(SELECTOR_TYPES)}.")
    if not isinstance(epoch_seconds, int) or not 60 <= epoch_seconds <= 90 * 86400:
        raise ServiceError("pilot_epoch_invalid", "An epoch lasts between 60 seconds and 90 days.")
    policy = _check_policy({"k": k, "min_holder_set": min_holder_set, "min_query": min_query, "max_query": max_query,
                            "query_budget": query_budget, "min_novel": min_novel})
    pilot = Pilot.objects.create(name=name, holder=holder, querier=querier, selector_type=selector_type,
                                 epoch_seconds=epoch_seconds, config=config or {}, created_at=_now(),
                                 **policy.to_json())
    audit_record(actor=actor, action="zktx.pilot.create", obj=pilot,
                 details={"name": name, "holder": holder.slug, "querier": querier.slug, **policy.to_json()})
    _log("pilot.created", pilot=pilot, holder=holder.slug, querier=querier.slug, policy=policy.to_json())
    return pilot


@transaction.atomic
def pilot_configure(*, actor: Any, pilot: Pilot, **changes: Any) -> Pilot:
    """Change a pilot's policy or schedule (takes effect at the next epoch: a started epoch keeps its policy)."""
    pilot = Pilot.objects.select_for_update().get(pk=pilot.pk)
    allowed = {"k", "min_holder_set", "min_query", "max_query", "query_budget", "min_novel", "epoch_seconds",
               "selector_type", "config"}
    unknown = set(changes) - allowed
    if unknown:
        raise ServiceError("pilot_field_unknown", f"Cannot change {', '.join(sorted(unknown))}.")
    values = {**pilot.policy_json(), **{k: v for k, v in changes.items() if k in pilot.policy_json()}}
    _check_policy(values)
    before = {k: getattr(pilot, k) for k in changes}
    for k, v in changes.items():
        setattr(pilot, k, v)
    pilot.save()
    audit_record(actor=actor, action="zktx.pilot.configure", obj=pilot,
                 details={"before": before, "after": {k: getattr(pilot, k) for k in changes}})
    return pilot


@transaction.atomic
def run_start(*, actor: Any, name: str, pilots: Iterable[Pilot], config: dict | None = None) -> PilotRun:
    """A pilot run: the epochs and queries of these pilots, bundled together at the end.

    ``config`` describes the run (sizes, schedule) and goes into the audit bundle: never put
    selectors or dataset seeds in it.
    """
    pilots = list(pilots)
    if not pilots:
        raise ServiceError("run_pilots_required", "A run covers at least one pilot.")
    now = _now()
    label = f"{name}-{now:%Y%m%dT%H%M%S}-{os.urandom(2).hex()}"
    run = PilotRun.objects.create(label=label, name=name, config=config or {}, started_at=now,
                                  created_by=actor if getattr(actor, "is_authenticated", False) else None)
    run.pilots.set(pilots)
    audit_record(actor=actor, action="zktx.run.start", obj=run, details={"label": label, "pilots": [p.name for p in pilots]})
    _log("run.started", run=run, label=label, pilots=[p.name for p in pilots])
    return run


@transaction.atomic
def run_finish(*, actor: Any, run: PilotRun, summary: dict | None = None) -> PilotRun:
    run = PilotRun.objects.select_for_update().get(pk=run.pk)
    run.status, run.finished_at = PilotRun.Status.FINISHED, _now()
    if summary is not None:
        run.summary = summary
    run.save(update_fields=["status", "finished_at", "summary"])
    audit_record(actor=actor, action="zktx.run.finish", obj=run, details={"label": run.label})
    _log("run.finished", run=run, label=run.label)
    return run


# =========================================================================== epochs


def _epoch_locked(epoch: Epoch) -> Epoch:
    return Epoch.objects.select_for_update(of=("self",)).select_related("pilot", "pilot__holder", "pilot__querier", "run").get(pk=epoch.pk)


def _state_conflict(epoch: Epoch, expected: str) -> Conflict:
    return Conflict("epoch_state", f"Epoch {epoch.number} of pilot {epoch.pilot.name} is {epoch.status}; "
                                   f"this needs it to be {expected}.")


@transaction.atomic
def epoch_start(
    *, actor: Any, pilot: Pilot, run: PilotRun | None = None, purpose: str = Epoch.Purpose.REGULAR,
    appeal: Appeal | None = None, via: Via | None = None,
) -> Epoch:
    """Start an epoch (a session): fresh per-session keys and pepper. A regular epoch closes the previous one."""
    pilot = Pilot.objects.select_for_update().get(pk=pilot.pk)
    if pilot.status != Pilot.Status.ACTIVE:
        raise Conflict("pilot_closed", f"Pilot {pilot.name} is closed.")
    if run is not None and not run.pilots.filter(pk=pilot.pk).exists():
        raise ServiceError("run_pilot_mismatch", f"Run {run.label} does not cover pilot {pilot.name}.")
    now = _now()
    if purpose == Epoch.Purpose.REGULAR:
        for old in Epoch.objects.filter(pilot=pilot, purpose=Epoch.Purpose.REGULAR).exclude(status=Epoch.Status.CLOSED):
            _epoch_close(old, now, reason="superseded")
    number = (Epoch.objects.filter(pilot=pilot).aggregate(m=Max("number"))["m"] or 0) + 1
    epoch = Epoch.objects.create(pilot=pilot, run=run, number=number, purpose=purpose, appeal=appeal,
                                 session_id=f"zs-{uuid.uuid4().hex}", policy=pilot.policy_json(), created_at=now)
    audit_record(actor=actor, action="zktx.epoch.start", obj=epoch, details={
        "pilot": pilot.name, "number": number, "purpose": purpose, "session_id": epoch.session_id})
    _log("epoch.started", pilot=pilot, run=run, epoch=number, session_id=epoch.session_id, purpose=purpose)
    _envelope(via, kind="epoch-start", organization=_org_of(actor), pilot=pilot, run=run,
              body={"pilot": str(pilot.pk), "run": str(run.pk) if run else None})
    return epoch


def _epoch_close(epoch: Epoch, now: datetime, *, reason: str) -> None:
    epoch.status, epoch.closed_at = Epoch.Status.CLOSED, now
    epoch.save(update_fields=["status", "closed_at"])
    _log("epoch.closed", pilot=epoch.pilot, run=epoch.run, epoch=epoch.number, reason=reason)


@transaction.atomic
def epoch_close(*, actor: Any, epoch: Epoch, reason: str = "") -> Epoch:
    epoch = _epoch_locked(epoch)
    if epoch.status != Epoch.Status.CLOSED:
        _epoch_close(epoch, _now(), reason=reason or "closed by operator")
        audit_record(actor=actor, action="zktx.epoch.close", obj=epoch, reason=reason)
    return epoch


def epochs_expire(*, now: datetime | None = None) -> list[Epoch]:
    """The epoch schedule (periodic): close open epochs past their end and start the next regular epoch
    of each active pilot (fresh session keys and pepper epoch; the partners join and sign again, and
    the holder uploads its set blinded under the new key). Returns the epochs started."""
    now = now or _now()
    started = []
    for epoch in Epoch.objects.filter(status=Epoch.Status.OPEN, ends_at__lte=now):
        with transaction.atomic():
            e = _epoch_locked(epoch)
            if e.status != Epoch.Status.OPEN:
                continue
            _epoch_close(e, now, reason="epoch ended")
            audit_record(actor=SYSTEM, action="zktx.epoch.expire", obj=e)
            newer = Epoch.objects.filter(pilot=e.pilot, purpose=Epoch.Purpose.REGULAR, number__gt=e.number).exists()
            if (e.purpose == Epoch.Purpose.REGULAR and e.pilot.status == Pilot.Status.ACTIVE and not newer
                    and e.pilot.config.get("auto_rotate", True)):
                started.append(epoch_start(actor=SYSTEM, pilot=e.pilot, run=e.run))
    return started


def _b64_bytes(value: Any, n: int, what: str) -> bytes:
    try:
        raw = b64d(value, what)
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    if len(raw) != n:
        raise ServiceError("transcript_malformed", f"{what} must be {n} bytes.")
    return raw


@transaction.atomic
def epoch_join(*, actor: Any, epoch: Epoch, session_key: str, pepper_id: str, via: Via | None = None) -> Epoch:
    """A partner contributes its per-session public key and the pepper id; with both, the header is built."""
    epoch = _epoch_locked(epoch)
    org, role = _partner_role(actor, epoch.pilot)
    if epoch.status != Epoch.Status.KEYS_PENDING:
        raise _state_conflict(epoch, Epoch.Status.KEYS_PENDING)
    if active_key(org) is None:
        raise Conflict("partner_key_missing", "Register your identity and BLS keys first (POST /api/zktx/keys).")
    key = _b64_bytes(session_key, 32, "session_key")
    try:
        decode_elements([key])
    except InvalidElementError as exc:
        raise ServiceError(exc.code, f"session_key: {exc.message}") from exc
    pid = _b64_bytes(pepper_id, 16, "pepper_id")
    mine, other = ("holder", "querier") if role == "holder" else ("querier", "holder")
    if getattr(epoch, f"{mine}_key"):
        raise Conflict("epoch_already_joined", f"The {role} already joined this epoch.")
    other_key, other_pid = getattr(epoch, f"{other}_key"), getattr(epoch, f"{other}_pepper_id")
    if other_pid and other_pid != b64e(pid):
        raise Conflict("pepper_mismatch", "Your pepper id differs from your partner's: you do not share the same "
                                          "pepper for this epoch. Agree on the pepper out of band and join again.")
    if other_key and other_key == b64e(key):
        raise ServiceError("transcript_malformed", "The holder and querier session keys must differ.")
    setattr(epoch, f"{mine}_key", b64e(key))
    setattr(epoch, f"{mine}_pepper_id", b64e(pid))
    if other_key:
        try:
            header = SessionHeader(
                epoch.session_id, epoch.number, epoch.pilot.holder.slug, epoch.pilot.querier.slug,
                b64d(epoch.holder_key), b64d(epoch.querier_key), pid, Policy(**epoch.policy),
            )
            header = SessionHeader.from_json(header.to_json())
        except ProtocolError as exc:
            raise _protocol_error(exc, "session header: ") from exc
        epoch.header, epoch.header_digest = header.to_json(), b64e(header.digest)
        epoch.status = Epoch.Status.SIGNING
    epoch.save()
    audit_record(actor=actor, action="zktx.epoch.join", obj=epoch, organization=org,
                 details={"role": role, "session_key": b64e(key), "pepper_id": b64e(pid)})
    _log("epoch.joined", pilot=epoch.pilot, run=epoch.run, epoch=epoch.number, role=role, session_key=b64e(key))
    _envelope(via, kind="epoch-join", organization=org, pilot=epoch.pilot, run=epoch.run,
              body={"session_key": session_key, "pepper_id": pepper_id})
    return epoch


def _header(epoch: Epoch) -> SessionHeader:
    if not epoch.header:
        raise _state_conflict(epoch, Epoch.Status.SIGNING)
    return SessionHeader.from_json(epoch.header)


@transaction.atomic
def epoch_sign(*, actor: Any, epoch: Epoch, signature: str, via: Via | None = None) -> Epoch:
    """A partner's Ed25519 signature of the session header (role holder or querier)."""
    epoch = _epoch_locked(epoch)
    org, role = _partner_role(actor, epoch.pilot)
    if epoch.status != Epoch.Status.SIGNING:
        raise _state_conflict(epoch, Epoch.Status.SIGNING)
    if getattr(epoch, f"{role}_signature"):
        raise Conflict("epoch_already_signed", f"The {role} already signed this header.")
    key = active_key(org)
    if key is None:
        raise Conflict("partner_key_missing", "Register your identity key first.")
    sig = _b64_bytes(signature, 64, "signature")
    header = _header(epoch)
    try:
        verify_signature(bytes.fromhex(key.identity_public), role, header.to_json(), sig, "$.signature")
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    setattr(epoch, f"{role}_signature", b64e(sig))
    setattr(epoch, f"{role}_identity", key.identity_public)
    if epoch.holder_signature and epoch.querier_signature:
        epoch.status = Epoch.Status.HOLDER_SET_PENDING
    epoch.save()
    audit_record(actor=actor, action="zktx.epoch.sign", obj=epoch, organization=org,
                 details={"role": role, "header_digest": epoch.header_digest})
    _log("epoch.signed", pilot=epoch.pilot, run=epoch.run, epoch=epoch.number, role=role,
         header_digest=epoch.header_digest)
    _envelope(via, kind="epoch-sign", organization=org, pilot=epoch.pilot, run=epoch.run, body={"signature": signature})
    return epoch


def epoch_identities(epoch: Epoch) -> dict[str, str | None]:
    """The partners' Ed25519 identity keys for this epoch (hex): those that signed its header, else the active ones."""
    out: dict[str, str | None] = {}
    for role, org in (("holder", epoch.pilot.holder), ("querier", epoch.pilot.querier)):
        signed = getattr(epoch, f"{role}_identity")
        key = None if signed else active_key(org)
        out[role] = signed or (key.identity_public if key else None)
    return out


def signed_header(epoch: Epoch) -> SignedSessionHeader:
    return SignedSessionHeader(_header(epoch), b64d(epoch.holder_signature), b64d(epoch.querier_signature))


def party_keys(epoch: Epoch) -> PartyKeys:
    return PartyKeys(bytes.fromhex(epoch.holder_identity), bytes.fromhex(epoch.querier_identity), keys.exchange_public_key())


@transaction.atomic
def holder_set_upload(*, actor: Any, epoch: Epoch, message: Any, via: Via | None = None) -> HolderSet:
    """The holder's signed blinded set (``zktx-holder-set/1``), checked against the signed header."""
    epoch = _epoch_locked(epoch)
    org, role = _partner_role(actor, epoch.pilot)
    _require_role(role, "holder")
    if epoch.status != Epoch.Status.HOLDER_SET_PENDING:
        raise _state_conflict(epoch, Epoch.Status.HOLDER_SET_PENDING)
    if not isinstance(message, dict):
        raise ServiceError("transcript_malformed", "The holder set must be a JSON object.")
    header = _header(epoch)
    try:
        y1 = check_holder_set(message, header, bytes.fromhex(epoch.holder_identity))
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    blob = blobs.put_json(message)
    hs = HolderSet.objects.create(epoch=epoch, blob=blob, size=len(y1), uploaded_at=_now(), uploaded_by=actor)
    epoch.status = Epoch.Status.EVALUATION_PENDING
    epoch.save(update_fields=["status"])
    audit_record(actor=actor, action="zktx.holder_set.upload", obj=hs, organization=org,
                 details={"epoch": str(epoch.pk), "size": len(y1), "digest": blob})
    _log("holder_set.uploaded", pilot=epoch.pilot, run=epoch.run, epoch=epoch.number, size=len(y1), digest=blob)
    _envelope(via, kind="holder-set", organization=org, pilot=epoch.pilot, run=epoch.run, body=message)
    return hs


def holder_set_message(epoch: Epoch) -> dict[str, Any]:
    hs = HolderSet.objects.filter(epoch=epoch).first()
    if hs is None:
        raise Conflict("holder_set_missing", "The holder has not uploaded its set for this epoch yet.")
    return blobs.get_json(hs.blob)


def _check_evaluation_shape(message: Any, header: SessionHeader, *, etype: str, key: bytes, n: int,
                            refs: Mapping[str, str]) -> None:
    """The cheap checks of an evaluation (before its proofs): the same order and codes as the verifier."""
    path = "$.evaluation"
    if not isinstance(message, dict):
        raise TranscriptMalformedError(f"{path}: expected an object")
    check_type(message, etype, path)
    if get(message, "session_id", path) != header.session_id or get(message, "header_digest", path) != b64e(header.digest):
        from zktx.protocol.errors import SessionMismatchError

        raise SessionMismatchError(f"{path}: another session or header")
    for field, expected in refs.items():
        if get(message, field, path) != expected:
            raise ReferenceMismatchError(f"{path}.{field}: refers to another message")
    if b64d(get(message, "key", path), f"{path}.key") != key:
        raise KeyMismatchError(f"{path}.key: not the session's key")
    elements = get_elements(message, "elements", path)
    if len(elements) != n:
        raise TranscriptMalformedError(f"{path}.elements: {len(elements)} evaluations for {n} elements")
    check_chunking(proofs_from_json(get(message, "proofs", path), f"{path}.proofs"), n)
    return None


@transaction.atomic
def epoch_evaluation_submit(*, actor: Any, epoch: Epoch, message: Any, via: Via | None = None) -> EpochEvaluation:
    """The querier's evaluation of the holder set (``zktx-epoch-evaluation/1``): shape checked now,
    proofs verified and the commitment built by the ``zktx.tasks.epoch_commit`` task."""
    epoch = _epoch_locked(epoch)
    org, role = _partner_role(actor, epoch.pilot)
    _require_role(role, "querier")
    if epoch.status != Epoch.Status.EVALUATION_PENDING:
        raise _state_conflict(epoch, Epoch.Status.EVALUATION_PENDING)
    header = _header(epoch)
    hs = HolderSet.objects.get(epoch=epoch)
    try:
        _check_evaluation_shape(message, header, etype=EPOCH_EVALUATION_TYPE, key=header.querier_key, n=hs.size,
                                refs={"holder_set_digest": b64e(bytes.fromhex(hs.blob))})
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    blob = blobs.put_json(message)
    ev = EpochEvaluation.objects.create(epoch=epoch, blob=blob, size=hs.size, submitted_at=_now(), submitted_by=actor,
                                        progress={"stage": "queued", "done": 0, "total": hs.size})
    epoch.status, epoch.error_code, epoch.error_message = Epoch.Status.COMMITTING, "", ""
    epoch.save(update_fields=["status", "error_code", "error_message"])
    audit_record(actor=actor, action="zktx.epoch.evaluation_submit", obj=ev, organization=org,
                 details={"epoch": str(epoch.pk), "size": hs.size, "digest": blob})
    _log("epoch.evaluation_submitted", pilot=epoch.pilot, run=epoch.run, epoch=epoch.number, size=hs.size, digest=blob)
    _envelope(via, kind="epoch-evaluation", organization=org, pilot=epoch.pilot, run=epoch.run, body=message)
    from zktx import tasks

    pk = str(ev.pk)
    transaction.on_commit(lambda: tasks.epoch_commit.delay(pk))
    return ev


class _ProgressWriter:
    """Persist ``progress(stage, done, total)`` on a row, at most every ``interval`` seconds per stage."""

    def __init__(self, model: Any, pk: Any, interval: float = 0.5):
        self.model, self.pk, self.interval = model, pk, interval
        self._last = 0.0
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < self.interval and done < total:
            return
        self._stage, self._last = stage, now
        self.model.objects.filter(pk=self.pk).update(progress={"stage": stage, "done": done, "total": total})


# Per-process cache of committed epochs: (EpochState for matching, VerifiedEpoch for verification).
_EPOCH_CACHE: OrderedDict[str, tuple[EpochState, VerifiedEpoch]] = OrderedDict()
_EPOCH_CACHE_LOCK = threading.Lock()
_EPOCH_CACHE_SIZE = 8


def _cache_epoch(blob: str, state: EpochState, verified: VerifiedEpoch) -> None:
    with _EPOCH_CACHE_LOCK:
        _EPOCH_CACHE[blob] = (state, verified)
        _EPOCH_CACHE.move_to_end(blob)
        while len(_EPOCH_CACHE) > _EPOCH_CACHE_SIZE:
            _EPOCH_CACHE.popitem(last=False)


def epoch_state(epoch: Epoch) -> tuple[EpochState, VerifiedEpoch]:
    """The committed epoch (tree included), from the cache or rebuilt from its stored transcript.

    The epoch was verified in full (``verify_epoch``) when it was committed; rebuilding recomputes
    the tree and checks it against the stored root, so a changed file cannot slip in.
    """
    if epoch.status not in (Epoch.Status.OPEN, Epoch.Status.CLOSED) or not epoch.transcript_blob:
        raise _state_conflict(epoch, Epoch.Status.OPEN)
    with _EPOCH_CACHE_LOCK:
        hit = _EPOCH_CACHE.get(epoch.transcript_blob)
        if hit is not None:
            _EPOCH_CACHE.move_to_end(epoch.transcript_blob)
            return hit
    from zktx.protocol.commitment import SortedSetTree

    transcript = blobs.get_json(epoch.transcript_blob)
    header = SessionHeader.from_json(transcript["session"]["header"])
    y2 = get_elements(transcript["evaluation"], "elements", "$.evaluation")
    tree = SortedSetTree(sorted(y2))
    if tree.root.hex() != epoch.commitment_root:
        raise ServiceError("epoch_store_corrupt", f"Epoch {epoch.number}: the stored set does not match its commitment.",
                           status=500)
    state = EpochState(transcript, header, tree)
    verified = VerifiedEpoch(header, tree.root, tree.size, digest(transcript["commitment"]), tree)
    _cache_epoch(epoch.transcript_blob, state, verified)
    return state, verified


def _workers() -> int:
    return int(getattr(settings, "ZKTX_WORKERS", 0)) or min(4, os.cpu_count() or 1)


def epoch_commit_run(*, evaluation_id: Any) -> EpochEvaluation:
    """Task body: verify the querier's proofs, commit to ``sort(Y2)`` and open the epoch (idempotent)."""
    now = _now()
    claimed = EpochEvaluation.objects.filter(
        Q(started_at__isnull=True) | Q(started_at__lt=now - CLAIM_TIMEOUT),
        pk=evaluation_id, status=EpochEvaluation.Status.VERIFYING,
    ).update(started_at=now)
    ev = EpochEvaluation.objects.select_related("epoch", "epoch__pilot", "epoch__run").get(pk=evaluation_id)
    if not claimed:
        return ev
    epoch = ev.epoch
    progress = _ProgressWriter(EpochEvaluation, ev.pk)
    t0 = time.perf_counter()
    try:
        holder_set = holder_set_message(epoch)
        evaluation = blobs.get_json(ev.blob)
        state = Exchange(keys.exchange_identity()).commit_epoch(signed_header(epoch), holder_set, evaluation,
                                                                progress=progress)
        verified = verify_epoch(state.transcript, keys=party_keys(epoch), workers=_workers(), progress=progress)
    except ProtocolError as exc:
        with transaction.atomic():
            e = _epoch_locked(epoch)
            EpochEvaluation.objects.filter(pk=ev.pk).update(
                status=EpochEvaluation.Status.REJECTED, error_code=exc.code, error_message=exc.message[:2000],
                finished_at=_now(), seconds=time.perf_counter() - t0)
            e.status, e.error_code, e.error_message = Epoch.Status.EVALUATION_PENDING, exc.code, exc.message[:2000]
            e.save(update_fields=["status", "error_code", "error_message"])
            audit_record(actor=SYSTEM, action="zktx.epoch.evaluation_reject", obj=ev, organization=e.pilot.querier,
                         details={"code": exc.code, "message": exc.message[:500]})
            _log("epoch.evaluation_rejected", pilot=e.pilot, run=e.run, epoch=e.number, code=exc.code)
        ev.refresh_from_db()
        return ev
    blob = blobs.put_json(state.transcript)
    seconds = time.perf_counter() - t0
    with transaction.atomic():
        e = _epoch_locked(epoch)
        opened = _now()
        e.status, e.transcript_blob = Epoch.Status.OPEN, blob
        e.commitment_root, e.commitment_size = verified.root.hex(), verified.size
        e.opened_at, e.ends_at = opened, opened + timedelta(seconds=e.pilot.epoch_seconds)
        e.error_code = e.error_message = ""
        e.save()
        EpochEvaluation.objects.filter(pk=ev.pk).update(
            status=EpochEvaluation.Status.ACCEPTED, finished_at=opened, seconds=seconds,
            progress={"stage": "done", "done": verified.size, "total": verified.size})
        audit_record(actor=SYSTEM, action="zktx.epoch.open", obj=e, organization=e.pilot.holder, details={
            "root": verified.root.hex(), "size": verified.size, "transcript_digest": blob})
        _log("epoch.opened", pilot=e.pilot, run=e.run, epoch=e.number, size=verified.size, root=verified.root.hex(),
             transcript_digest=blob, seconds=round(seconds, 3))
    _cache_epoch(blob, state, verified)
    ev.refresh_from_db()
    return ev


def epoch_transcript(epoch: Epoch) -> dict[str, Any]:
    if not epoch.transcript_blob:
        raise Conflict("epoch_not_committed", "The epoch has no verified commitment yet.")
    return blobs.get_json(epoch.transcript_blob)


def epoch_next_action(epoch: Epoch, org: Organization | None) -> str | None:
    """What the partner ``org`` should do next for this epoch (the client's loop reads it)."""
    role = epoch.pilot.role_of(org)
    if role is None:
        return None
    s = epoch.status
    if s == Epoch.Status.KEYS_PENDING and not getattr(epoch, f"{role}_key"):
        return "join"
    if s == Epoch.Status.SIGNING and not getattr(epoch, f"{role}_signature"):
        return "sign"
    if s == Epoch.Status.HOLDER_SET_PENDING and role == "holder":
        return "upload_holder_set"
    if s == Epoch.Status.EVALUATION_PENDING and role == "querier":
        return "evaluate_holder_set"
    if s == Epoch.Status.OPEN and role == "querier":
        return "query"
    return None


# =========================================================================== fairness


def quota_for(org: Organization) -> TenantQuota:
    q, _ = TenantQuota.objects.get_or_create(
        organization=org,
        defaults={"weight": DEFAULT_QUOTA["weight"], "rate_per_minute": DEFAULT_QUOTA["rate_per_minute"],
                  "burst": DEFAULT_QUOTA["burst"], "tokens": float(DEFAULT_QUOTA["burst"]), "tokens_at": time.time()},
    )
    return q


def _clock_locked() -> FairnessClock:
    FairnessClock.objects.get_or_create(key=CLOCK_KEY)
    return FairnessClock.objects.select_for_update().get(key=CLOCK_KEY)


def _bucket(q: TenantQuota) -> fairness.TokenBucket:
    return fairness.TokenBucket(float(q.burst), q.rate_per_minute / 60.0, min(q.tokens, float(q.burst)), q.tokens_at)


@transaction.atomic
def quota_set(*, actor: Any, organization: Organization, weight: float | None = None,
              rate_per_minute: float | None = None, burst: int | None = None, reason: str = "") -> TenantQuota:
    quota_for(organization)
    q = TenantQuota.objects.select_for_update().get(pk=organization.pk)
    before = {"weight": q.weight, "rate_per_minute": q.rate_per_minute, "burst": q.burst}
    if weight is not None:
        if not 0.01 <= weight <= 100:
            raise ServiceError("quota_invalid", "weight must be between 0.01 and 100.")
        q.weight = float(weight)
    if rate_per_minute is not None:
        if not 0 < rate_per_minute <= 100_000:
            raise ServiceError("quota_invalid", "rate_per_minute must be between 0 and 100,000.")
        q.rate_per_minute = float(rate_per_minute)
    if burst is not None:
        if not 1 <= burst <= 10_000:
            raise ServiceError("quota_invalid", "burst must be between 1 and 10,000.")
        q.burst = int(burst)
        q.tokens = min(q.tokens, float(q.burst))
    q.save()
    audit_record(actor=actor, action="zktx.quota.set", object_type="zktx.tenantquota", object_id=str(organization.pk),
                 organization=organization, reason=reason,
                 details={"before": before, "after": {"weight": q.weight, "rate_per_minute": q.rate_per_minute,
                                                      "burst": q.burst}})
    return q


def _admit(org: Organization, cost: float, now_s: float) -> tuple[TenantQuota, float, float]:
    """Token bucket, then WFQ tags. Locks the clock, then the tenant's row (always in that order)."""
    clock = _clock_locked()
    quota_for(org)
    q = TenantQuota.objects.select_for_update().get(pk=org.pk)
    bucket, decision = _bucket(q).take(now_s)
    if not decision.allowed:
        raise RateLimited(
            "rate_limited",
            f"{org.name} is over its query rate ({q.rate_per_minute:g}/min, burst {q.burst}); "
            f"retry in {decision.retry_after_header} s.",
            retry_after=decision.retry_after_header,
            details={"rate_per_minute": q.rate_per_minute, "burst": q.burst},
        )
    start, finish = fairness.admit_tags(clock.virtual_time, q.last_finish, cost, q.weight)
    q.tokens, q.tokens_at, q.last_finish = bucket.tokens, bucket.updated, finish
    q.admitted += 1
    q.save(update_fields=["tokens", "tokens_at", "last_finish", "admitted", "updated_at"])
    return q, start, finish


def _seen_elements(epoch: Epoch) -> set[bytes]:
    seen: set[bytes] = set()
    for req in Query.objects.filter(epoch=epoch).values_list("request", flat=True):
        seen.update(get_elements(req, "elements", "$.request"))
    return seen


def query_submit(
    *, actor: Any, epoch: Epoch, request: Any, rerun_of: Query | None = None, via: Via | None = None,
    now: datetime | None = None,
) -> Query:
    """Admit a signed query request (``zktx-query-request/1``) from the pilot's querier.

    Checks, in order: the epoch is open; the request (signature, k, sizes, canonical order);
    the tenant's token bucket (429 ``rate_limited``); the epoch's query budget (429
    ``query_budget_exhausted``, retry when the epoch rotates); novelty (``query_not_novel``).
    Then the query gets its WFQ tags and waits for the holder's evaluation.
    """
    now = now or _now()
    org = _org_of(actor)
    try:
        return _query_submit(actor, epoch, request, rerun_of, via, now)
    except RateLimited as exc:
        if org is not None:  # metering outlives the refused request (nothing else was written)
            TenantQuota.objects.filter(pk=org.pk).update(throttled=F("throttled") + 1)
            _log("query.throttled", pilot=epoch.pilot, run=epoch.run, tenant=org.slug, code=exc.code,
                 retry_after=exc.retry_after)
        raise


@transaction.atomic
def _query_submit(actor: Any, epoch: Epoch, request: Any, rerun_of: Query | None, via: Via | None,
                  now: datetime) -> Query:
    epoch = _epoch_locked(epoch)
    org, role = _partner_role(actor, epoch.pilot)
    _require_role(role, "querier")
    if epoch.status != Epoch.Status.OPEN:
        raise _state_conflict(epoch, Epoch.Status.OPEN)
    if epoch.ends_at and now >= epoch.ends_at:
        raise Conflict("epoch_expired", "This epoch has ended; wait for the next one (keys and pepper rotate).")
    if not isinstance(request, dict):
        raise ServiceError("transcript_malformed", "The query request must be a JSON object.")
    header = _header(epoch)
    try:
        x1 = check_query_request(request, header, bytes.fromhex(epoch.querier_identity))
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    if Query.objects.filter(query_id=request["query_id"]).exists():
        raise Conflict("query_id_taken", "This query_id was used before; every query needs a fresh one.")
    if rerun_of is not None:
        if epoch.purpose != Epoch.Purpose.APPEAL or epoch.appeal is None or epoch.appeal.query_id != rerun_of.pk:
            raise ServiceError("rerun_epoch_mismatch", "A re-run query goes into the appeal's re-run epoch.")
    elif epoch.purpose == Epoch.Purpose.APPEAL:
        raise ServiceError("rerun_required", "An appeal epoch only takes the re-run of the disputed query (rerun_of).")
    quota, start, finish = _admit(org, float(len(x1)), now.timestamp())
    policy = Policy(**epoch.policy)
    try:
        QueryBudget(policy.query_budget, epoch.queries_used).charge()
    except QueryBudgetExhaustedError as exc:
        wait = max(1, int((epoch.ends_at - now).total_seconds()) + 1) if epoch.ends_at else 3600
        raise RateLimited(exc.code, f"{exc.message}; the next epoch brings a new budget.", retry_after=wait,
                          details={"limit": policy.query_budget, "used": epoch.queries_used}) from exc
    try:
        novel = check_query_novelty(x1, _seen_elements(epoch), min_novel=policy.min_novel)
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    q = Query.objects.create(
        pilot=epoch.pilot, epoch=epoch, run=epoch.run, tenant=org, query_id=request["query_id"], size=len(x1),
        cost=float(len(x1)), request=request, vstart=start, vfinish=finish, submitted_at=now, rerun_of=rerun_of,
    )
    epoch.queries_used += 1
    epoch.save(update_fields=["queries_used"])
    if rerun_of is not None:
        Appeal.objects.filter(pk=epoch.appeal_id).update(rerun_query=q)
    audit_record(actor=actor, action="zktx.query.submit", obj=q, organization=org,
                 details={"epoch": str(epoch.pk), "size": len(x1), "novel": novel, "vfinish": finish})
    _log("query.admitted", pilot=epoch.pilot, run=epoch.run, epoch=epoch.number, query=q.pk, tenant=org.slug,
         size=len(x1), novel=novel, vstart=round(start, 3), vfinish=round(finish, 3),
         budget_used=epoch.queries_used, budget=policy.query_budget, tokens_left=round(quota.tokens, 2))
    _envelope(via, kind="query", organization=org, pilot=epoch.pilot, run=epoch.run,
              body={"epoch": str(epoch.pk), "request": request, "rerun_of": str(rerun_of.pk) if rerun_of else None})
    return q


def pending_evaluations(p: Principal, *, limit: int = 50) -> list[dict[str, Any]]:
    """Requests waiting for the caller's organization, queries in fair-queue order.

    Both: epochs to join or whose header to sign (``setup``). Querier: holder sets to evaluate
    (``epoch``). Holder: query requests to evaluate (``query``).
    """
    org = p.organization
    if not p.is_partner or org is None:
        return []
    limit = max(1, min(int(limit), 500))
    items: list[dict[str, Any]] = []
    setup = (Epoch.objects.filter(Q(pilot__holder=org) | Q(pilot__querier=org))
             .filter(status__in=[Epoch.Status.KEYS_PENDING, Epoch.Status.SIGNING]).select_related("pilot"))
    for e in setup:
        action = epoch_next_action(e, org)
        if action in ("join", "sign"):
            items.append({"kind": "setup", "epoch": str(e.pk), "pilot": e.pilot.name, "number": e.number,
                          "session_id": e.session_id, "action": action})
    for e in Epoch.objects.filter(pilot__querier=org, status=Epoch.Status.EVALUATION_PENDING).select_related("pilot"):
        items.append({"kind": "epoch", "epoch": str(e.pk), "pilot": e.pilot.name, "number": e.number,
                      "session_id": e.session_id, "last_error": e.error_code or None})
    qs = (Query.objects.filter(pilot__holder=org, status=Query.Status.PENDING_EVALUATION)
          .select_related("pilot", "epoch").order_by("vfinish", "submitted_at")[:limit])
    for q in qs:
        items.append({"kind": "query", "query": str(q.pk), "epoch": str(q.epoch_id), "pilot": q.pilot.name,
                      "number": q.epoch.number, "session_id": q.epoch.session_id, "request": q.request,
                      "last_error": q.error_code or None})
    return items[:limit]


@transaction.atomic
def query_evaluation_submit(*, actor: Any, query: Query, message: Any, via: Via | None = None) -> Query:
    """The holder's evaluation ``X2`` of a query with proofs; queued for matching in fair order."""
    query = Query.objects.select_for_update(of=("self",)).select_related("epoch", "pilot", "run").get(pk=query.pk)
    epoch = query.epoch
    org, role = _partner_role(actor, query.pilot)
    _require_role(role, "holder")
    if query.status != Query.Status.PENDING_EVALUATION:
        raise Conflict("query_state", f"The query is {query.status}; it takes an evaluation only while pending.")
    header = _header(epoch)
    try:
        _check_evaluation_shape(message, header, etype=QUERY_EVALUATION_TYPE, key=header.holder_key, n=query.size,
                                refs={"query_id": query.query_id, "request_digest": b64e(digest(query.request))})
        decode_elements(get_elements(message, "elements", "$.evaluation"))
    except ProtocolError as exc:
        raise _protocol_error(exc) from exc
    query.evaluation = message
    query.status, query.evaluated_at = Query.Status.EVALUATED, _now()
    query.attempts += 1
    query.claimed_at = None
    query.save(update_fields=["evaluation", "status", "evaluated_at", "attempts", "claimed_at"])
    audit_record(actor=actor, action="zktx.query.evaluate", obj=query, organization=org,
                 details={"attempt": query.attempts})
    _log("query.evaluated", pilot=query.pilot, run=query.run, epoch=epoch.number, query=query.pk,
         tenant=query.tenant.slug, attempt=query.attempts)
    _envelope(via, kind="query-evaluation", organization=org, pilot=query.pilot, run=query.run, body=message)
    from zktx import tasks

    transaction.on_commit(lambda: tasks.process_queue.delay())
    return query


def _claim_next(now: datetime) -> Query | None:
    """Take the evaluated query with the smallest virtual finish time (WFQ) and advance the clock."""
    for _ in range(5):
        with transaction.atomic():
            qs = (Query.objects.filter(status__in=[Query.Status.EVALUATED, Query.Status.VERIFIED])
                  .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT))
                  .order_by("vfinish", "submitted_at", "id"))
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            q = qs.first()
            if q is None:
                return None
            if Query.objects.filter(pk=q.pk, claimed_at=q.claimed_at, status=q.status).update(claimed_at=now) != 1:
                continue  # someone else took it
            clock = _clock_locked()
            clock.virtual_time = fairness.WfqState(clock.virtual_time).serve(q.vstart).virtual_time
            clock.save(update_fields=["virtual_time"])
            q.claimed_at = now
            return q
    return None


def queue_process(*, limit: int | None = None) -> int:
    """Task body: serve evaluated queries in WFQ order — match, verify, release verdicts. Returns how many."""
    done = 0
    while limit is None or done < limit:
        q = _claim_next(_now())
        if q is None:
            break
        _process(q)
        done += 1
    return done


def _process(q: Query) -> None:
    q = Query.objects.select_related("epoch", "pilot", "run", "tenant", "epoch__pilot").get(pk=q.pk)
    epoch = q.epoch
    t0 = time.perf_counter()
    exchange = Exchange(keys.exchange_identity())
    if q.status == Query.Status.EVALUATED:
        try:
            state, verified = epoch_state(epoch)
            transcript = exchange.match(state, q.request, q.evaluation)
            verdict = verify_transcript(transcript, keys=party_keys(epoch), epoch=verified, workers=_workers())
        except ProtocolError as exc:
            _reject_evaluation(q, exc)
            return
        with transaction.atomic():
            n = Query.objects.filter(pk=q.pk, status=Query.Status.EVALUATED).update(
                status=Query.Status.VERIFIED, transcript=transcript, transcript_digest=verdict.transcript_digest.hex(),
                count=verdict.count, verdict=verdict.verdict, verified_at=_now())
            if n != 1:
                return
            _log("query.verified", pilot=q.pilot, run=q.run, epoch=epoch.number, query=q.pk, tenant=q.tenant.slug,
                 verdict=verdict.verdict, count=verdict.count, transcript_digest=verdict.transcript_digest.hex())
        q.refresh_from_db()
    if q.status == Query.Status.VERIFIED:
        _release_verdict(q, exchange, t0)


def _reject_evaluation(q: Query, exc: ProtocolError) -> None:
    with transaction.atomic():
        q = Query.objects.select_for_update(of=("self",)).select_related("pilot", "run", "tenant", "epoch").get(pk=q.pk)
        if q.status != Query.Status.EVALUATED:
            return
        final = q.attempts >= MAX_EVALUATION_ATTEMPTS
        q.status = Query.Status.FAILED if final else Query.Status.PENDING_EVALUATION
        q.error_code, q.error_message = exc.code, exc.message[:2000]
        q.evaluation, q.claimed_at = None, None
        q.save(update_fields=["status", "error_code", "error_message", "evaluation", "claimed_at"])
        audit_record(actor=SYSTEM, action="zktx.query.evaluation_reject", obj=q, organization=q.pilot.holder,
                     details={"code": exc.code, "attempt": q.attempts, "final": final})
        _log("query.evaluation_rejected", pilot=q.pilot, run=q.run, epoch=q.epoch.number, query=q.pk,
             tenant=q.tenant.slug, code=exc.code, attempt=q.attempts, final=final)
    _sli(good=False, seconds=None)


def _release_verdict(q: Query, exchange: Exchange, t0: float) -> None:
    from witness import services as witness

    receipt = exchange.receipt(q.transcript)
    body = wire.transcript_statement_body(transcript=q.transcript, transcript_digest=bytes.fromhex(q.transcript_digest),
                                          pilot=q.pilot.name, epoch=q.epoch.number, receipt_digest=digest(receipt))
    with transaction.atomic():
        locked = Query.objects.select_for_update().get(pk=q.pk)
        if locked.status != Query.Status.VERIFIED:
            return
        entry = witness.statement_append(stype="zktx.transcript", body=body, service=keys.STATEMENT_SERVICE)
        now = _now()
        seconds = time.perf_counter() - t0
        Query.objects.filter(pk=q.pk).update(status=Query.Status.VERDICT, receipt=receipt, verdict_at=now,
                                             witness_leaf_hash=entry.leaf_hash, process_ms=seconds * 1000,
                                             claimed_at=None, error_code="", error_message="")
        TenantQuota.objects.filter(pk=q.tenant_id).update(served=F("served") + 1)
        audit_record(actor=SYSTEM, action="zktx.query.verdict", obj=q, organization=q.tenant,
                     details={"verdict": q.verdict, "transcript_digest": q.transcript_digest,
                              "witness_leaf_hash": entry.leaf_hash})
        _log("query.verdict", pilot=q.pilot, run=q.run, epoch=q.epoch.number, query=q.pk, tenant=q.tenant.slug,
             verdict=q.verdict, latency_ms=round((now - q.submitted_at).total_seconds() * 1000, 1),
             process_ms=round(seconds * 1000, 1), witness_leaf_hash=entry.leaf_hash)
    _sli(good=True, seconds=seconds)


def _sli(*, good: bool, seconds: float | None) -> None:
    """Feed the on-call SLOs ``zktx.proof.latency`` (≤ 300 ms) and ``zktx.proof.errors``."""
    from oncall import services as oncall

    try:
        oncall.sli_record(slo="zktx.proof.errors", good=1 if good else 0, total=1)
        if seconds is not None:
            oncall.sli_record(slo="zktx.proof.latency", good=1 if seconds <= 0.3 else 0, total=1)
    except ServiceError:  # SLOs not configured: metrics are best effort, never fail a verdict
        log.warning("zktx SLI not recorded")


def query_verdict(query: Query) -> dict[str, Any]:
    """What a partner gets: the signed receipt and the transparency-log proof of its transcript digest."""
    from witness import services as witness
    from witness.models import Entry

    if query.status != Query.Status.VERDICT:
        return {"status": query.status, "receipt": None, "witness": None,
                "error": {"code": query.error_code, "message": query.error_message} if query.error_code else None}
    entry = Entry.objects.filter(leaf_hash=query.witness_leaf_hash).first()
    proof = None
    if entry is not None and entry.index is not None:
        try:
            proof = witness.inclusion_proof(leaf_hash=query.witness_leaf_hash)
        except ServiceError:
            proof = None
    return {
        "status": query.status,
        "receipt": query.receipt,
        "witness": {
            "statement": bytes(entry.payload).decode() if entry is not None else None,
            "leaf_hash": query.witness_leaf_hash,
            "inclusion": proof,
        },
    }


# =========================================================================== quotas (visible to partners)


def quotas_view(p: Principal, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per tenant: weight, rate, burst, tokens available now, retry-after, counters, open-epoch budgets."""
    now = now or _now()
    if is_console(p):
        orgs = list(Organization.objects.filter(kind=Organization.Kind.PARTNER).order_by("name"))
    elif p.is_partner and p.can(Cap.PORTAL):
        orgs = [p.organization]
    else:
        orgs = []
    out = []
    for org in orgs:
        q = quota_for(org)
        decision = _bucket(q).peek(now.timestamp())
        budgets = []
        for e in Epoch.objects.filter(pilot__querier=org, status=Epoch.Status.OPEN).select_related("pilot"):
            limit = int(e.policy.get("query_budget", 0))
            budgets.append({"pilot": e.pilot.name, "epoch": str(e.pk), "number": e.number, "limit": limit,
                            "used": e.queries_used, "remaining": max(0, limit - e.queries_used),
                            "ends_at": e.ends_at})
        out.append({
            "organization": org.slug,
            "weight": q.weight,
            "rate_per_minute": q.rate_per_minute,
            "burst": q.burst,
            "tokens_available": round(_bucket(q).refill(now.timestamp()).tokens, 3),
            "retry_after": decision.retry_after_header,
            "admitted": q.admitted,
            "throttled": q.throttled,
            "served": q.served,
            "queued": Query.objects.filter(tenant=org, status__in=[Query.Status.PENDING_EVALUATION,
                                                                   Query.Status.EVALUATED]).count(),
            "budgets": budgets,
        })
    return out


# =========================================================================== appeals


def _reverify(query: Query, *, full: bool) -> tuple[bool, str]:
    """Verify the query transcript again (``full``: the whole epoch too, from its stored transcript)."""
    epoch = query.epoch
    pk = party_keys(epoch)
    try:
        transcript = epoch_transcript(epoch)
        if full:
            verified = verify_epoch(transcript, keys=pk, workers=_workers())
        else:
            verified = verify_commitment(transcript["commitment"], transcript["session"], keys=pk)
        verify_transcript(query.transcript, keys=pk, epoch=verified, workers=_workers())
    except ProtocolError as exc:
        return False, exc.code
    return True, ""


@transaction.atomic
def appeal_file(*, actor: Any, query: Query, reason: str, via: Via | None = None, now: datetime | None = None,
                is_drill: bool = False) -> Appeal:
    """A partner disputes a verdict. The transcript is re-verified at once; the SLA clock starts (24 h)."""
    now = now or _now()
    query = Query.objects.select_for_update(of=("self",)).select_related("pilot", "epoch", "run").get(pk=query.pk)
    org, role = _partner_role(actor, query.pilot)
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 2000:
        raise ServiceError("appeal_reason_required", "Say why you dispute the verdict (1 to 2,000 characters).")
    if query.status != Query.Status.VERDICT:
        raise Conflict("query_no_verdict", "Only a released verdict can be appealed.")
    if Appeal.objects.filter(query=query).exclude(status=Appeal.Status.RESOLVED).exists():
        raise Conflict("appeal_open", "There is already an open appeal on this verdict.")
    ok, code = _reverify(query, full=False)
    appeal = Appeal.objects.create(query=query, organization=org, filed_by=actor, reason=reason, filed_at=now,
                                   sla_due_at=now + APPEAL_SLA, reverified_at=_now(), reverify_ok=ok,
                                   reverify_code=code, is_drill=is_drill)
    audit_record(actor=actor, action="zktx.appeal.file", obj=appeal, organization=org, reason=reason,
                 details={"query": str(query.pk), "role": role, "reverify_ok": ok, "reverify_code": code})
    _log("appeal.filed", pilot=query.pilot, run=query.run, appeal=appeal.pk, query=query.pk, role=role,
         reverify_ok=ok, sla_due_at=_iso(appeal.sla_due_at))
    _envelope(via, kind="appeal", organization=org, pilot=query.pilot, run=query.run,
              body={"query": str(query.pk), "reason": reason})
    return appeal


@transaction.atomic
def appeal_consent(*, actor: Any, appeal: Appeal, via: Via | None = None) -> Appeal:
    """A partner consents to re-running the disputed query under a fresh epoch (recorded per partner)."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("query", "query__pilot").get(pk=appeal.pk)
    org, role = _partner_role(actor, appeal.query.pilot)
    if appeal.status == Appeal.Status.RESOLVED:
        raise Conflict("appeal_resolved", "The appeal is resolved.")
    field = f"{role}_consent_at"
    if getattr(appeal, field) is None:
        setattr(appeal, field, _now())
        appeal.save(update_fields=[field])
        audit_record(actor=actor, action="zktx.appeal.consent", obj=appeal, organization=org, details={"role": role})
        _log("appeal.consent", pilot=appeal.query.pilot, appeal=appeal.pk, role=role)
        _envelope(via, kind="appeal-consent", organization=org, pilot=appeal.query.pilot, run=None,
                  body={"appeal": str(appeal.pk)})
    return appeal


@transaction.atomic
def appeal_reverify(*, actor: Any, appeal: Appeal, full: bool = True) -> Appeal:
    """Operator: verify again, the whole epoch included (``full``)."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("query", "query__epoch", "query__pilot").get(pk=appeal.pk)
    ok, code = _reverify(appeal.query, full=full)
    appeal.reverified_at, appeal.reverify_ok, appeal.reverify_code = _now(), ok, code
    appeal.save(update_fields=["reverified_at", "reverify_ok", "reverify_code"])
    audit_record(actor=actor, action="zktx.appeal.reverify", obj=appeal, details={"ok": ok, "code": code, "full": full})
    _log("appeal.reverified", pilot=appeal.query.pilot, appeal=appeal.pk, ok=ok, code=code, full=full)
    return appeal


@transaction.atomic
def appeal_rerun_start(*, actor: Any, appeal: Appeal) -> Epoch:
    """Operator: start a fresh epoch for re-running the disputed query — only with both partners' consent."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("query", "query__pilot", "query__run").get(pk=appeal.pk)
    if appeal.status != Appeal.Status.OPEN:
        raise Conflict("appeal_state", f"The appeal is {appeal.status}.")
    if appeal.holder_consent_at is None or appeal.querier_consent_at is None:
        missing = [r for r in ("holder", "querier") if getattr(appeal, f"{r}_consent_at") is None]
        raise Conflict("appeal_consent_missing", f"A re-run needs both partners' consent; missing: {', '.join(missing)}.")
    epoch = epoch_start(actor=actor, pilot=appeal.query.pilot, run=appeal.query.run, purpose=Epoch.Purpose.APPEAL,
                        appeal=appeal)
    appeal.status = Appeal.Status.RERUN
    appeal.save(update_fields=["status"])
    audit_record(actor=actor, action="zktx.appeal.rerun", obj=appeal, details={"epoch": str(epoch.pk)})
    return epoch


@transaction.atomic
def appeal_resolve(*, actor: Any, appeal: Appeal, resolution: str, reason: str) -> Appeal:
    """Operator: record the outcome and why; resolves the SLA incident if one was raised."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("query", "query__pilot").get(pk=appeal.pk)
    if appeal.status == Appeal.Status.RESOLVED:
        raise Conflict("appeal_resolved", "The appeal is already resolved.")
    if resolution not in Appeal.Resolution.values:
        raise ServiceError("appeal_resolution_invalid", f"resolution must be one of {', '.join(Appeal.Resolution.values)}.")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("appeal_reason_required", "Give the reason for the resolution.")
    if appeal.reverified_at is None:
        raise Conflict("appeal_not_reverified", "Re-verify the transcript before resolving.")
    for epoch in Epoch.objects.filter(appeal=appeal).exclude(status=Epoch.Status.CLOSED):
        _epoch_close(epoch, _now(), reason="appeal resolved")
    appeal.status, appeal.resolution, appeal.resolution_reason = Appeal.Status.RESOLVED, resolution, reason
    appeal.resolved_at, appeal.resolved_by = _now(), actor if getattr(actor, "is_authenticated", False) else None
    appeal.save()
    audit_record(actor=actor, action="zktx.appeal.resolve", obj=appeal, reason=reason,
                 details={"resolution": resolution, "query": str(appeal.query_id)})
    _log("appeal.resolved", pilot=appeal.query.pilot, appeal=appeal.pk, resolution=resolution)
    if appeal.incident_id:
        _resolve_incident(actor, appeal, f"appeal resolved: {resolution}")
    return appeal


def _resolve_incident(actor: Any, appeal: Appeal, note: str) -> None:
    """Close the SLA incident with the appeal (same transaction) when the resolver may respond to incidents."""
    from accounts.permissions import principal
    from oncall import services as oncall
    from oncall.models import OPEN_STATES, Incident

    incident = Incident.objects.filter(pk=appeal.incident_id, status__in=OPEN_STATES).first()
    if incident is None:
        return
    if getattr(actor, "is_authenticated", False) and principal(actor).can(Cap.ONCALL_RESPOND):
        oncall.incident_resolve(actor=actor, incident=incident, note=note)
    else:
        _log("appeal.incident_left_open", pilot=appeal.query.pilot, appeal=appeal.pk, incident=incident.pk)


def appeal_sla_check(*, now: datetime | None = None) -> list[Appeal]:
    """Periodic: raise an on-call alert for every unresolved appeal past its SLA (dedup per appeal)."""
    from oncall import services as oncall

    now = now or _now()
    escalated = []
    overdue = Appeal.objects.filter(sla_due_at__lte=now, escalated_at__isnull=True).exclude(status=Appeal.Status.RESOLVED)
    for appeal in overdue.select_related("query", "query__pilot", "organization"):
        with transaction.atomic():
            a = Appeal.objects.select_for_update().get(pk=appeal.pk)
            if a.escalated_at is not None or a.status == Appeal.Status.RESOLVED:
                continue
            hours = (now - a.filed_at).total_seconds() / 3600
            incident = oncall.raise_alert(
                source="zktx", severity="high", dedup_key=f"zktx:appeal-sla:{a.pk}", is_drill=a.is_drill, now=now,
                summary=f"ZK-TX appeal on pilot {appeal.query.pilot.name} is past its {APPEAL_SLA.total_seconds() / 3600:g} h "
                        f"SLA ({hours:.0f} h open)",
                details={"appeal": str(a.pk), "query": str(a.query_id), "pilot": appeal.query.pilot.name,
                         "filed_by": appeal.organization.slug, "filed_at": _iso(a.filed_at), "sla_due_at": _iso(a.sla_due_at)},
                links=[f"/api/zktx/appeals/{a.pk}"],
            )
            a.escalated_at, a.incident_id = now, str(incident.pk)
            a.save(update_fields=["escalated_at", "incident_id"])
            audit_record(actor=SYSTEM, action="zktx.appeal.escalate", obj=a, details={"incident": str(incident.pk)})
            _log("appeal.escalated", pilot=appeal.query.pilot, appeal=a.pk, incident=incident.pk)
            escalated.append(a)
    return escalated


# =========================================================================== audit bundles


def _bundle_partners(run: PilotRun) -> list[tuple[Organization, PartnerKey]]:
    orgs: dict[Any, Organization] = {}
    for pilot in run.pilots.select_related("holder", "querier"):
        orgs[pilot.holder_id] = pilot.holder
        orgs[pilot.querier_id] = pilot.querier
    out = []
    for org in sorted(orgs.values(), key=lambda o: o.slug):
        key = active_key(org)
        if key is None:
            raise Conflict("partner_key_missing", f"{org.name} has no registered keys; it cannot accept a bundle.")
        out.append((org, key))
    return out


@transaction.atomic
def bundle_export(*, actor: Any, run: PilotRun, via: Via | None = None) -> AuditBundle:
    """Operator: export the run's signed audit bundle (drafted in ``zktx.tasks.export_bundle``)."""
    run = PilotRun.objects.select_for_update().get(pk=run.pk)
    if AuditBundle.objects.filter(run=run).exclude(status=AuditBundle.Status.FAILED).exclude(
            status=AuditBundle.Status.READY).exists():
        raise Conflict("bundle_in_progress", "An export of this run is already in progress.")
    partners = _bundle_partners(run)
    b = AuditBundle.objects.create(
        run=run, created_at=_now(), created_by=actor if getattr(actor, "is_authenticated", False) else None,
        partners=[{"id": org.slug, "organization": str(org.pk), "bls_public": k.bls_public, "pop": k.bls_pop}
                  for org, k in partners],
        progress={"stage": "queued", "done": 0, "total": 1},
    )
    audit_record(actor=actor, action="zktx.bundle.export", obj=b, details={"run": run.label})
    _log("bundle.export", run=run, bundle=b.pk, label=run.label)
    _envelope(via, kind="bundle-export", organization=_org_of(actor), pilot=None, run=run, body={"run": str(run.pk)})
    from zktx import tasks

    pk = str(b.pk)
    transaction.on_commit(lambda: tasks.export_bundle.delay(pk))
    return b


def _json_bytes(obj: Any) -> bytes:
    return bundle_format.canonical_json(obj)


def run_files(run: PilotRun) -> dict[str, bytes]:
    """The content files of a run's bundle: config, transcripts, proofs (receipts, witness), envelopes, logs."""
    from witness import services as witness
    from witness.models import Entry

    files: dict[str, bytes] = {}
    pilots = list(run.pilots.select_related("holder", "querier").order_by("name"))
    epochs = list(Epoch.objects.filter(run=run).exclude(transcript_blob="").select_related("pilot").order_by("pilot__name", "number"))
    files["config/run.json"] = _json_bytes({
        "pilot_run": run.label,
        "name": run.name,
        "started_at": _iso(run.started_at),
        "config": run.config,
        "pilots": [{"name": p.name, "holder": p.holder.slug, "querier": p.querier.slug, "selector_type": p.selector_type,
                    "policy": p.policy_json(), "epoch_seconds": p.epoch_seconds} for p in pilots],
    })
    files["config/keys.json"] = _json_bytes({
        "exchange": b64e(keys.exchange_public_key()),
        "sessions": {e.session_id: {"pilot": e.pilot.name, "epoch": e.number,
                                    "holder": b64e(bytes.fromhex(e.holder_identity)),
                                    "querier": b64e(bytes.fromhex(e.querier_identity)),
                                    "transcript": f"transcripts/epochs/{e.pilot.name}-e{e.number}.json"}
                     for e in epochs},
    })
    for e in epochs:
        files[f"transcripts/epochs/{e.pilot.name}-e{e.number}.json"] = blobs.get(e.transcript_blob)
    queries = list(Query.objects.filter(run=run, status=Query.Status.VERDICT).select_related("pilot", "epoch")
                   .order_by("submitted_at", "id"))
    for q in queries:
        name = f"{q.pilot.name}-e{q.epoch.number}-{q.pk.hex}"
        files[f"transcripts/queries/{name}.json"] = _json_bytes(q.transcript)
        files[f"proofs/receipts/{name}.json"] = _json_bytes(q.receipt)
        entry = Entry.objects.filter(leaf_hash=q.witness_leaf_hash).first()
        proof = None
        if entry is not None and entry.index is not None:
            proof = witness.inclusion_proof(leaf_hash=q.witness_leaf_hash)
        files[f"proofs/witness/{name}.json"] = _json_bytes({
            "statement": bytes(entry.payload).decode() if entry is not None else None, "inclusion": proof})
    for env in Envelope.objects.filter(run=run).select_related("organization").order_by("id"):
        files[f"envelopes/{env.id:07d}-{env.kind}.json"] = _json_bytes({
            "received_at": _iso(env.received_at), "method": env.method, "path": env.path, "kind": env.kind,
            "organization": env.organization.slug if env.organization else None,
            "body": json.loads(blobs.get(env.body_blob))})
    lines = []
    for line in ServiceLog.objects.filter(run=run).order_by("id"):
        lines.append(_json_bytes({"at": _iso(line.at), "event": line.event, **line.fields}))
    files["logs/service.jsonl"] = b"\n".join(lines) + b"\n"
    return files


def _partner_keys(b: AuditBundle) -> list[bundle_format.PartnerKey]:
    return [bundle_format.PartnerKey(p["id"], bytes.fromhex(p["bls_public"]), bytes.fromhex(p["pop"])) for p in b.partners]


def _files_blob(files: Mapping[str, bytes]) -> str:
    return blobs.put(json.dumps({p: base64.b64encode(d).decode() for p, d in sorted(files.items())}).encode())


def _files_from_blob(blob: str) -> dict[str, bytes]:
    return {p: base64.b64decode(d) for p, d in json.loads(blobs.get(blob)).items()}


def bundle_export_run(*, bundle_id: Any) -> AuditBundle:
    """Task body, one step of the export: draft (→ awaiting acceptance) or seal, log and attach (→ ready)."""
    b = AuditBundle.objects.select_related("run").get(pk=bundle_id)
    progress = _ProgressWriter(AuditBundle, b.pk, interval=0.2)
    try:
        if b.status == AuditBundle.Status.DRAFTING:
            return _bundle_draft(b, progress)
        if b.status == AuditBundle.Status.SEALING:
            return _bundle_seal(b, progress)
    except (BundleError, ServiceError) as exc:
        code = getattr(exc, "code", "bundle_error")
        AuditBundle.objects.filter(pk=b.pk).update(status=AuditBundle.Status.FAILED, error_code=code,
                                                   error_message=str(getattr(exc, "message", exc))[:2000])
        with transaction.atomic():
            audit_record(actor=SYSTEM, action="zktx.bundle.fail", obj=b, details={"code": code})
            _log("bundle.failed", run=b.run, bundle=b.pk, code=code)
    b.refresh_from_db()
    return b


def _bundle_draft(b: AuditBundle, progress: Callable) -> AuditBundle:
    from witness import services as witness

    witness.sequence_until_idle()  # every transcript statement gets its inclusion proof in the bundle
    files = run_files(b.run)
    meta = {"pilot_run": b.run.label, "created_at": _iso(b.created_at), "run_name": b.run.name,
            "exchange_verifier_key": keys.exchange_verifier_key(),
            "epochs": sum(1 for p in files if p.startswith("transcripts/epochs/")),
            "queries": sum(1 for p in files if p.startswith("transcripts/queries/"))}
    draft = draft_bundle(files, meta=meta, partners=_partner_keys(b), exchange_public_key=keys.exchange_public_key(),
                         progress=progress)
    blob = _files_blob(files)
    with transaction.atomic():
        n = AuditBundle.objects.filter(pk=b.pk, status=AuditBundle.Status.DRAFTING).update(
            status=AuditBundle.Status.AWAITING_ACCEPTANCE, files_blob=blob, file_count=len(files), meta=meta,
            core_digest=draft.core_digest.hex(), progress={"stage": "awaiting_acceptance", "done": 0,
                                                          "total": len(b.partners)})
        if n:
            audit_record(actor=SYSTEM, action="zktx.bundle.draft", obj=b,
                         details={"core_digest": draft.core_digest.hex(), "files": len(files)})
            _log("bundle.drafted", run=b.run, bundle=b.pk, core_digest=draft.core_digest.hex(), files=len(files))
    b.refresh_from_db()
    return b


def _redraft(b: AuditBundle) -> Any:
    draft = draft_bundle(_files_from_blob(b.files_blob), meta=b.meta, partners=_partner_keys(b),
                         exchange_public_key=keys.exchange_public_key())
    if draft.core_digest.hex() != b.core_digest:
        raise ServiceError("bundle_store_corrupt", "The stored bundle content no longer matches its core digest.", status=500)
    return draft


def bundle_core(b: AuditBundle) -> bytes:
    """The canonical manifest core the partners review and sign (file digests, meta, keys)."""
    if not b.core_digest:
        raise Conflict("bundle_not_drafted", "The bundle is still being drafted.")
    return _redraft(b).core_bytes


@transaction.atomic
def bundle_accept(*, actor: Any, bundle: AuditBundle, signature: str, via: Via | None = None) -> AuditBundle:
    """A partner's BLS signature of the bundle's acceptance message (over the core digest)."""
    b = AuditBundle.objects.select_for_update(of=("self",)).select_related("run").get(pk=bundle.pk)
    org = _org_of(actor)
    entry = next((p for p in b.partners if org is not None and p["organization"] == str(org.pk)), None)
    if entry is None:
        raise Forbidden("Only the run's partners accept its bundle.", code="zktx_partner_only")
    if b.status != AuditBundle.Status.AWAITING_ACCEPTANCE:
        raise Conflict("bundle_state", f"The bundle is {b.status}; it takes acceptances while awaiting them.")
    if entry["id"] in b.acceptances:
        raise Conflict("bundle_already_accepted", "You already accepted this bundle.")
    sig = _hex(signature, 96, "signature")
    message = bundle_format.acceptance_message(bytes.fromhex(b.core_digest))
    try:
        ok = bls.verify(bls.pop_verify(bytes.fromhex(entry["bls_public"]), bytes.fromhex(entry["pop"])), message, sig)
    except bls.BlsError as exc:
        raise ServiceError(exc.code, exc.message) from exc
    if not ok:
        raise ServiceError("acceptance_invalid", "The signature does not verify under your registered BLS key "
                                                 "for this bundle's core digest.")
    b.acceptances = {**b.acceptances, entry["id"]: {"signature": sig.hex(), "at": _iso(_now()), "by": actor.get_username()}}
    done = len(b.acceptances) == len(b.partners)
    b.progress = {"stage": "sealing" if done else "awaiting_acceptance", "done": len(b.acceptances),
                  "total": len(b.partners)}
    if done:
        b.status = AuditBundle.Status.SEALING
    b.save(update_fields=["acceptances", "status", "progress"])
    audit_record(actor=actor, action="zktx.bundle.accept", obj=b, organization=org,
                 details={"partner": entry["id"], "core_digest": b.core_digest})
    _log("bundle.accepted", run=b.run, bundle=b.pk, partner=entry["id"])
    _envelope(via, kind="bundle-acceptance", organization=org, pilot=None, run=b.run, body={"signature": signature})
    if done:
        from zktx import tasks

        pk = str(b.pk)
        transaction.on_commit(lambda: tasks.export_bundle.delay(pk))
    return b


def _bundle_seal(b: AuditBundle, progress: Callable) -> AuditBundle:
    from witness import services as witness
    from witness.models import Entry

    # Sealing is deterministic (BLS aggregate, Ed25519 and the statement leaf are), so two workers
    # racing here produce the same archive and the same (idempotent) witness entry.
    if not AuditBundle.objects.filter(pk=b.pk, status=AuditBundle.Status.SEALING).exists():
        return b
    draft = _redraft(b)
    data = seal_bundle(draft, acceptances={pid: bytes.fromhex(a["signature"]) for pid, a in b.acceptances.items()},
                       exchange_key=keys.exchange_signing_key(), progress=progress)
    stype, body = bundle_statement(data)
    entry = witness.statement_append(stype=stype, body=body, service=keys.STATEMENT_SERVICE, wait=True)
    if entry.index is None:
        witness.sequence_until_idle()
        entry = Entry.objects.get(pk=entry.pk)
    proof = witness.inclusion_proof(leaf_hash=entry.leaf_hash)
    progress("witness", 1, 1)
    data = attach_inclusion(data, leaf=bytes(entry.payload), proof=proof, witness_key=keys.log_verifier_key())
    blob = blobs.put(data)
    with transaction.atomic():
        AuditBundle.objects.filter(pk=b.pk).update(
            status=AuditBundle.Status.READY, bundle_digest=body["bundle_digest"], witness_leaf_hash=entry.leaf_hash,
            archive_blob=blob, size=len(data), ready_at=_now(), progress={"stage": "ready", "done": 1, "total": 1})
        audit_record(actor=SYSTEM, action="zktx.bundle.seal", obj=b, details={
            "bundle_digest": body["bundle_digest"], "witness_leaf_hash": entry.leaf_hash, "size": len(data)})
        _log("bundle.sealed", run=b.run, bundle=b.pk, bundle_digest=body["bundle_digest"], size=len(data))
    b.refresh_from_db()
    return b


def bundle_archive(b: AuditBundle) -> bytes:
    if b.status != AuditBundle.Status.READY:
        raise Conflict("bundle_not_ready", f"The bundle is {b.status}.")
    return blobs.get(b.archive_blob)


def bundle_trust(b: AuditBundle) -> dict[str, Any]:
    """The ``--trust`` file for ``python -m zktx.verify_bundle`` (keys known to the exchange)."""
    return {
        "exchange_keys": [keys.exchange_verifier_key()],
        "partner_keys": {p["id"]: p["bls_public"] for p in b.partners},
        "witness_key": keys.log_verifier_key(),
        "statement_keys": [keys.statement_verifier_key()],
        "required_partners": [p["id"] for p in b.partners],
    }


# =========================================================================== housekeeping


def blobs_gc() -> int:
    """Remove stored messages no row references (left behind by failed transactions)."""
    referenced: set[str] = set()
    referenced.update(HolderSet.objects.values_list("blob", flat=True))
    referenced.update(EpochEvaluation.objects.values_list("blob", flat=True))
    referenced.update(Epoch.objects.exclude(transcript_blob="").values_list("transcript_blob", flat=True))
    referenced.update(Envelope.objects.values_list("body_blob", flat=True))
    referenced.update(AuditBundle.objects.exclude(files_blob="").values_list("files_blob", flat=True))
    referenced.update(AuditBundle.objects.exclude(archive_blob="").values_list("archive_blob", flat=True))
    return blobs.gc(referenced)
