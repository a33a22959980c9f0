from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasCapability, principal
from accounts.roles import Cap
from pcq import services
from pcq.models import CanaryConfig, CanaryVerdict, DrillRun, Job
from trustfabric.errors import NotFound


class DatasetIn(serializers.Serializer):
    edges = serializers.ListField(child=serializers.ListField(min_length=2, max_length=3))
    directed = serializers.BooleanField(default=False)
    weighted = serializers.BooleanField(default=False)
    nodes = serializers.ListField(required=False)


class JobIn(serializers.Serializer):
    manifest = serializers.DictField()
    result = serializers.DictField()


class JobSerializer(serializers.ModelSerializer):
    verdict = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "job_id", "kind", "tenant", "tier", "manifest_digest", "output_digest", "submitted_at",
                  "sampled", "sample_reason", "status", "verdict"]

    def get_verdict(self, job):
        r = job.replays.first()
        return {"verdict": r.verdict, "finished_at": r.finished_at, "witness_leaf_hash": r.witness_leaf_hash} if r else None


class DatasetCreate(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_SUBMIT

    @extend_schema(request=DatasetIn, summary="Upload a graph dataset (stored content-addressed; returns its digest)")
    def post(self, request):
        s = DatasetIn(data=request.data)
        s.is_valid(raise_exception=True)
        info = services.dataset_store(actor=request.user, **s.validated_data)
        return Response({"digest": info.digest, "nodes": info.nodes, "edges": info.edges, "bytes": info.bytes,
                         "chunks": info.chunks}, status=status.HTTP_201_CREATED)


class JobList(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_SUBMIT

    @extend_schema(request=JobIn, responses={201: JobSerializer}, summary="Submit a job: manifest + result")
    def post(self, request):
        s = JobIn(data=request.data)
        s.is_valid(raise_exception=True)
        job = services.job_submit(producer=request.user, **s.validated_data)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=JobSerializer(many=True), summary="Jobs (producers see their own)")
    def get(self, request):
        return Response(JobSerializer(services.jobs_visible_to(principal(request))[:200], many=True).data)


class JobDetail(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_SUBMIT

    @extend_schema(responses=JobSerializer, summary="One job with its latest verdict (404 unless yours or you operate PCQ)")
    def get(self, request, job_id):
        return Response(JobSerializer(services.job_get(principal(request), job_id)).data)


class PauseIn(serializers.Serializer):
    scope = serializers.CharField(max_length=150, help_text="'*' or '<kind>/<tenant>'")
    reason = serializers.CharField(max_length=300)


class PauseList(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_OPERATE

    @extend_schema(summary="Active pauses")
    def get(self, request):
        from pcq.models import Pause

        return Response([{"id": str(p.pk), "scope": p.scope, "reason": p.reason, "paused_at": p.paused_at}
                         for p in Pause.objects.filter(resumed_at__isnull=True)])

    @extend_schema(request=PauseIn, summary="Pause replays (globally with '*', or for one stratum)")
    def post(self, request):
        s = PauseIn(data=request.data)
        s.is_valid(raise_exception=True)
        p = services.pause(actor=request.user, **s.validated_data)
        return Response({"id": str(p.pk), "scope": p.scope}, status=status.HTTP_201_CREATED)


class PauseDetail(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_OPERATE

    @extend_schema(summary="Resume (end a pause)")
    def delete(self, request, pause_id):
        services.resume(actor=request.user, pause_id=pause_id, reason=request.query_params.get("reason", ""))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- canary ----------------------------------------------------------------------------------------------


class CanaryConfigSerializer(serializers.ModelSerializer):
    class Meta:
        model = CanaryConfig
        fields = ["id", "name", "version", "params", "regression", "regression_params", "is_active", "created_at",
                  "regression_changed_at"]


class CanaryVerdictSerializer(serializers.ModelSerializer):
    job_id = serializers.CharField(source="job.job_id")
    job = serializers.UUIDField(source="job.pk")

    class Meta:
        model = CanaryVerdict
        fields = ["id", "job", "job_id", "kind", "tenant", "tier", "canary_name", "canary_version", "regression", "started_at",
                  "duration_s", "verdict", "level", "severity", "flagged", "incidents", "witness_leaf_hash", "report"]


class CanaryView(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_VIEW

    @extend_schema(summary="The active canary configuration, all configurations and the learned noise bands")
    def get(self, request):
        active = services.canary_config_current(create=False)
        return Response({
            "active": CanaryConfigSerializer(active).data if active else None,
            "configs": CanaryConfigSerializer(CanaryConfig.objects.all()[:50], many=True).data,
            "regressions": services.REGRESSION_LABELS,
            "noise_bands": [{"field": b.field, "band": b.band, "observations": b.observations, "noisy": b.noisy,
                             "updated_at": b.updated_at} for b in services.noise_bands()],
            "today": services.canary_summary(),
        })


class RegressionIn(serializers.Serializer):
    regression = serializers.CharField(max_length=30, help_text="none, pagerank_damping, drop_edges or distance_offset")
    regression_params = serializers.DictField(required=False, default=dict)
    reason = serializers.CharField(max_length=300, required=False, default="")


class CanaryRegression(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_OPERATE

    @extend_schema(request=RegressionIn, responses=CanaryConfigSerializer,
                   summary="Switch the active canary's planted regression on or off (audited)")
    def post(self, request):
        s = RegressionIn(data=request.data)
        s.is_valid(raise_exception=True)
        cfg = services.canary_regression_set(actor=request.user, **s.validated_data)
        return Response(CanaryConfigSerializer(cfg).data)


class CanaryConfigIn(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    version = serializers.CharField(max_length=60)
    params = serializers.DictField(required=False, default=dict)
    activate = serializers.BooleanField(default=True)
    reason = serializers.CharField(max_length=300, required=False, default="")


class CanaryConfigList(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_OPERATE

    @extend_schema(request=CanaryConfigIn, responses={201: CanaryConfigSerializer},
                   summary="Create a canary configuration (a new version starts new alert groups; audited)")
    def post(self, request):
        s = CanaryConfigIn(data=request.data)
        s.is_valid(raise_exception=True)
        cfg = services.canary_config_create(actor=request.user, **s.validated_data)
        return Response(CanaryConfigSerializer(cfg).data, status=status.HTTP_201_CREATED)


class CanaryVerdictList(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_VIEW

    @extend_schema(responses=CanaryVerdictSerializer(many=True),
                   summary="Recent canary verdicts (?job=<uuid>, ?level=page|ticket|info|none, ?verdict=pass|delta|error)")
    def get(self, request):
        qs = services.canary_verdicts_visible_to(principal(request))
        for key in ("level", "verdict", "kind"):
            if request.query_params.get(key):
                qs = qs.filter(**{key: request.query_params[key]})
        if request.query_params.get("job"):
            try:
                qs = qs.filter(job_id=uuid.UUID(request.query_params["job"]))
            except ValueError:
                qs = qs.none()
        return Response(CanaryVerdictSerializer(qs[:200], many=True).data)


# --- drills ----------------------------------------------------------------------------------------------


class DrillSerializer(serializers.ModelSerializer):
    class Meta:
        model = DrillRun
        fields = ["id", "started_at", "finished_at", "actor_label", "status", "params", "done", "total", "summary", "error"]


class DrillIn(serializers.Serializer):
    seed = serializers.IntegerField(default=1, min_value=0)
    benign = serializers.IntegerField(default=150, min_value=1)
    regressions = serializers.IntegerField(default=30, min_value=0)
    ack_after_s = serializers.FloatField(default=120.0, min_value=0)
    mean_gap_s = serializers.FloatField(default=60.0, min_value=1)
    responder = serializers.CharField(required=False, allow_blank=True, default="")


class DrillList(APIView):
    permission_classes = [HasCapability]

    @property
    def required_capability(self):  # reading drills needs pcq.view, starting one pcq.operate
        return Cap.PCQ_OPERATE if self.request.method == "POST" else Cap.PCQ_VIEW

    @extend_schema(responses=DrillSerializer(many=True), summary="Canary drills, newest first")
    def get(self, request):
        return Response(DrillSerializer(DrillRun.objects.all()[:50], many=True).data)

    @extend_schema(request=DrillIn, responses={202: DrillSerializer},
                   summary="Start a canary drill on the replay queue (false-alarm rate and MTTA; audited)")
    def post(self, request):
        s = DrillIn(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        data["responder"] = data["responder"] or None
        run = services.drill_start(actor=request.user, **data)
        return Response(DrillSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class DrillDetail(APIView):
    permission_classes = [HasCapability]
    required_capability = Cap.PCQ_VIEW

    @extend_schema(responses=DrillSerializer, summary="One canary drill with its summary and per-scenario rows")
    def get(self, request, drill_id):
        run = DrillRun.objects.filter(pk=drill_id).first()
        if run is None:
            raise NotFound("canary drill")
        return Response(DrillSerializer(run).data | {"scenarios": run.scenarios})
