from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class PolicyBundle(models.Model):
    """An immutable, content-addressed version of the policy pack (sources, schema, catalogs)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    digest = models.CharField(max_length=80, unique=True)  # "sha256:<hex>" over the canonical content
    version = models.CharField(max_length=40)
    sources = models.JSONField()  # {filename: LAC source}
    schema = models.JSONField()
    catalogs = models.JSONField()  # {locale: {message id: text}}
    lint_config = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    change_note = models.TextField(blank=True)
    checks = models.JSONField(default=dict, blank=True)  # lint/type/red-team results at creation
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    registered = models.BooleanField(default=True, help_text="False for a bundle only observed on a decision point")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.version} ({self.digest[:19]})"


class Environment(models.Model):
    class Name(models.TextChoices):
        DEV = "dev", "dev"
        STAGE = "stage", "stage"
        PROD = "prod", "prod"

    name = models.CharField(max_length=8, choices=Name.choices, primary_key=True)
    bundle = models.ForeignKey(PolicyBundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deployed_at = models.DateTimeField(null=True, blank=True)
    modes = models.JSONField(default=dict, blank=True, help_text='{"<domain>": "monitor" | "enforce"}; default enforce')

    def __str__(self) -> str:
        return self.name

    def mode_for(self, domain: str) -> str:
        return (self.modes or {}).get(domain, "enforce")


class DecisionRecord(models.Model):
    """Every decision the decide API made, with the bundle digest that made it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(db_index=True)
    environment = models.CharField(max_length=8)
    bundle_digest = models.CharField(max_length=80)
    mode = models.CharField(max_length=8)
    action = models.CharField(max_length=40)
    domain = models.CharField(max_length=60, db_index=True)
    data_class = models.CharField(max_length=4)
    effect = models.CharField(max_length=20)
    deciding_policy_ids = models.JSONField(default=list)
    reason_id = models.CharField(max_length=120)
    reason_text = models.TextField()
    locale = models.CharField(max_length=10)
    obligations = models.JSONField(default=list)
    request = models.JSONField()  # the request as evaluated (without server-injected grants)
    reason_for_access = models.TextField(blank=True)
    caller = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    duration_us = models.PositiveIntegerField(default=0)
    approval = models.ForeignKey("ApprovalRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["environment", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.effect} {self.action} {self.domain}/{self.data_class}"


class ApprovalRequest(models.Model):
    """A just-in-time access request opened by a require_approval decision."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(help_text="the request lapses if not decided by then")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    environment = models.CharField(max_length=8)
    policy_ids = models.JSONField()
    approvers_required = models.PositiveSmallIntegerField()
    grant_seconds = models.PositiveIntegerField()
    subject_id = models.CharField(max_length=200)
    summary = models.CharField(max_length=300)
    reason_for_access = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"approval {self.summary} ({self.status})"


class ApprovalVote(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="votes")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    approve = models.BooleanField()
    comment = models.CharField(max_length=400, blank=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "approver"], name="one_vote_per_approver")]

    def __str__(self) -> str:
        return f"{self.approver} {'approves' if self.approve else 'rejects'}"


class Grant(models.Model):
    """A time-bounded just-in-time grant; decisions for its subject and policy consult it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(ApprovalRequest, on_delete=models.CASCADE, related_name="grant")
    environment = models.CharField(max_length=8)
    subject_id = models.CharField(max_length=200, db_index=True)
    policy_ids = models.JSONField()
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [models.CheckConstraint(condition=Q(expires_at__gt=models.F("granted_at")), name="grant_positive_span")]

    def __str__(self) -> str:
        return f"grant {self.subject_id} until {self.expires_at:%Y-%m-%d %H:%M}"


# --- registry: drafts, change requests, deployments, decision points, simulations -----------------------------------


class Draft(models.Model):
    """An author's working copy of the pack (sources and message catalogs), based on a deployed bundle.

    Editing a draft never touches a deployed bundle; submitting it freezes it into an immutable
    :class:`PolicyBundle` proposed by a :class:`ChangeRequest`."""

    class Status(models.TextChoices):
        EDITING = "editing", "Editing"
        SUBMITTED = "submitted", "Submitted"
        DISCARDED = "discarded", "Discarded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    base_bundle = models.ForeignKey(PolicyBundle, on_delete=models.PROTECT, related_name="+")
    base_environment = models.CharField(max_length=8, default="dev")
    sources = models.JSONField()
    catalogs = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.EDITING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class ChangeRequest(models.Model):
    """A proposed bundle version, reviewed like a pull request; merging deploys it to dev (or, for a
    drift remediation, to the environment that drifted)."""

    class Kind(models.TextChoices):
        CHANGE = "change", "Policy change"
        ADOPT = "adopt", "Adopt live change"
        REDEPLOY = "redeploy", "Redeploy registered version"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        MERGED = "merged", "Merged"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHANGE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    draft = models.ForeignKey(Draft, null=True, blank=True, on_delete=models.SET_NULL, related_name="change_requests")
    base_bundle = models.ForeignKey(PolicyBundle, on_delete=models.PROTECT, related_name="+")
    bundle = models.ForeignKey(PolicyBundle, on_delete=models.PROTECT, related_name="change_requests")
    target_environment = models.CharField(max_length=8, default="dev")
    tier = models.PositiveSmallIntegerField(default=2)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    checks = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"CR-{self.pk} {self.title}"

    @property
    def ref(self) -> str:
        return f"CR-{self.pk}"


class ChangeReview(models.Model):
    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    approve = models.BooleanField()
    comment = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["change", "reviewer"], name="one_review_per_reviewer")]

    def __str__(self) -> str:
        return f"{self.reviewer} {'approves' if self.approve else 'rejects'} {self.change}"


