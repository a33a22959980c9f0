from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasCapability
from accounts.roles import Cap
from studio import services
from studio.models import ApprovalRequest


class DecideIn(serializers.Serializer):
    environment = serializers.ChoiceField(choices=["dev", "stage", "prod"])
    request = serializers.DictField(help_text="subject, action, resource, context, authority (see docs/lac.md)")
    locale = serializers.CharField(max_length=10, default="en")
    reason_for_access = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    rows = serializers.ListField(child=serializers.DictField(), required=False, max_length=10000,
                                 help_text="result rows to minimize with the decision's obligations")
    explain = serializers.BooleanField(default=True)


class BatchItem(serializers.Serializer):
    request = serializers.DictField()
    locale = serializers.CharField(max_length=10, default="en")
    reason_for_access = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    rows = serializers.ListField(child=serializers.DictField(), required=False, max_length=10000)


class BatchIn(serializers.Serializer):
    environment = serializers.ChoiceField(choices=["dev", "stage", "prod"])
    items = serializers.ListField(child=BatchItem(), min_length=1, max_length=services.MAX_BATCH)
    explain = serializers.BooleanField(default=False)


class DecideView(APIView):
    """Decision points (query gateways, export services) call this; a token with any operator role works."""

    permission_classes = [HasCapability]
    required_capability = Cap.DECIDE

    @extend_schema(request=DecideIn, summary="Decide one query/export request in an environment")
    def post(self, request):
        s = DecideIn(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        out = services.decide(environment_name=v["environment"], request=v["request"], caller=request.user, locale=v["locale"],
                              rows=v.get("rows"), reason_for_access=v.get("reason_for_access", ""), explain=v["explain"])
        return Response(out)


class DecideBatchView(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.DECIDE

    @extend_schema(request=BatchIn, summary="Decide up to 1,000 requests at once")
    def post(self, request):
        s = BatchIn(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        out = services.decide_batch(environment_name=v["environment"], items=[dict(i) for i in v["items"]],
                                    caller=request.user, explain=v["explain"])
        return Response({"decisions": out})


class ApprovalSerializer(serializers.ModelSerializer):
    votes = serializers.SerializerMethodField()
    grant = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = ["id", "status", "environment", "summary", "subject_id", "policy_ids", "approvers_required", "grant_seconds",
                  "reason_for_access", "created_at", "expires_at", "decided_at", "votes", "grant"]

    def get_votes(self, obj):
        return [{"approver": v.approver.get_username(), "approve": v.approve, "at": v.at} for v in obj.votes.select_related("approver")]

    def get_grant(self, obj):
        g = getattr(obj, "grant", None)
        return {"id": str(g.pk), "expires_at": g.expires_at, "revoked_at": g.revoked_at} if g else None


class ApprovalList(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.STUDIO_VIEW

    @extend_schema(responses=ApprovalSerializer(many=True), summary="Just-in-time access requests (?status=pending)")
    def get(self, request):
        qs = ApprovalRequest.objects.all()
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response(ApprovalSerializer(qs[:200], many=True).data)


class VoteIn(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(max_length=400, required=False, allow_blank=True)


class ApprovalVoteView(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.STUDIO_APPROVE

    @extend_schema(request=VoteIn, responses=ApprovalSerializer, summary="Approve or reject an access request")
    def post(self, request, approval_id):
        s = VoteIn(data=request.data)
        s.is_valid(raise_exception=True)
        ar = services.approval_vote(actor=request.user, request=services.approval_get(approval_id), **s.validated_data)
        return Response(ApprovalSerializer(ar).data)


# --- bundle distribution and status (decision points) --------------------------------------------------------------


class BundleView(APIView):
    """A decision point fetches the bundle its environment runs. Send ``If-None-Match`` with the
    digest you hold: 304 when it is still current (the ETag is the bundle digest)."""

    permission_classes = [HasCapability]
    required_capability = Cap.DECIDE

    @extend_schema(summary="Download the bundle deployed in an environment (ETag = digest)")
    def get(self, request, name: str):
        env = services.environment(name, fresh=True)
        etag = f'"{env.bundle.digest}"'
        held = [t.strip() for t in request.headers.get("If-None-Match", "").split(",") if t.strip()]
        if etag in held or env.bundle.digest in held:
            resp = Response(status=304)
        else:
            resp = Response(services.bundle_document(env.bundle))
        resp["ETag"] = etag
        resp["Cache-Control"] = "no-cache"
        return resp


class StatusIn(serializers.Serializer):
    point_id = serializers.CharField(max_length=120)
    environment = serializers.ChoiceField(choices=["dev", "stage", "prod"])
    digest = serializers.CharField(max_length=80, help_text="sha256:<hex> of the bundle the point has loaded")
    bundle = serializers.DictField(required=False, help_text="the loaded bundle document, when it is not the registry's")
    meta = serializers.DictField(required=False)


class StatusView(APIView):
    """Heartbeat of a decision point (as OPA's status API): the digest it has loaded."""

    permission_classes = [HasCapability]
    required_capability = Cap.DECIDE

    @extend_schema(request=StatusIn, summary="Report the bundle a decision point runs")
    def post(self, request):
        s = StatusIn(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        point = services.status_report(actor=request.user, point_id=v["point_id"], environment_name=v["environment"],
                                       digest=v["digest"], bundle=v.get("bundle"), meta=v.get("meta"))
        report = services.drift_report(v["environment"])
        state = next((p["state"] for p in report["points"] if p["point_id"] == point.point_id), "unknown")
        return Response({"point_id": point.point_id, "expected": report["expected"], "state": state})


class PromoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class PromoteView(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.STUDIO_APPROVE

    @extend_schema(request=PromoteIn, summary="Promote the previous environment's bundle into this one (stage, prod)")
    def post(self, request, name: str):
        s = PromoteIn(data=request.data)
        s.is_valid(raise_exception=True)
        if name not in services.ENV_ORDER[1:]:
            raise services.LacError("promotion_order", "Promote into stage or prod; dev receives merged change requests.")
        src = services.ENV_ORDER[services.ENV_ORDER.index(name) - 1]
        dep = services.promote(actor=request.user, source=src, target=name, note=s.validated_data.get("note", ""))
        return Response({"environment": name, "bundle_digest": dep.bundle.digest, "version": dep.bundle.version, "deployment": dep.pk})


class RollbackIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class RollbackView(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.STUDIO_APPROVE

    @extend_schema(request=RollbackIn, summary="Return an environment to the bundle it ran before its last deployment")
    def post(self, request, name: str):
        s = RollbackIn(data=request.data)
        s.is_valid(raise_exception=True)
        dep = services.rollback(actor=request.user, environment_name=name, reason=s.validated_data["reason"])
        return Response({"environment": name, "bundle_digest": dep.bundle.digest, "version": dep.bundle.version, "deployment": dep.pk})


class DriftView(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.STUDIO_VIEW

    @extend_schema(summary="Drift report of an environment: expected vs reported digests per decision point")
    def get(self, request, name: str):
        r = services.drift_report(name)
        points = [{k: v for k, v in p.items() if k != "point"} for p in r["points"]]
        drifting = [{k: v for k, v in p.items() if k != "point"} for p in r["drifting"]]
        return Response({"environment": r["environment"], "expected": r["expected"], "version": r["version"],
                         "headline": r["headline"], "points": points, "drifting": drifting,
                         "gates": [{k: v for k, v in g.items() if k != "drift"} for g in
                                   services.promotion_gates(services.ENV_ORDER[services.ENV_ORDER.index(name) - 1], name)]
                         if name in services.ENV_ORDER[1:] else []})
