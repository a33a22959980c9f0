"""ZK-TX exchange data: partner keys, pilots and runs, epochs, queries, fairness, appeals, bundles.

Large protocol messages (blinded sets, evaluations, epoch transcripts, run files) live in the
content-addressed blob store (:mod:`zktx.blobs`); rows keep their SHA-256 (= protocol digest).
The exchange stores only blinded elements, digests, signatures and public keys: no raw selector,
pepper or partner secret ever reaches it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization


class PartnerKey(models.Model):
    """A partner's long-term keys: Ed25519 identity (protocol signatures) and BLS (bundle acceptance)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="zktx_keys")
    identity_public = models.CharField(max_length=64, help_text="raw Ed25519 public key, hex")
    bls_public = models.CharField(max_length=96, help_text="BLS12-381 G1 public key, compressed, hex")
    bls_pop = models.CharField(max_length=192, help_text="proof of possession (G2), hex; verified at registration")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=Q(status="active"), name="zktx_one_active_key"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} key {self.identity_public[:12]}…"


class Pilot(models.Model):
    """One partner pair (holder, querier) with its policy, epoch schedule and quotas."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=40, unique=True)
    holder = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="zktx_pilots_holding")
    querier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="zktx_pilots_querying")
    selector_type = models.CharField(max_length=16, default="phone")
    k = models.PositiveIntegerField()
    min_holder_set = models.PositiveIntegerField(default=100)
    min_query = models.PositiveIntegerField(default=16)
    max_query = models.PositiveIntegerField(default=4096)
    query_budget = models.PositiveIntegerField(default=100, help_text="queries per epoch")
    min_novel = models.PositiveIntegerField(default=8)
    epoch_seconds = models.PositiveIntegerField(default=86400, help_text="epoch length: keys and pepper rotate")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(holder=models.F("querier")), name="zktx_pilot_two_partners")]

    def __str__(self) -> str:
        return f"Pilot {self.name}"

    def policy_json(self) -> dict[str, int]:
        return {
            "k": self.k,
            "min_holder_set": self.min_holder_set,
            "min_query": self.min_query,
            "max_query": self.max_query,
            "query_budget": self.query_budget,
            "min_novel": self.min_novel,
        }

    def role_of(self, org: Organization | None) -> str | None:
        if org is None:
            return None
        if org.pk == self.holder_id:
            return "holder"
        if org.pk == self.querier_id:
            return "querier"
        return None


class PilotRun(models.Model):
    """A run of a pilot (one or more pilots of the same partners): the unit of an audit bundle."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=40)
    pilots = models.ManyToManyField(Pilot, related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    config = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.label


class Epoch(models.Model):
    """One session (docs/zktx-protocol.md §4): per-session keys, pepper id, policy, signed header."""

    class Status(models.TextChoices):
        KEYS_PENDING = "keys_pending", "Waiting for session keys"
        SIGNING = "signing", "Waiting for header signatures"
        HOLDER_SET_PENDING = "holder_set_pending", "Waiting for the holder set"
        EVALUATION_PENDING = "evaluation_pending", "Waiting for the querier's evaluation"
        COMMITTING = "committing", "Verifying and committing"
        OPEN = "open", "Open for queries"
        CLOSED = "closed", "Closed"

    class Purpose(models.TextChoices):
        REGULAR = "regular", "Regular"
        APPEAL = "appeal", "Appeal re-run"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="epochs")
    run = models.ForeignKey(PilotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="epochs")
    number = models.PositiveIntegerField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.REGULAR)
    appeal = models.ForeignKey("Appeal", null=True, blank=True, on_delete=models.SET_NULL, related_name="rerun_epochs")
    session_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.KEYS_PENDING)
    policy = models.JSONField(default=dict)
    holder_key = models.CharField(max_length=64, blank=True, help_text="b64 per-session holder public key")
    querier_key = models.CharField(max_length=64, blank=True)
    holder_pepper_id = models.CharField(max_length=32, blank=True)
    querier_pepper_id = models.CharField(max_length=32, blank=True)
    header = models.JSONField(null=True, blank=True, help_text="zktx-session/1 header once both keys are in")
    header_digest = models.CharField(max_length=64, blank=True)
    holder_signature = models.CharField(max_length=128, blank=True)
    querier_signature = models.CharField(max_length=128, blank=True)
    holder_identity = models.CharField(max_length=64, blank=True, help_text="hex Ed25519 key that signed the header")
    querier_identity = models.CharField(max_length=64, blank=True)
    queries_used = models.PositiveIntegerField(default=0)
    commitment_root = models.CharField(max_length=64, blank=True)
    commitment_size = models.PositiveIntegerField(default=0)
    transcript_blob = models.CharField(max_length=64, blank=True, help_text="zktx-epoch/1 transcript (blob)")
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pilot__name", "-number"]
        constraints = [models.UniqueConstraint(fields=["pilot", "number"], name="zktx_epoch_number_unique")]

    def __str__(self) -> str:
        return f"{self.pilot.name} epoch {self.number}"


