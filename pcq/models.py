from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Job(models.Model):
    """An analytics job submitted with its manifest (and its result stored content-addressed)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued for replay"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed verification"
        ERROR = "error", "Replay error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job_id = models.CharField(max_length=200)
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=40, db_index=True)
    tenant = models.CharField(max_length=100, db_index=True)
    tier = models.PositiveSmallIntegerField(default=3)
    manifest = models.JSONField()
    manifest_digest = models.CharField(max_length=80, unique=True)
    output_digest = models.CharField(max_length=80)
    input_digests = models.JSONField(default=list)
    submitted_at = models.DateTimeField(db_index=True)
    sampled = models.BooleanField(default=False, db_index=True)
    sample_reason = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [models.UniqueConstraint(fields=["producer", "job_id"], name="job_id_unique_per_producer")]

    def __str__(self) -> str:
        return f"{self.kind} {self.job_id}"


class Replay(models.Model):
    """One recomputation of a job from its manifest, and the verdict."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="replays")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=8, blank=True)  # pass | fail | error
    report = models.JSONField(default=dict)
    duration_s = models.FloatField(null=True, blank=True)
    queue_lag_s = models.FloatField(null=True, blank=True)  # submitted → replay started
    witness_leaf_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"replay of {self.job} → {self.verdict or 'running'}"


class SamplerState(models.Model):
    """The stratified sampler's persisted state (one row; locked while deciding)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "sampler state"


class Pause(models.Model):
    """Replays paused globally (scope "*") or for one stratum ("<kind>/<tenant>"), with a reason."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scope = models.CharField(max_length=150)
    reason = models.CharField(max_length=300)
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    paused_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-paused_at"]
        constraints = [models.UniqueConstraint(fields=["scope"], condition=models.Q(resumed_at__isnull=True), name="one_active_pause_per_scope")]

    def __str__(self) -> str:
        return f"pause {self.scope}"


class SamplerEvent(models.Model):
    """The sampler's AIMD multiplier changed: a backoff (SLO burning) or a step of recovery."""

    class Kind(models.TextChoices):
        BACKOFF = "backoff", "Backoff"
        RECOVER = "recover", "Recovery step"

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    multiplier_before = models.FloatField()
    multiplier_after = models.FloatField()
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.multiplier_before:g} → {self.multiplier_after:g}"


class CanaryConfig(models.Model):
    """A canary engine configuration: name + version, engine parameters, and a planted regression
    (for demos and drills) that operators switch on and off. At most one configuration is active."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=60)
    version = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    regression = models.CharField(max_length=30, default="none")
    regression_params = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    regression_changed_at = models.DateTimeField(null=True, blank=True)
    regression_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="canary_name_version_unique"),
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_canary"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def profile(self):
        from pcq.engine import EngineProfile

        return EngineProfile(self.name, self.version, dict(self.params), self.regression, dict(self.regression_params))


class CanaryVerdict(models.Model):
    """One sampled job run as prod, prod2 and canary, and judged against the learned noise band."""

    class Verdict(models.TextChoices):
        PASS = "pass", "Within noise"
        DELTA = "delta", "True delta"
        ERROR = "error", "Error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="canary_verdicts")
    config = models.ForeignKey(CanaryConfig, null=True, on_delete=models.SET_NULL, related_name="verdicts")
    canary_name = models.CharField(max_length=60)
    canary_version = models.CharField(max_length=60)
    regression = models.CharField(max_length=30, default="none")
    kind = models.CharField(max_length=40, db_index=True)
    tenant = models.CharField(max_length=100)
    tier = models.PositiveSmallIntegerField(default=3)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    level = models.CharField(max_length=8, default="none")  # none | info | ticket | page
    severity = models.FloatField(default=0.0)
    flagged = models.JSONField(default=list)
    report = models.JSONField(default=dict)
    incidents = models.JSONField(default=list)  # on-call incident ids this verdict paged into
    witness_leaf_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"canary {self.canary_version} on {self.job} → {self.verdict}"


class NoiseCalibration(models.Model):
    """Learned prod-vs-prod noise of one canary field (``<kind>.<metric>``); see engine.NoiseCalibrator."""

    field = models.CharField(max_length=60, unique=True)
    state = models.JSONField(default=dict)
    band = models.FloatField(default=0.0)
    observations = models.PositiveIntegerField(default=0)
    noisy = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["field"]

    def __str__(self) -> str:
        return f"noise band {self.field} = {self.band:g}"


class DrillRun(models.Model):
    """A canary drill over labeled scenarios: false-alarm rate and MTTA against the targets."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)
    scenarios = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"canary drill {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 0.0
