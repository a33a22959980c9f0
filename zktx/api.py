"""ZK-TX API (``/api/zktx/``): partners (``portal.use``) act on their own pilots; operators with
``zktx.console`` see everything, with ``zktx.operate`` they start epochs, runs, exports and resolve
appeals. Objects of other organizations are 404. Views parse, call :mod:`zktx.services`, render."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from accounts.permissions import Principal, denial, principal
from accounts.roles import Cap
from trustfabric.errors import NotFound, ServiceError
from zktx import reports, services
from zktx.models import (
    Appeal,
    AuditBundle,
    Epoch,
    EpochEvaluation,
    HolderSet,
    PartnerKey,
    Pilot,
    PilotRun,
    Query,
)

ANYONE = (Cap.PORTAL, Cap.ZKTX_CONSOLE)


class AnyCapability(BasePermission):
    """The caller needs one of the view's ``required_capabilities`` (partners 404, operators 403)."""

    def has_permission(self, request, view) -> bool:
        caps = getattr(view, "required_capabilities", ())
        if not caps or not request.user or not request.user.is_authenticated:
            return False
        p = principal(request)
        if any(p.can(c) for c in caps):
            return True
        raise denial(p, caps[0])


class ZktxView(APIView):
    permission_classes = [AnyCapability]
    required_capabilities: tuple[Cap, ...] = ANYONE

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, services.RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response

    def p(self) -> Principal:
        return principal(self.request)

    def need(self, cap: Cap) -> None:
        err = denial(self.p(), cap)
        if err is not None:
            raise err

    def via(self) -> services.Via:
        return services.Via(self.request.method, self.request.path)

    def body(self) -> dict[str, Any]:
        data = self.request.data
        if not isinstance(data, dict):
            raise ServiceError("malformed_request", "The body must be a JSON object.")
        return data


def _field(data: dict, name: str, kind: type = str, *, required: bool = True) -> Any:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise ServiceError("invalid_request", f"'{name}' is required ({kind.__name__}).", details={name: "required"})
    return value


# --------------------------------------------------------------------------- renderers


def key_json(k: PartnerKey) -> dict[str, Any]:
    return {"id": str(k.pk), "organization": k.organization.slug, "identity_key": k.identity_public,
            "bls_public_key": k.bls_public, "bls_pop": k.bls_pop, "status": k.status, "created_at": k.created_at,
            "revoked_at": k.revoked_at}


def pilot_json(pilot: Pilot, p: Principal) -> dict[str, Any]:
    return {"id": str(pilot.pk), "name": pilot.name, "holder": pilot.holder.slug, "querier": pilot.querier.slug,
            "my_role": pilot.role_of(p.organization), "selector_type": pilot.selector_type,
            "policy": pilot.policy_json(), "epoch_seconds": pilot.epoch_seconds, "status": pilot.status,
            "created_at": pilot.created_at}


def epoch_json(e: Epoch, p: Principal) -> dict[str, Any]:
    ev = e.evaluations.order_by("-submitted_at").first()
    hs = HolderSet.objects.filter(epoch=e).first()
    return {
        "id": str(e.pk), "pilot": e.pilot.name, "pilot_id": str(e.pilot_id), "number": e.number,
        "purpose": e.purpose, "appeal": str(e.appeal_id) if e.appeal_id else None,
        "run": str(e.run_id) if e.run_id else None, "session_id": e.session_id, "status": e.status,
        "policy": e.policy, "holder": e.pilot.holder.slug, "querier": e.pilot.querier.slug,
        "my_role": e.pilot.role_of(p.organization), "next_action": services.epoch_next_action(e, p.organization),
        "joined": {"holder": bool(e.holder_key), "querier": bool(e.querier_key)},
        "header": e.header, "header_digest": e.header_digest or None,
        "signatures": {"holder": e.holder_signature or None, "querier": e.querier_signature or None},
        "identities": services.epoch_identities(e),
        "holder_set": {"size": hs.size, "digest": hs.blob} if hs else None,
        "evaluation": {"status": ev.status, "progress": ev.progress, "error_code": ev.error_code or None,
                       "seconds": ev.seconds} if ev else None,
        "commitment": {"root": e.commitment_root, "size": e.commitment_size} if e.commitment_root else None,
        "budget": {"limit": e.policy.get("query_budget"), "used": e.queries_used},
        "error": {"code": e.error_code, "message": e.error_message} if e.error_code else None,
        "created_at": e.created_at, "opened_at": e.opened_at, "ends_at": e.ends_at, "closed_at": e.closed_at,
    }