class HolderSet(models.Model):
    """The holder's signed blinded set ``Y1`` of an epoch (``zktx-holder-set/1``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.OneToOneField(Epoch, on_delete=models.CASCADE, related_name="holder_set")
    blob = models.CharField(max_length=64, help_text="SHA-256 of the canonical message = protocol digest")
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"holder set {self.blob[:12]}… ({self.size})"


class EpochEvaluation(models.Model):
    """The querier's evaluation ``Y2`` of the holder set with proofs; verified and committed in a task."""

    class Status(models.TextChoices):
        VERIFYING = "verifying", "Verifying"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="evaluations")
    blob = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VERIFYING)
    progress = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["epoch"], condition=Q(status__in=["verifying", "accepted"]),
                                    name="zktx_one_live_evaluation"),
        ]

    def __str__(self) -> str:
        return f"epoch evaluation {self.blob[:12]}… ({self.status})"


class Query(models.Model):
    """A ≤k query: pending_evaluation → evaluated → verified → verdict (or failed)."""

    class Status(models.TextChoices):
        PENDING_EVALUATION = "pending_evaluation", "Waiting for the holder's evaluation"
        EVALUATED = "evaluated", "Queued at the exchange"
        VERIFIED = "verified", "Matched and verified"
        VERDICT = "verdict", "Verdict released"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="queries")
    epoch = models.ForeignKey(Epoch, on_delete=models.PROTECT, related_name="queries")
    run = models.ForeignKey(PilotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="queries")
    tenant = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="zktx_queries")
    query_id = models.CharField(max_length=128, unique=True, help_text="the protocol's query_id")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING_EVALUATION)
    size = models.PositiveIntegerField()
    cost = models.FloatField()
    request = models.JSONField(help_text="zktx-query-request/1 as signed by the querier")
    evaluation = models.JSONField(null=True, blank=True)
    transcript = models.JSONField(null=True, blank=True)
    transcript_digest = models.CharField(max_length=64, blank=True)
    count = models.IntegerField(null=True, blank=True, help_text="exchange and auditors only")
    verdict = models.CharField(max_length=16, blank=True)
    receipt = models.JSONField(null=True, blank=True)
    witness_leaf_hash = models.CharField(max_length=64, blank=True)
    vstart = models.FloatField(help_text="WFQ start tag")
    vfinish = models.FloatField(db_index=True, help_text="WFQ virtual finish time")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(db_index=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verdict_at = models.DateTimeField(null=True, blank=True)
    process_ms = models.FloatField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["status", "vfinish"])]

    def __str__(self) -> str:
        return f"query {self.query_id[:12]} ({self.status})"

    @property
    def latency_ms(self) -> float | None:
        if self.verdict_at is None:
            return None
        return (self.verdict_at - self.submitted_at).total_seconds() * 1000