class ChangeComment(models.Model):
    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"comment by {self.author} on {self.change}"


class Deployment(models.Model):
    """One change of what an environment runs; the environment's history, newest first."""

    class Kind(models.TextChoices):
        BOOTSTRAP = "bootstrap", "Bootstrap"
        MERGE = "merge", "Merge"
        PROMOTE = "promote", "Promotion"
        ROLLBACK = "rollback", "Rollback"
        REMEDIATE = "remediate", "Drift remediation"

    environment = models.CharField(max_length=8, db_index=True)
    bundle = models.ForeignKey(PolicyBundle, on_delete=models.PROTECT, related_name="deployments")
    previous = models.ForeignKey(PolicyBundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    change = models.ForeignKey(ChangeRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(db_index=True)
    witness_entry = models.CharField(max_length=80, blank=True)  # the lac.promotion statement's entry hash

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.environment} → {self.bundle.version}"


class DecisionPoint(models.Model):
    """A process that decides with a bundle (external PDPs and the built-in decide API) and reports
    the digest it has loaded, as OPA's status API does."""

    point_id = models.CharField(max_length=120, unique=True)
    environment = models.CharField(max_length=8, db_index=True)
    builtin = models.BooleanField(default=False)
    reported_digest = models.CharField(max_length=80)
    reported_at = models.DateTimeField()
    first_seen = models.DateTimeField()
    mismatch_since = models.DateTimeField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["environment", "point_id"]

    def __str__(self) -> str:
        return f"{self.point_id} ({self.environment})"


class Simulation(models.Model):
    """A diff-simulator run: a candidate pack against an environment's bundle over logged decisions
    of a period and the red-team corpus."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    draft = models.ForeignKey(Draft, null=True, blank=True, on_delete=models.CASCADE, related_name="simulations")
    change = models.ForeignKey(ChangeRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="simulations")
    candidate = models.JSONField()  # {"sources", "catalogs", "schema", "lint_config"}
    candidate_digest = models.CharField(max_length=80)
    environment = models.CharField(max_length=8)
    baseline_digest = models.CharField(max_length=80)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    include_corpus = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"simulation {self.candidate_digest[:15]} vs {self.environment}"

    @property
    def duration(self) -> float | None:
        return (self.finished_at - self.created_at).total_seconds() if self.finished_at else None

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0