def query_json(q: Query, p: Principal) -> dict[str, Any]:
    out = {
        "id": str(q.pk), "query_id": q.query_id, "pilot": q.pilot.name, "epoch": str(q.epoch_id),
        "epoch_number": q.epoch.number, "tenant": q.tenant.slug, "status": q.status, "size": q.size,
        "verdict": q.verdict if q.status == Query.Status.VERDICT else None,
        "receipt": q.receipt if q.status == Query.Status.VERDICT else None,
        "rerun_of": str(q.rerun_of_id) if q.rerun_of_id else None, "attempts": q.attempts,
        "error": {"code": q.error_code, "message": q.error_message} if q.error_code else None,
        "submitted_at": q.submitted_at, "evaluated_at": q.evaluated_at, "verdict_at": q.verdict_at,
        "latency_ms": q.latency_ms,
    }
    if services.is_console(p):  # the count and the fair-queue tags are for the exchange's staff only
        out.update({"count": q.count, "transcript_digest": q.transcript_digest or None,
                    "vstart": q.vstart, "vfinish": q.vfinish, "process_ms": q.process_ms,
                    "witness_leaf_hash": q.witness_leaf_hash or None})
    return out


def appeal_json(a: Appeal) -> dict[str, Any]:
    return {
        "id": str(a.pk), "query": str(a.query_id), "pilot": a.query.pilot.name, "filed_by": a.organization.slug,
        "reason": a.reason, "status": a.status, "filed_at": a.filed_at, "sla_due_at": a.sla_due_at,
        "reverify": {"at": a.reverified_at, "ok": a.reverify_ok, "code": a.reverify_code or None},
        "consent": {"holder": a.holder_consent_at, "querier": a.querier_consent_at},
        "rerun_epoch": next((str(e.pk) for e in a.rerun_epochs.all()), None),
        "rerun_query": str(a.rerun_query_id) if a.rerun_query_id else None,
        "rerun_verdict": a.rerun_query.verdict if a.rerun_query_id and a.rerun_query.status == Query.Status.VERDICT else None,
        "resolution": a.resolution or None, "resolution_reason": a.resolution_reason or None,
        "resolved_at": a.resolved_at, "escalated_at": a.escalated_at, "incident": a.incident_id or None,
        "is_drill": a.is_drill,
    }


def bundle_json(b: AuditBundle) -> dict[str, Any]:
    return {
        "id": str(b.pk), "run": b.run.label, "run_id": str(b.run_id), "status": b.status, "progress": b.progress,
        "partners": [{"id": x["id"], "bls_public_key": x["bls_public"], "accepted": x["id"] in b.acceptances}
                     for x in b.partners],
        "core_digest": b.core_digest or None, "file_count": b.file_count, "bundle_digest": b.bundle_digest or None,
        "witness_leaf_hash": b.witness_leaf_hash or None, "size": b.size,
        "error": {"code": b.error_code, "message": b.error_message} if b.error_code else None,
        "trust": services.bundle_trust(b) if b.status == AuditBundle.Status.READY else None,
        "created_at": b.created_at, "ready_at": b.ready_at,
    }


def run_json(r: PilotRun, *, detail: bool = False) -> dict[str, Any]:
    out = {"id": str(r.pk), "label": r.label, "name": r.name, "status": r.status,
           "pilots": [p.name for p in r.pilots.all()], "started_at": r.started_at, "finished_at": r.finished_at}
    if detail:
        out.update({"config": r.config, "stats": reports.run_stats(r), "checklist": reports.run_checklist(r)})
    return out


# --------------------------------------------------------------------------- exchange, keys