class TenantQuota(models.Model):
    """Per-tenant admission (token bucket) and fair-queueing state; locked per update."""

    organization = models.OneToOneField(Organization, primary_key=True, on_delete=models.CASCADE,
                                        related_name="zktx_quota")
    weight = models.FloatField(default=1.0)
    rate_per_minute = models.FloatField(default=60.0)
    burst = models.PositiveIntegerField(default=20)
    tokens = models.FloatField(default=20.0)
    tokens_at = models.FloatField(default=0.0, help_text="Unix time of the last refill")
    last_finish = models.FloatField(default=0.0, help_text="WFQ finish tag of the tenant's last job")
    admitted = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField(default=0)
    served = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"quota of {self.organization_id}"


class FairnessClock(models.Model):
    """The exchange's WFQ virtual time (one row)."""

    key = models.CharField(primary_key=True, max_length=32)
    virtual_time = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.key} V={self.virtual_time:g}"


class Appeal(models.Model):
    """A partner disputes a verdict: re-verification, optional consented re-run, resolution, SLA."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RERUN = "rerun", "Re-running under a fresh epoch"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        UPHELD = "upheld", "Verdict upheld"
        OVERTURNED = "overturned", "Verdict overturned"
        WITHDRAWN = "withdrawn", "Withdrawn"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="appeals")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="zktx_appeals")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    filed_at = models.DateTimeField()
    sla_due_at = models.DateTimeField(db_index=True)
    reverified_at = models.DateTimeField(null=True, blank=True)
    reverify_ok = models.BooleanField(null=True)
    reverify_code = models.CharField(max_length=64, blank=True)
    holder_consent_at = models.DateTimeField(null=True, blank=True)
    querier_consent_at = models.DateTimeField(null=True, blank=True)
    rerun_query = models.ForeignKey(Query, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolution_reason = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    escalated_at = models.DateTimeField(null=True, blank=True)
    incident_id = models.CharField(max_length=64, blank=True)
    is_drill = models.BooleanField(default=False)

    class Meta:
        ordering = ["-filed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False) | ~Q(status="resolved"),
                name="zktx_appeal_resolved_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"appeal {self.pk} ({self.status})"


class AuditBundle(models.Model):
    """A signed audit bundle of one pilot run (docs/zktx-bundle.md), exported in a task."""

    class Status(models.TextChoices):
        DRAFTING = "drafting", "Drafting"
        AWAITING_ACCEPTANCE = "awaiting_acceptance", "Awaiting the partners' acceptance"
        SEALING = "sealing", "Sealing and logging"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(PilotRun, on_delete=models.PROTECT, related_name="bundles")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFTING)
    progress = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    partners = models.JSONField(default=list, blank=True, help_text="[{id, organization, bls_public, pop}]")
    files_blob = models.CharField(max_length=64, blank=True, help_text="the content files (blob of {path: b64})")
    file_count = models.PositiveIntegerField(default=0)
    core_digest = models.CharField(max_length=64, blank=True)
    acceptances = models.JSONField(default=dict, blank=True, help_text="partner id -> {signature, at, by}")
    bundle_digest = models.CharField(max_length=64, blank=True)
    witness_leaf_hash = models.CharField(max_length=64, blank=True)
    archive_blob = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"bundle {self.pk} ({self.status})"


class ServiceLog(models.Model):
    """The exchange's structured log lines (ids, digests, sizes, statuses: never selectors)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=64)
    pilot = models.ForeignKey(Pilot, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(PilotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="log_lines")
    fields = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.event}"


class Envelope(models.Model):
    """A write request as received (method, path, caller's organization, JSON body; never headers or tokens)."""

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    organization = models.ForeignKey(Organization, null=True, on_delete=models.SET_NULL, related_name="+")
    pilot = models.ForeignKey(Pilot, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(PilotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="envelopes")
    body_blob = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"
