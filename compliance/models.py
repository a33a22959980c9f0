from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from compliance.core.coverage import DEFAULT_FRESHNESS_DAYS


class Framework(models.Model):
    """One version of a framework, loaded from a data file. Versions are immutable: new content is a
    new version, and loading it keeps the old one (``is_current`` moves to the new one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=32)  # soc2, iso27001
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=40)
    note = models.TextField(blank=True)
    source_digest = models.CharField(max_length=80)
    is_current = models.BooleanField(default=True)
    loaded_at = models.DateTimeField()
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["key", "-loaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="framework_key_version_unique"),
            models.UniqueConstraint(fields=["key"], condition=Q(is_current=True), name="one_current_framework_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.version})"


class Theme(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="themes")
    code = models.CharField(max_length=16)
    title = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["framework", "order"]
        constraints = [models.UniqueConstraint(fields=["framework", "code"], name="theme_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Control(models.Model):
    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        IMPLEMENTED = "implemented", "Implemented"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="controls")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="controls")
    ref = models.CharField(max_length=16)
    title = models.CharField(max_length=120)
    order = models.PositiveIntegerField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    freshness_days = models.PositiveSmallIntegerField(default=DEFAULT_FRESHNESS_DAYS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["framework", "order"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "ref"], name="control_ref_unique"),
            models.CheckConstraint(condition=Q(freshness_days__gte=1) & Q(freshness_days__lte=730), name="control_freshness_range"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.title}"


class ControlMapping(models.Model):
    """``left`` (e.g. a SOC 2 criterion) covers ground that ``right`` (e.g. an ISO control) covers too."""

    left = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="maps_right")
    right = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="maps_left")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["left", "right"], name="control_mapping_unique")]

    def __str__(self) -> str:
        return f"{self.left.ref} ↔ {self.right.ref}"


class Evidence(models.Model):
    """One evidence item: hashed (SHA-256) and time-stamped. Collected items name their provider and
    version and the period they speak for; uploads keep their checked file; links keep their URL."""

    class Kind(models.TextChoices):
        COLLECTED = "collected", "Collected"
        UPLOAD = "upload", "Upload"
        LINK = "link", "Runbook link"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    provider_id = models.CharField(max_length=80, blank=True, db_index=True)
    provider_version = models.CharField(max_length=20, blank=True)
    source_ref = models.CharField(max_length=200, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    collected_at = models.DateTimeField(db_index=True)
    sha256 = models.CharField(max_length=64)
    content = models.JSONField(null=True, blank=True)  # collected: the evidence document; link: its record
    file_name = models.CharField(max_length=120, blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    storage_key = models.CharField(max_length=100, blank=True)  # uploads: path under VAR_DIR/compliance/uploads
    url = models.URLField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-collected_at"]
        verbose_name_plural = "evidence"
        constraints = [
            models.UniqueConstraint(fields=["provider_id", "source_ref", "sha256"], condition=Q(kind="collected"),
                                    name="collected_evidence_once"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="evidence_period_order"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def produced_by(self) -> str:
        if self.kind == self.Kind.COLLECTED:
            return f"{self.provider_id} v{self.provider_version}"
        return self.created_by.get_username() if self.created_by else "—"


class EvidenceLink(models.Model):
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="links")
    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="links")
    auto = models.BooleanField(default=False, help_text="linked by the provider's control list")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_at = models.DateTimeField()

    class Meta:
        ordering = ["-linked_at"]
        constraints = [models.UniqueConstraint(fields=["control", "evidence"], name="evidence_link_unique")]

    def __str__(self) -> str:
        return f"{self.control.ref} ← {self.evidence}"


GAP_OPEN_STATES = ("open", "in_progress")


class Gap(models.Model):
    """A control without sufficient current evidence, with an owner and a due date."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        RISK_ACCEPTED = "risk_accepted", "Risk accepted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    control = models.ForeignKey(Control, on_delete=models.CASCADE, related_name="gaps")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_date = models.DateField(db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    reason = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "control__framework", "control__order"]
        constraints = [
            models.UniqueConstraint(fields=["control"], condition=Q(status__in=GAP_OPEN_STATES), name="one_open_gap_per_control"),
        ]

    def __str__(self) -> str:
        return f"gap {self.control.ref} due {self.due_date}"

    @property
    def is_open(self) -> bool:
        return self.status in GAP_OPEN_STATES


class Packet(models.Model):
    """A versioned evidence packet for one framework version and period, exported as a signed zip."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Not exported"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Exporting"
        DONE = "done", "Exported"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="packets")
    version = models.CharField(max_length=20)
    period_start = models.DateField()
    period_end = models.DateField()
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=120, blank=True)  # under VAR_DIR/compliance/packets
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)  # of the zip as stored
    packet_digest = models.CharField(max_length=64, blank=True)  # H(manifest.json): signed and logged
    files_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)  # coverage and gap counts at export
    witness_leaf_hash = models.CharField(max_length=64, blank=True)
    witness_index = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "version", "period_start", "period_end"], name="packet_version_unique"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="packet_period_order"),
        ]

    def __str__(self) -> str:
        return f"packet {self.version} {self.framework.key} {self.period_start}..{self.period_end}"

    @property
    def is_busy(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class OwnerNotice(models.Model):
    """An in-app notice for one person (overdue gaps they own); shown in the workspace and pushed live."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    gap = models.ForeignKey(Gap, null=True, blank=True, on_delete=models.CASCADE, related_name="notices")
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message