class ExchangeInfo(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The exchange's public keys (identity, statements, log)")
    def get(self, request):
        p = self.p()
        return Response({**services.exchange_info(),
                         "organization": p.organization.slug if p.organization else None,
                         "organization_kind": p.organization.kind if p.organization else None})


class ZktxKeyIn(serializers.Serializer):
    identity_key = serializers.CharField(max_length=64)
    bls_public_key = serializers.CharField(max_length=96)
    bls_pop = serializers.CharField(max_length=192)
    signature = serializers.CharField(max_length=128)


class KeyList(ZktxView):
    @extend_schema(operation_id="zktx_keys_list", responses=OpenApiTypes.OBJECT, summary="Partner keys (your organization's; all for the console)")
    def get(self, request):
        return Response([key_json(k) for k in services.keys_visible(self.p())[:200]])

    @extend_schema(request=ZktxKeyIn, responses=OpenApiTypes.OBJECT,
                   summary="Register (rotate) your identity and BLS keys; the BLS key needs its proof of possession")
    def post(self, request):
        self.need(Cap.PORTAL)
        s = ZktxKeyIn(data=self.body())
        s.is_valid(raise_exception=True)
        key = services.key_register(actor=request.user, via=self.via(), **s.validated_data)
        return Response(key_json(key), status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- pilots, runs, epochs


class ZktxPilotIn(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    holder = serializers.SlugField()
    querier = serializers.SlugField()
    k = serializers.IntegerField(min_value=0)
    selector_type = serializers.CharField(default="phone")
    min_holder_set = serializers.IntegerField(min_value=1, default=100)
    min_query = serializers.IntegerField(min_value=1, default=16)
    max_query = serializers.IntegerField(min_value=1, default=4096)
    query_budget = serializers.IntegerField(min_value=0, default=100)
    min_novel = serializers.IntegerField(min_value=0, default=8)
    epoch_seconds = serializers.IntegerField(min_value=60, default=86400)


def _partner_org(slug: str) -> Organization:
    org = Organization.objects.filter(slug=slug, kind=Organization.Kind.PARTNER).first()
    if org is None:
        raise ServiceError("pilot_partner_invalid", f"No partner organization '{slug}'.")
    return org


class PilotList(ZktxView):
    @extend_schema(operation_id="zktx_pilots_list", responses=OpenApiTypes.OBJECT, summary="Pilots you take part in (all for the console)")
    def get(self, request):
        p = self.p()
        return Response([pilot_json(x, p) for x in services.pilots_visible(p)])

    @extend_schema(request=ZktxPilotIn, responses=OpenApiTypes.OBJECT, summary="Create a pilot (operators)")
    def post(self, request):
        self.need(Cap.ZKTX_OPERATE)
        s = ZktxPilotIn(data=self.body())
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        pilot = services.pilot_create(actor=request.user, holder=_partner_org(d.pop("holder")),
                                      querier=_partner_org(d.pop("querier")), **d)
        return Response(pilot_json(pilot, self.p()), status=status.HTTP_201_CREATED)


class PilotDetail(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One pilot with its current epoch (404 unless yours)")
    def get(self, request, pilot_id):
        p = self.p()
        pilot = services.pilot_get(p, pilot_id)
        return Response({**pilot_json(pilot, p), "overview": reports.pilot_overview(pilot)})


class ZktxEpochStartIn(serializers.Serializer):
    run = serializers.UUIDField(required=False, allow_null=True)


class PilotEpochs(ZktxView):
    @extend_schema(operation_id="zktx_pilot_epochs_list", responses=OpenApiTypes.OBJECT, summary="The pilot's epochs, newest first")
    def get(self, request, pilot_id):
        p = self.p()
        pilot = services.pilot_get(p, pilot_id)
        return Response([epoch_json(e, p) for e in services.epochs_visible(p).filter(pilot=pilot)[:100]])

    @extend_schema(request=ZktxEpochStartIn, responses=OpenApiTypes.OBJECT,
                   summary="Start an epoch (operators): fresh session keys and pepper; closes the previous one")
    def post(self, request, pilot_id):
        p = self.p()
        pilot = services.pilot_get(p, pilot_id)
        self.need(Cap.ZKTX_OPERATE)
        s = ZktxEpochStartIn(data=self.body())
        s.is_valid(raise_exception=True)
        run = services.run_get(p, s.validated_data["run"]) if s.validated_data.get("run") else None
        epoch = services.epoch_start(actor=request.user, pilot=pilot, run=run, via=self.via())
        return Response(epoch_json(epoch, p), status=status.HTTP_201_CREATED)


class ZktxRunIn(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    pilots = serializers.ListField(child=serializers.UUIDField(), min_length=1)
    config = serializers.DictField(required=False)


class RunList(ZktxView):
    @extend_schema(operation_id="zktx_runs_list", responses=OpenApiTypes.OBJECT, summary="Pilot runs (the unit of an audit bundle)")
    def get(self, request):
        return Response([run_json(r) for r in services.runs_visible(self.p())[:100]])

    @extend_schema(request=ZktxRunIn, responses=OpenApiTypes.OBJECT, summary="Start a pilot run (operators)")
    def post(self, request):
        p = self.p()
        self.need(Cap.ZKTX_OPERATE)
        s = ZktxRunIn(data=self.body())
        s.is_valid(raise_exception=True)
        pilots = [services.pilot_get(p, pk) for pk in s.validated_data["pilots"]]
        run = services.run_start(actor=request.user, name=s.validated_data["name"], pilots=pilots,
                                 config=s.validated_data.get("config") or {})
        return Response(run_json(run), status=status.HTTP_201_CREATED)


class RunDetail(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="A run with per-tenant throughput, latency, error rate and its acceptance checklist")
    def get(self, request, run_id):
        return Response(run_json(services.run_get(self.p(), run_id), detail=True))


class RunBundles(ZktxView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT,
                   summary="Export the run's signed audit bundle (operators; runs in a task)")
    def post(self, request, run_id):
        run = services.run_get(self.p(), run_id)
        self.need(Cap.ZKTX_OPERATE)
        b = services.bundle_export(actor=request.user, run=run, via=self.via())
        return Response(bundle_json(b), status=status.HTTP_202_ACCEPTED)


class EpochDetail(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One epoch: header, signatures, progress, your next action")
    def get(self, request, epoch_id):
        p = self.p()
        return Response(epoch_json(services.epoch_get(p, epoch_id), p))


class ZktxJoinIn(serializers.Serializer):
    session_key = serializers.CharField(max_length=64)
    pepper_id = serializers.CharField(max_length=32)


class EpochJoin(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(request=ZktxJoinIn, responses=OpenApiTypes.OBJECT,
                   summary="Contribute your per-session public key and the pepper id")
    def post(self, request, epoch_id):
        p = self.p()
        epoch = services.epoch_get(p, epoch_id)
        s = ZktxJoinIn(data=self.body())
        s.is_valid(raise_exception=True)
        epoch = services.epoch_join(actor=request.user, epoch=epoch, via=self.via(), **s.validated_data)
        return Response(epoch_json(epoch, p))


class ZktxSignIn(serializers.Serializer):
    signature = serializers.CharField(max_length=128)


class EpochSign(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(request=ZktxSignIn, responses=OpenApiTypes.OBJECT, summary="Sign the session header (Ed25519)")
    def post(self, request, epoch_id):
        p = self.p()
        epoch = services.epoch_get(p, epoch_id)
        s = ZktxSignIn(data=self.body())
        s.is_valid(raise_exception=True)
        epoch = services.epoch_sign(actor=request.user, epoch=epoch, signature=s.validated_data["signature"],
                                    via=self.via())
        return Response(epoch_json(epoch, p))


class EpochHolderSet(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="The holder's signed blinded set (the querier evaluates it; never Y2 to anyone)")
    def get(self, request, epoch_id):
        return Response(services.holder_set_message(services.epoch_get(self.p(), epoch_id)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Upload the holder set (zktx-holder-set/1), holder only")
    def post(self, request, epoch_id):
        self.need(Cap.PORTAL)
        epoch = services.epoch_get(self.p(), epoch_id)
        hs = services.holder_set_upload(actor=request.user, epoch=epoch, message=request.data, via=self.via())
        return Response({"epoch": str(epoch.pk), "size": hs.size, "digest": hs.blob}, status=status.HTTP_201_CREATED)


class EpochEvaluationView(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="The querier's evaluation of the holder set (zktx-epoch-evaluation/1); verified in a task")
    def post(self, request, epoch_id):
        epoch = services.epoch_get(self.p(), epoch_id)
        ev = services.epoch_evaluation_submit(actor=request.user, epoch=epoch, message=request.data, via=self.via())
        return Response(_evaluation_json(ev), status=status.HTTP_202_ACCEPTED)


def _evaluation_json(ev: EpochEvaluation) -> dict[str, Any]:
    return {"id": str(ev.pk), "epoch": str(ev.epoch_id), "status": ev.status, "size": ev.size,
            "progress": ev.progress, "error_code": ev.error_code or None}


class EpochTranscript(ZktxView):
    required_capabilities = (Cap.ZKTX_CONSOLE,)

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The epoch transcript (zktx-epoch/1), auditors only")
    def get(self, request, epoch_id):
        return Response(services.epoch_transcript(services.epoch_get(self.p(), epoch_id)))


class PendingEvaluations(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="Evaluation requests waiting for you: holder sets (querier), queries (holder), fair order")
    def get(self, request):
        try:
            limit = int(request.query_params.get("limit", 50))
        except ValueError as exc:
            raise ServiceError("invalid_request", "limit must be an integer.") from exc
        return Response(services.pending_evaluations(self.p(), limit=limit))


# --------------------------------------------------------------------------- queries


class QueryList(ZktxView):
    @extend_schema(operation_id="zktx_queries_list", responses=OpenApiTypes.OBJECT, summary="Queries of your pilots (filters: pilot, epoch, status)")
    def get(self, request):
        p = self.p()
        qs = services.queries_visible(p)
        for param, field in (("pilot", "pilot__name"), ("epoch", "epoch_id"), ("status", "status"), ("run", "run_id")):
            value = request.query_params.get(param)
            if value:
                qs = qs.filter(**{field: value})
        try:
            return Response([query_json(q, p) for q in qs[:500]])
        except (ValueError, TypeError) as exc:
            raise ServiceError("invalid_request", "Bad filter value.") from exc

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="Submit a signed query request {epoch, request, rerun_of?}: 201, or 429 with Retry-After")
    def post(self, request):
        self.need(Cap.PORTAL)
        p = self.p()
        data = self.body()
        epoch = services.epoch_get(p, _field(data, "epoch"))
        rerun_of = services.query_get(p, data["rerun_of"]) if data.get("rerun_of") else None
        q = services.query_submit(actor=request.user, epoch=epoch, request=data.get("request"), rerun_of=rerun_of,
                                  via=self.via())
        return Response(query_json(q, p), status=status.HTTP_201_CREATED)


class QueryDetail(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One query (no count for partners)")
    def get(self, request, query_pk):
        p = self.p()
        return Response(query_json(services.query_get(p, query_pk), p))


class QueryEvaluationView(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="The holder's evaluation of a query (zktx-query-evaluation/1)")
    def post(self, request, query_pk):
        p = self.p()
        q = services.query_evaluation_submit(actor=request.user, query=services.query_get(p, query_pk),
                                             message=request.data, via=self.via())
        return Response(query_json(q, p), status=status.HTTP_202_ACCEPTED)


class QueryVerdict(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="The signed verdict receipt and the witness inclusion proof of its transcript digest")
    def get(self, request, query_pk):
        return Response(services.query_verdict(services.query_get(self.p(), query_pk)))


class QueryTranscript(ZktxView):
    required_capabilities = (Cap.ZKTX_CONSOLE,)

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The query transcript (zktx-query/1), auditors only")
    def get(self, request, query_pk):
        q = services.query_get(self.p(), query_pk)
        if not q.transcript:
            raise NotFound("transcript")
        return Response(q.transcript)


class Quotas(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="Your rate (token bucket), fair-share weight, counters and per-epoch query budgets")
    def get(self, request):
        return Response(services.quotas_view(self.p()))


# --------------------------------------------------------------------------- appeals


class ZktxAppealIn(serializers.Serializer):
    query = serializers.UUIDField()
    reason = serializers.CharField(max_length=2000)


class AppealList(ZktxView):
    @extend_schema(operation_id="zktx_appeals_list", responses=OpenApiTypes.OBJECT, summary="Appeals on your pilots")
    def get(self, request):
        return Response([appeal_json(a) for a in services.appeals_visible(self.p())[:200]])

    @extend_schema(request=ZktxAppealIn, responses=OpenApiTypes.OBJECT, summary="Appeal a verdict (partners)")
    def post(self, request):
        self.need(Cap.PORTAL)
        s = ZktxAppealIn(data=self.body())
        s.is_valid(raise_exception=True)
        q = services.query_get(self.p(), s.validated_data["query"])
        a = services.appeal_file(actor=request.user, query=q, reason=s.validated_data["reason"], via=self.via())
        return Response(appeal_json(a), status=status.HTTP_201_CREATED)


class AppealDetail(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One appeal")
    def get(self, request, appeal_id):
        return Response(appeal_json(services.appeal_get(self.p(), appeal_id)))


class AppealConsent(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="Consent to a re-run under a fresh epoch")
    def post(self, request, appeal_id):
        a = services.appeal_consent(actor=request.user, appeal=services.appeal_get(self.p(), appeal_id), via=self.via())
        return Response(appeal_json(a))


class AppealReverify(ZktxView):
    required_capabilities = (Cap.ZKTX_OPERATE,)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="Re-verify the epoch and the transcript")
    def post(self, request, appeal_id):
        a = services.appeal_reverify(actor=request.user, appeal=services.appeal_get(self.p(), appeal_id))
        return Response(appeal_json(a))


class AppealRerun(ZktxView):
    required_capabilities = (Cap.ZKTX_OPERATE,)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT,
                   summary="Start the re-run epoch (needs both partners' consent)")
    def post(self, request, appeal_id):
        p = self.p()
        epoch = services.appeal_rerun_start(actor=request.user, appeal=services.appeal_get(p, appeal_id))
        return Response(epoch_json(epoch, p), status=status.HTTP_201_CREATED)


class ZktxResolveIn(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Appeal.Resolution.values)
    reason = serializers.CharField(max_length=2000)


class AppealResolve(ZktxView):
    required_capabilities = (Cap.ZKTX_OPERATE,)

    @extend_schema(request=ZktxResolveIn, responses=OpenApiTypes.OBJECT, summary="Record the resolution and its reason")
    def post(self, request, appeal_id):
        s = ZktxResolveIn(data=self.body())
        s.is_valid(raise_exception=True)
        a = services.appeal_resolve(actor=request.user, appeal=services.appeal_get(self.p(), appeal_id),
                                    **s.validated_data)
        return Response(appeal_json(a))


# --------------------------------------------------------------------------- bundles


class BundleList(ZktxView):
    @extend_schema(operation_id="zktx_bundles_list", responses=OpenApiTypes.OBJECT, summary="Audit bundles of your runs")
    def get(self, request):
        return Response([bundle_json(b) for b in services.bundles_visible(self.p())[:100]])


class BundleDetail(ZktxView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One bundle: status, progress, digests, trust file")
    def get(self, request, bundle_id):
        return Response(bundle_json(services.bundle_get(self.p(), bundle_id)))


class BundleCore(ZktxView):
    @extend_schema(responses=OpenApiTypes.BINARY,
                   summary="The manifest core to review and sign (canonical JSON: file digests, meta, keys)")
    def get(self, request, bundle_id):
        core = services.bundle_core(services.bundle_get(self.p(), bundle_id))
        return HttpResponse(core, content_type="application/json")


class ZktxAcceptIn(serializers.Serializer):
    signature = serializers.CharField(max_length=192)


class BundleAcceptance(ZktxView):
    required_capabilities = (Cap.PORTAL,)

    @extend_schema(request=ZktxAcceptIn, responses=OpenApiTypes.OBJECT,
                   summary="Accept the bundle: your BLS signature of its acceptance message")
    def post(self, request, bundle_id):
        s = ZktxAcceptIn(data=self.body())
        s.is_valid(raise_exception=True)
        b = services.bundle_accept(actor=request.user, bundle=services.bundle_get(self.p(), bundle_id),
                                   signature=s.validated_data["signature"], via=self.via())
        return Response(bundle_json(b))


class BundleDownload(ZktxView):
    required_capabilities = (Cap.ZKTX_CONSOLE,)

    @extend_schema(responses=OpenApiTypes.BINARY,
                   summary="The sealed bundle (.tar.gz), operators and auditors only: it holds full transcripts")
    def get(self, request, bundle_id):
        b = services.bundle_get(self.p(), bundle_id)
        data = services.bundle_archive(b)
        response = HttpResponse(data, content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="zktx-bundle-{b.run.label}.tar.gz"'
        return response


__all__ = ["AnyCapability", "ZktxView"]
