"""PCQ on the Django side: dataset and job ingest, the sampled replay controller, replays and
verdicts (witnessed, paging on failure), SLI events for the verifier SLOs, the canary stack (engine
configurations, planted regressions, noise calibration, verdicts that page on true deltas), canary
drills, and the dashboard's reads.

Datasets and results are stored content-addressed under ``var/pcq`` by the pure engine; the
database keeps jobs, manifests, replays, canary verdicts, the noise calibration and the sampler's state.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import audit_record
from pcq import engine
from pcq.models import (
    CanaryConfig,
    CanaryVerdict,
    DrillRun,
    Job,
    NoiseCalibration,
    Pause,
    Replay,
    SamplerEvent,
    SamplerState,
)
from trustfabric.errors import NotFound, ServiceError

log = logging.getLogger(__name__)
MAX_EDGES = 2_000_000


class PcqServiceError(ServiceError):
    pass


def data_dir() -> Path:
    path = Path(settings.VAR_DIR) / "pcq"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sampler_secret() -> str:
    from trustfabric.config import load_or_create_secret

    return load_or_create_secret(Path(settings.VAR_DIR), "pcq_sampler_secret")


# --- datasets -----------------------------------------------------------------------------------------------------


def dataset_store(*, actor: Any, edges: list, directed: bool = False, weighted: bool = False, nodes: list | None = None) -> engine.DatasetInfo:
    """Canonicalize and store a graph dataset; returns its info (digest = RFC 6962 root over chunks)."""
    if not isinstance(edges, list) or len(edges) > MAX_EDGES:
        raise PcqServiceError("dataset_bad_edges", f"edges must be a list of at most {MAX_EDGES:,} pairs.")
    try:
        ds = engine.GraphDataset.from_edges(edges, directed=directed, weighted=weighted, nodes=nodes or ())
    except engine.PcqError as exc:
        raise PcqServiceError(exc.code, str(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise PcqServiceError("dataset_invalid", f"The edge list is not a graph: {exc}") from exc
    engine.store_dataset(data_dir(), ds)
    info = ds.info()
    audit_record(actor=actor, action="pcq.dataset.store", object_type="pcq.dataset", object_id=ds.digest[:80],
                 details={"nodes": info.nodes, "edges": info.edges})
    return info


# --- jobs -----------------------------------------------------------------------------------------------------------


def job_submit(*, producer: Any, manifest: dict, result: dict, now=None) -> Job:
    """Accept a job: a valid manifest, its result (which must hash to the manifest's output digest), and
    inputs we hold. Then ask the sampler whether to replay it; sampled jobs go to the replay queue."""
    now = now or timezone.now()
    errors = engine.validate_manifest(manifest) if isinstance(manifest, dict) else ["$: the manifest must be a JSON object"]
    if errors:
        raise PcqServiceError("manifest_invalid", f"The manifest has {len(errors)} problem(s).", details=errors[:50])
    try:
        res = engine.Result(result)
    except (engine.PcqError, TypeError, ValueError) as exc:
        raise PcqServiceError("result_invalid", f"The result is not a valid result document: {exc}") from exc
    if res.digest != manifest["output"]["digest"]:
        raise PcqServiceError("result_digest_mismatch", "The result does not hash to the manifest's output digest.",
                              details={"manifest": manifest["output"]["digest"], "result": res.digest})
    inputs = [i["digest"] for i in manifest["inputs"]]
    missing = [d for d in inputs if not (data_dir() / "datasets" / d.split(":", 1)[1]).exists()]
    if missing:
        raise PcqServiceError("dataset_missing", "Upload the input datasets first (POST /api/pcq/datasets).", details=missing)
    if not engine.results.result_path(data_dir(), res.digest).exists():  # content-addressed: stored once
        engine.store_result(data_dir(), res)
    digest = engine.manifest_digest(manifest)
    existing = Job.objects.filter(manifest_digest=digest).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(
                job_id=manifest["job_id"], producer=producer if getattr(producer, "pk", None) else None,
                kind=manifest["job_kind"], tenant=manifest["tenant"], tier=manifest.get("tier", 3), manifest=manifest,
                manifest_digest=digest, output_digest=res.digest, input_digests=inputs, submitted_at=now,
            )
            decision = _sample(job, now)
            job.sampled, job.sample_reason = decision.sampled, decision.reason
            if decision.sampled:
                job.status = Job.Status.QUEUED
            job.save(update_fields=["sampled", "sample_reason", "status"])
    except IntegrityError as exc:
        raise PcqServiceError("job_duplicate", f"Job id {manifest['job_id']!r} was already submitted with another manifest.",
                              status=409) from exc
    if job.sampled:
        from pcq import tasks

        transaction.on_commit(lambda: tasks.replay_job.delay(str(job.pk)))
        if canary_config_current() is not None:
            transaction.on_commit(lambda: tasks.canary_job.delay(str(job.pk)))
    return job


def _sample(job: Job, now) -> engine.Decision:
    """Ask the stratified sampler (state locked in the database), with SLO-aware backoff; pauses win."""
    from oncall import services as oncall

    stratum = f"{job.kind}/{job.tenant}"
    if Pause.objects.filter(scope__in=["*", stratum], resumed_at__isnull=True).exists():
        return engine.Decision(False, "paused", 0.0, stratum)

    config = engine.SamplerConfig(secret=_sampler_secret(), target_rate=getattr(settings, "TF_PCQ_SAMPLE_RATE", 0.05))
    SamplerState.objects.get_or_create(pk=1)
    row = SamplerState.objects.select_for_update().get(pk=1)
    sampler = engine.StratifiedSampler.from_state(config, row.state) if row.state else engine.StratifiedSampler(config)
    ts = now.timestamp()
    sampler.set_in_flight(Job.objects.filter(status=Job.Status.QUEUED).count())
    before = sampler.multiplier
    burning = oncall.is_burning("pcq.verifier")
    after = sampler.report_health(slo_burning=burning, now=ts)
    if after != before:
        SamplerEvent.objects.create(
            at=now, kind=SamplerEvent.Kind.BACKOFF if after < before else SamplerEvent.Kind.RECOVER,
            multiplier_before=before, multiplier_after=after,
            reason="pcq.verifier SLO burning" if after < before else "healthy: additive increase",
        )
    decision = sampler.decide(job.job_id, job.kind, job.tenant, now=ts)
    row.state = sampler.state_dict()
    row.save(update_fields=["state", "updated_at"])
    return decision


def jobs_visible_to(principal) -> Any:
    from accounts.roles import Cap

    qs = Job.objects.all()
    return qs if principal.can(Cap.PCQ_VIEW) else qs.filter(producer=principal.user)


def job_get(principal, pk) -> Job:
    job = jobs_visible_to(principal).filter(pk=pk).first()
    if job is None:
        raise NotFound("job")
    return job


# --- replays ----------------------------------------------------------------------------------------------------------


def finished_replay(job_id) -> Replay | None:
    """The job's finished replay, if it has one (tasks use it to stay idempotent under redelivery)."""
    return Replay.objects.filter(job_id=job_id, finished_at__isnull=False).order_by("-finished_at").first()


def finished_canary(job_id) -> CanaryVerdict | None:
    """The job's canary verdict under the active canary configuration, if there is one."""
    cfg = canary_config_current(create=False)
    return CanaryVerdict.objects.filter(job_id=job_id, config=cfg).first() if cfg else None


def replay_run(*, job_id) -> Replay:
    """Replay a job from its manifest and judge it; witness the verdict; page on a failure."""
    from oncall import services as oncall
    from witness import services as witness

    job = Job.objects.get(pk=job_id)
    started = timezone.now()
    replay = Replay.objects.create(job=job, started_at=started, queue_lag_s=max(0.0, (started - job.submitted_at).total_seconds()))
    t0 = time.perf_counter()
    verdict = engine.verify(job.manifest, data_dir())
    elapsed = time.perf_counter() - t0
    report = verdict.to_dict()
    entry = witness.statement_append(
        stype="pcq.verification", service="pcq",
        body={"job": job.job_id, "job_uuid": str(job.pk), "kind": job.kind, "tenant": job.tenant, "verdict": verdict.status,
              "manifest_digest": job.manifest_digest, "output_digest": job.output_digest,
              "engine": job.manifest["engine"], "replayed_at": started.isoformat()},
    )
    with transaction.atomic():
        replay.finished_at = timezone.now()
        replay.verdict = verdict.status
        replay.report = report
        replay.duration_s = elapsed
        replay.witness_leaf_hash = entry.leaf_hash
        replay.save()
        job.status = {"pass": Job.Status.VERIFIED, "fail": Job.Status.FAILED}.get(verdict.status, Job.Status.ERROR)
        job.save(update_fields=["status"])
    oncall.sli_record(slo="pcq.replay.success", good=int(verdict.status != "error"), total=1)
    oncall.sli_record(slo="pcq.replay.latency", good=int((replay.finished_at - job.submitted_at).total_seconds() <= 60), total=1)
    if verdict.status == "fail":
        oncall.raise_alert(
            source="pcq", severity="high" if job.tier > 1 else "critical", dedup_key=f"pcq:replay-fail:{job.kind}:{job.tenant}",
            summary=f"Replay of {job.kind} job {job.job_id} ({job.tenant}) differs from the recorded result",
            details={"job": str(job.pk), "counts": report.get("counts"), "worst": report.get("worst", [])[:5]},
        )
    pk = job.pk
    transaction.on_commit(lambda: publish_replay(pk))
    return replay


# --- dashboards ---------------------------------------------------------------------------------------------------


def coverage_today(now=None) -> dict:
    """Per stratum and overall: jobs seen today, sampled, verified, failed (from the database)."""
    from django.db.models import Count, Q

    now = now or timezone.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Job.objects.filter(submitted_at__gte=start)
        .values("kind", "tenant")
        .annotate(
            seen=Count("id"), sampled=Count("id", filter=Q(sampled=True)),
            verified=Count("id", filter=Q(status=Job.Status.VERIFIED)), failed=Count("id", filter=Q(status=Job.Status.FAILED)),
            errors=Count("id", filter=Q(status=Job.Status.ERROR)), queued=Count("id", filter=Q(status=Job.Status.QUEUED)),
        )
        .order_by("kind", "tenant")
    )
    strata = [dict(r, rate=(r["sampled"] / r["seen"]) if r["seen"] else 0.0) for r in rows]
    total = {k: sum(r[k] for r in strata) for k in ("seen", "sampled", "verified", "failed", "errors", "queued")}
    total["rate"] = total["sampled"] / total["seen"] if total["seen"] else 0.0
    target = getattr(settings, "TF_PCQ_SAMPLE_RATE", 0.05)
    return {"strata": strata, "total": total, "target": target,
            "strata_below_target": sum(1 for r in strata if r["rate"] + 1e-9 < target)}


def daily_history(days: int = 14, now=None) -> list[dict]:
    from django.db.models import Count, Q
    from django.db.models.functions import TruncDate

    now = now or timezone.now()
    rows = (
        Job.objects.filter(submitted_at__gte=now - timezone.timedelta(days=days))
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(seen=Count("id"), sampled=Count("id", filter=Q(sampled=True)),
                  failed=Count("id", filter=Q(status=Job.Status.FAILED)), verified=Count("id", filter=Q(status=Job.Status.VERIFIED)))
        .order_by("day")
    )
    return [dict(r, rate=(r["sampled"] / r["seen"]) if r["seen"] else 0.0) for r in rows]


# --- pause / resume -------------------------------------------------------------------------------------------------


def pause(*, actor: Any, scope: str, reason: str, now=None) -> Pause:
    """Pause replays for a stratum (``kind/tenant``) or everything (``*``). Audited, with a reason."""
    now = now or timezone.now()
    scope = (scope or "").strip()
    if scope != "*" and (scope.count("/") != 1 or scope.split("/")[0] not in engine.KINDS):
        raise PcqServiceError("pause_bad_scope", f"Scope is '*' or '<kind>/<tenant>' with kind one of {sorted(engine.KINDS)}.")
    if not reason.strip():
        raise PcqServiceError("pause_reason_required", "Say why replays are paused.")
    try:
        with transaction.atomic():
            p = Pause.objects.create(scope=scope, reason=reason.strip()[:300], paused_by=actor if getattr(actor, "pk", None) else None, paused_at=now)
            audit_record(actor=actor, action="pcq.replays.pause", obj=p, reason=reason, details={"scope": scope})
    except IntegrityError as exc:
        raise PcqServiceError("pause_exists", f"Replays for {scope} are already paused.", status=409) from exc
    return p


def resume(*, actor: Any, pause_id, reason: str = "", now=None) -> Pause:
    now = now or timezone.now()
    with transaction.atomic():
        p = Pause.objects.select_for_update().filter(pk=pause_id, resumed_at__isnull=True).first()
        if p is None:
            raise NotFound("active pause")
        p.resumed_at, p.resumed_by = now, actor if getattr(actor, "pk", None) else None
        p.save(update_fields=["resumed_at", "resumed_by"])
        audit_record(actor=actor, action="pcq.replays.resume", obj=p, reason=reason, details={"scope": p.scope})
    return p


# --- canary: engine configurations and the planted-regression switch -------------------------------------------------

LIVE_GROUP = "pcq.dashboard"
DEFAULT_CANARY = {"name": "canary", "version": "1.1.0-canary", "params": {"edge_order": "shuffled", "float_jitter_ulps": 2}}
REGRESSION_LABELS = {
    "none": "Off — the canary is correct",
    "pagerank_damping": "PageRank damping factor perturbed",
    "drop_edges": "Loader drops edges",
    "distance_offset": "Path costs off by one",
}


def _profile(name: str, version: str, params: Any, regression: str, regression_params: Any) -> engine.EngineProfile:
    if not isinstance(params, dict) or not isinstance(regression_params, dict):
        raise PcqServiceError("canary_invalid", "params and regression_params must be JSON objects.")
    try:
        return engine.EngineProfile(name, version, params, regression, regression_params)
    except ValueError as exc:
        raise PcqServiceError("canary_invalid", f"The canary configuration is not valid: {exc}",
                              details=str(exc).split("; ")) from exc


def canary_config_current(*, create: bool = True) -> CanaryConfig | None:
    """The active canary configuration. When none has ever been configured, a default one (the production
    engine under another insertion order with 2 ulps of float jitter) is created and activated."""
    cfg = CanaryConfig.objects.filter(is_active=True).first()
    if cfg is None and create and not CanaryConfig.objects.exists():
        try:
            with transaction.atomic():
                cfg = CanaryConfig.objects.create(**copy.deepcopy(DEFAULT_CANARY), is_active=True, created_at=timezone.now())
                audit_record(actor="pcq", action="pcq.canary.config.create", obj=cfg,
                             details={"version": cfg.version, "params": cfg.params, "default": True})
        except IntegrityError:  # created concurrently
            cfg = CanaryConfig.objects.filter(is_active=True).first()
    return cfg


def canary_config_create(*, actor: Any, name: str, version: str, params: dict | None = None, activate: bool = True,
                         reason: str = "", now=None) -> CanaryConfig:
    """A new canary configuration (a new version starts new alert groups). Audited."""
    now = now or timezone.now()
    name, version = (name or "").strip(), (version or "").strip()
    if not name or len(name) > 60 or not version or len(version) > 60:
        raise PcqServiceError("canary_invalid", "A canary needs a name and a version of 1 to 60 characters.")
    _profile(name, version, params or {}, "none", {})
    try:
        with transaction.atomic():
            if activate:
                CanaryConfig.objects.filter(is_active=True).update(is_active=False)
            cfg = CanaryConfig.objects.create(name=name, version=version, params=params or {}, is_active=activate, created_at=now,
                                              created_by=actor if getattr(actor, "pk", None) else None)
            audit_record(actor=actor, action="pcq.canary.config.create", obj=cfg, reason=reason,
                         details={"name": name, "version": version, "params": cfg.params, "active": activate})
    except IntegrityError as exc:
        raise PcqServiceError("canary_exists", f"Canary {name} {version} exists; give the new configuration another version.",
                              status=409) from exc
    transaction.on_commit(publish_canary_config)
    return cfg


def canary_config_activate(*, actor: Any, config_id=None, reason: str = "") -> CanaryConfig | None:
    """Make ``config_id`` the active canary, or switch the canary stack off (``config_id=None``). Audited."""
    with transaction.atomic():
        cfg = None
        if config_id is not None:
            cfg = CanaryConfig.objects.select_for_update().filter(pk=config_id).first()
            if cfg is None:
                raise NotFound("canary configuration")
        previous = CanaryConfig.objects.filter(is_active=True).first()
        CanaryConfig.objects.filter(is_active=True).update(is_active=False)
        if cfg is not None:
            cfg.is_active = True
            cfg.save(update_fields=["is_active"])
        audit_record(actor=actor, action="pcq.canary.activate" if cfg else "pcq.canary.disable", obj=cfg or previous,
                     object_type="pcq.canaryconfig", reason=reason,
                     details={"active": cfg.label if cfg else None, "previous": previous.label if previous else None})
    transaction.on_commit(publish_canary_config)
    return cfg


def canary_regression_set(*, actor: Any, regression: str, regression_params: dict | None = None, reason: str = "",
                          config_id=None, now=None) -> CanaryConfig:
    """Switch the planted regression of the active (or given) canary on or off. Audited with before/after."""
    now = now or timezone.now()
    regression = (regression or "").strip()
    if not config_id:
        canary_config_current()  # the default canary, when none was ever configured
    with transaction.atomic():
        qs = CanaryConfig.objects.select_for_update()
        cfg = qs.filter(pk=config_id).first() if config_id else qs.filter(is_active=True).first()
        if cfg is None:
            if config_id:
                raise NotFound("canary configuration")
            raise PcqServiceError("canary_none_active", "No canary is active: activate a canary configuration first.", status=409)
        _profile(cfg.name, cfg.version, cfg.params, regression, regression_params or {})
        before = {"regression": cfg.regression, "regression_params": cfg.regression_params}
        cfg.regression, cfg.regression_params = regression, regression_params or {}
        cfg.regression_changed_at, cfg.regression_changed_by = now, actor if getattr(actor, "pk", None) else None
        cfg.save(update_fields=["regression", "regression_params", "regression_changed_at", "regression_changed_by"])
        audit_record(actor=actor, action="pcq.canary.regression", obj=cfg, reason=reason,
                     details={"canary": cfg.label, "before": before,
                              "after": {"regression": regression, "regression_params": cfg.regression_params}})
    transaction.on_commit(publish_canary_config)
    return cfg


# --- canary: runs, calibration, verdicts, paging ------------------------------------------------------------------


def _judge_config() -> engine.CanaryConfig:
    weights = dict(engine.DEFAULT_METRIC_WEIGHTS)
    weights.update(getattr(settings, "TF_PCQ_CANARY_METRIC_WEIGHTS", {}) or {})
    return engine.CanaryConfig(metric_weights=weights)


CALIBRATION_WINDOW = 200


def _calibrator(rows: list[NoiseCalibration]) -> engine.NoiseCalibrator:
    return engine.NoiseCalibrator.from_state({"version": 1, "fields": {r.field: r.state for r in rows if r.state}},
                                             window=CALIBRATION_WINDOW)


def canary_run(*, job_id, now=None) -> CanaryVerdict | None:
    """Run a sampled job as prod, prod2 and the active canary; judge the canary against the noise band
    (this job's prod copies and the persisted calibration, which then learns from them); witness the
    verdict as a ``pcq.canary`` statement; page per (kind, metric, canary version) on page-level deltas."""
    from witness import services as witness

    job = Job.objects.get(pk=job_id)
    cfg = canary_config_current()
    if cfg is None:
        return None
    started = now or timezone.now()
    profile = cfg.profile()
    t0 = time.perf_counter()
    runs: dict[str, engine.Result] = {}
    error = None
    try:
        ds = engine.load_dataset(data_dir(), job.manifest["inputs"][0]["digest"])
        params, seed = job.manifest["parameters"], job.manifest.get("seed")
        for label, prof in (("prod", engine.prod_profile()), ("prod2", engine.prod2_profile()), ("canary", profile)):
            runs[label] = engine.run_profile(prof, job.kind, ds, params, seed, order_salt=f"{label}:{job.manifest_digest}")
    except engine.PcqError as exc:
        error = {"code": exc.code, "message": str(exc), "run": next((k for k in ("prod", "prod2", "canary") if k not in runs), None)}
    except (KeyError, TypeError) as exc:
        error = {"code": "manifest_invalid", "message": f"the manifest cannot be replayed: {exc}", "run": None}
    report: dict[str, Any] = {"error": error}
    judged = None
    bands: dict[str, float] = {}
    if error is None:
        case = engine.CanaryCase(job.kind, runs["prod"], runs["prod2"], runs["canary"], tier=job.tier, job_id=job.job_id)
        fields = sorted(engine.canary.noise_maxima(case))
        with transaction.atomic():
            for f in fields:
                NoiseCalibration.objects.get_or_create(field=f)
            rows = list(NoiseCalibration.objects.select_for_update().filter(field__in=fields))
            cal = _calibrator(rows)
            priors = {f: cal.band(f) for f in fields}
            judged = engine.judge([case], dataclasses.replace(_judge_config(), prior_bands=priors))
            cal.observe(case)
            for r in rows:
                fn = cal.fields[r.field]
                r.state, r.band, r.observations, r.noisy = fn.to_dict(), cal.band(r.field), fn.observations, fn.noisy
                r.save(update_fields=["state", "band", "observations", "noisy", "updated_at"])
        bands = {f.field: f.noise_band for f in judged.fields}
        report = judged.to_dict() | {"error": None, "prior_bands": priors,
                                     "digests": {k: v.digest for k, v in runs.items()}}
    elapsed = time.perf_counter() - t0
    verdict = "error" if judged is None else ("delta" if judged.flagged else "pass")
    level = "none" if judged is None else judged.level
    severity = 0.0 if judged is None else judged.severity
    flagged = [] if judged is None else [f.field for f in judged.flagged]
    entry = witness.statement_append(
        stype="pcq.canary", service="pcq",
        body={"job": job.job_id, "job_uuid": str(job.pk), "kind": job.kind, "tenant": job.tenant, "tier": job.tier,
              "verdict": verdict, "level": level, "severity": severity, "flagged": flagged,
              "canary": profile.to_dict(), "prod_engine": engine.ENGINE_VERSION, "manifest_digest": job.manifest_digest,
              "digests": report.get("digests", {}), "noise_bands": bands, "error": error, "judged_at": started.isoformat()},
    )
    with transaction.atomic():  # the verdict and its pages appear together
        v = CanaryVerdict.objects.create(
            job=job, config=cfg, canary_name=cfg.name, canary_version=cfg.version, regression=cfg.regression, kind=job.kind,
            tenant=job.tenant, tier=job.tier, started_at=started, finished_at=timezone.now(), duration_s=elapsed,
            verdict=verdict, level=level, severity=severity, flagged=flagged, report=report, witness_leaf_hash=entry.leaf_hash,
        )
        if judged is not None:
            incidents = [str(_page_delta(v, f, cfg).pk) for f in judged.flagged if f.level == "page"]
            if incidents:
                v.incidents = incidents
                v.save(update_fields=["incidents"])
    pk = v.pk
    transaction.on_commit(lambda: publish_canary_verdict(pk))
    return v


def canary_dedup_key(field: str, version: str) -> str:
    kind, _, metric = field.partition(".")
    return f"pcq:canary:{kind}:{metric}:{version}"[:200]


def _page_delta(v: CanaryVerdict, f, cfg: CanaryConfig):
    from django.urls import reverse

    from oncall import services as oncall

    return oncall.raise_alert(
        source="pcq", severity="critical" if f.tier == 1 else "high", dedup_key=canary_dedup_key(f.field, cfg.version),
        summary=f"Canary {cfg.name} {cfg.version}: {f.field} moved beyond the noise band (severity {f.severity:.2f}, tier {f.tier})",
        details={"verdict": str(v.pk), "job": str(v.job_id), "job_id": v.job.job_id, "field": f.field, "severity": f.severity,
                 "noise_band": f.noise_band, "noise_rate": f.noise_rate, "raw_rate": f.raw_rate, "magnitude": f.magnitude,
                 "tier": f.tier, "canary": cfg.label, "regression": cfg.regression, "top": f.top[:5]},
        links=[reverse("pcq:canary_verdict", args=[v.pk])],
    )


def noise_bands() -> list[NoiseCalibration]:
    return list(NoiseCalibration.objects.order_by("field"))


def canary_verdicts_visible_to(principal) -> Any:
    from accounts.roles import Cap

    qs = CanaryVerdict.objects.select_related("job")
    return qs if principal.can(Cap.PCQ_VIEW) else qs.none()


def canary_verdict_get(principal, pk) -> CanaryVerdict:
    v = canary_verdicts_visible_to(principal).filter(pk=pk).first()
    if v is None:
        raise NotFound("canary verdict")
    return v


def canary_summary(now=None) -> dict:
    """Today's canary verdicts by outcome and level, and the last 24 h of pages."""
    from django.db.models import Count, Q

    now = now or timezone.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    agg = CanaryVerdict.objects.filter(started_at__gte=start).aggregate(
        total=Count("id"), deltas=Count("id", filter=Q(verdict="delta")), errors=Count("id", filter=Q(verdict="error")),
        pages=Count("id", filter=Q(level="page")), tickets=Count("id", filter=Q(level="ticket")),
    )
    return agg


def canary_history(days: int = 14, now=None) -> dict:
    """Recent verdict severities (points) for the live chart."""
    now = now or timezone.now()
    points = list(
        CanaryVerdict.objects.filter(started_at__gte=now - timedelta(days=days))
        .order_by("-started_at").values("started_at", "kind", "severity", "level", "verdict", "canary_version")[:300]
    )
    points.reverse()
    return {"points": points, "page_at": _judge_config().page_at, "ticket_at": _judge_config().ticket_at}


# --- canary drills ---------------------------------------------------------------------------------------------------

DRILL_FALSE_ALARM_TARGET = 0.02
DRILL_MTTA_TARGET_S = 15 * 60


def drill_start(*, actor: Any, seed: int = 1, benign: int = 150, regressions: int = 30, ack_after_s: float = 120.0,
                mean_gap_s: float = 60.0, responder: str | None = None, dispatch: bool = True, now=None) -> DrillRun:
    """Queue a canary drill (run on the ``replay`` queue unless ``dispatch`` is false). Audited."""
    now = now or timezone.now()
    checks = [
        (isinstance(seed, int) and 0 <= seed < 2**31, "seed must be an integer from 0 to 2^31-1"),
        (isinstance(benign, int) and 1 <= benign <= 2000, "benign must be 1 to 2000 scenarios"),
        (isinstance(regressions, int) and 0 <= regressions <= 500, "regressions must be 0 to 500 scenarios"),
        (isinstance(ack_after_s, int | float) and 0 <= ack_after_s <= 3600, "ack_after_s must be 0 to 3600 seconds"),
        (isinstance(mean_gap_s, int | float) and 1 <= mean_gap_s <= 3600, "mean_gap_s must be 1 to 3600 seconds"),
    ]
    problems = [msg for ok, msg in checks if not ok]
    if responder:
        from django.contrib.auth import get_user_model

        if not get_user_model().objects.filter(username=responder).exists():
            problems.append(f"no user named {responder!r} to acknowledge drill pages")
    if problems:
        raise PcqServiceError("drill_invalid", "The drill parameters are not valid.", details=problems)
    if DrillRun.objects.filter(status__in=[DrillRun.Status.QUEUED, DrillRun.Status.RUNNING],
                               started_at__gte=now - timedelta(hours=1)).exists():
        raise PcqServiceError("drill_running", "A canary drill is already running; wait for it to finish.", status=409)
    params = {"seed": seed, "benign": benign, "regressions": regressions, "ack_after_s": float(ack_after_s),
              "mean_gap_s": float(mean_gap_s), "responder": responder or None}
    user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        run = DrillRun.objects.create(started_at=now, started_by=user, actor_label=(user.get_username() if user else str(actor))[:150],
                                      params=params, total=benign + regressions)
        audit_record(actor=actor, action="pcq.drill.start", obj=run, details=params)
    if dispatch:
        from pcq import tasks

        pk = run.pk
        transaction.on_commit(lambda: tasks.canary_drill.delay(str(pk)))
    return run


def drill_execute(*, run_id) -> DrillRun:
    """Run a queued drill: every scenario judged like production (with its own noise calibration, learning
    from zero), page-level verdicts raised as drill alerts through on-call, paged people acknowledge
    after ``ack_after_s`` (the drill's simulated responder), and the summary stored."""
    from django.contrib.auth import get_user_model

    from pcq.engine import drill as drills

    updated = DrillRun.objects.filter(pk=run_id, status=DrillRun.Status.QUEUED).update(status=DrillRun.Status.RUNNING)
    run = DrillRun.objects.get(pk=run_id)
    if not updated:
        return run  # already running or finished (a redelivered task)
    p = run.params
    responder = get_user_model().objects.filter(username=p["responder"]).first() if p.get("responder") else None
    wall = time.perf_counter()
    try:
        scenarios = drills.generate_scenarios(p["seed"], benign=p["benign"], regressions=p["regressions"],
                                              version_prefix=f"drill-{run.pk.hex[:8]}", mean_gap_s=p["mean_gap_s"])
        calibrator = engine.NoiseCalibrator(window=CALIBRATION_WINDOW)
        config = _judge_config()
        rows = []
        for i, scenario in enumerate(scenarios, 1):
            outcome = drills.run_scenario(scenario, calibrator, config)
            row = outcome.to_dict()
            row["jobs"] = [{k: j[k] for k in ("kind", "tier", "offset_s", "compute_s", "level", "severity", "paging", "error")}
                           for j in row["jobs"]]
            if outcome.paged:
                row.update(_drill_page(run, outcome, ack_after_s=p["ack_after_s"], responder=responder))
            rows.append(row)
            if i % 5 == 0 or i == len(scenarios):
                DrillRun.objects.filter(pk=run.pk).update(done=i)
        run.refresh_from_db()
        run.scenarios = rows
        run.summary = drill_summary(rows, ack_after_s=p["ack_after_s"]) | {"wall_s": time.perf_counter() - wall,
                                                                              "bands": calibrator.bands()}
        run.status = DrillRun.Status.DONE
    except Exception as exc:
        log.exception("canary drill %s failed", run.pk)
        run.refresh_from_db()
        run.status, run.error = DrillRun.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    run.finished_at = timezone.now()
    run.save()
    return run


def _drill_page(run: DrillRun, outcome, *, ack_after_s: float, responder) -> dict:
    """Raise the scenario's page-level verdicts as drill alerts (deduplicated like production, per kind,
    metric and canary version), run the first escalation step, acknowledge as the paged person (or the
    drill's responder when nobody is routed) after ``ack_after_s``, and resolve with the triage the
    scenario's label gives."""
    from oncall import services as oncall
    from oncall.models import Incident

    scenario = outcome.scenario
    version = scenario.profile.version
    t0 = timezone.now()  # the canary's first run of this scenario, on the drill's clock
    incidents: list[Incident] = []
    for job in outcome.jobs:
        for name in job.paging:
            inc = oncall.raise_alert(
                source="pcq", severity="critical" if job.tier == 1 else "high", dedup_key=canary_dedup_key(name, version),
                summary=f"[DRILL] Canary {version}: {name} moved beyond the noise band (severity {job.severity:.2f}, tier {job.tier})",
                details={"drill": str(run.pk), "scenario": scenario.index, "label": scenario.label,
                         "regression": scenario.profile.regression, "field": name},
                is_drill=True, now=t0 + timedelta(seconds=job.offset_s + job.compute_s),
            )
            if all(i.pk != inc.pk for i in incidents):
                incidents.append(inc)
    first = incidents[0]
    due = Incident.objects.get(pk=first.pk).next_escalation_at
    if due is not None:
        oncall.escalate_incident(incident_id=first.pk, now=due)
    page = first.pages.select_related("user").order_by("created_at").first()
    acker = page.user if page else responder
    out: dict[str, Any] = {"incidents": [i.ref for i in incidents], "paged_user": page.user.get_username() if page else None,
                           "unrouted": page is None, "seconds_to_first_page": None, "seconds_to_ack": None}
    if page:
        out["seconds_to_first_page"] = (page.created_at - t0).total_seconds()
    if acker is not None:
        ack_at = (page.created_at if page else first.triggered_at) + timedelta(seconds=ack_after_s)
        for inc in incidents:
            oncall.incident_acknowledge(actor=acker, incident=inc, via="canary drill auto-ack", now=ack_at, check=False)
        first.refresh_from_db()
        out["seconds_to_ack"] = (first.acknowledged_at - t0).total_seconds()
        triage = Incident.Triage.TRUE_POSITIVE if scenario.label == "regression" else Incident.Triage.FALSE_ALARM
        for inc in incidents:
            try:
                oncall.incident_resolve(actor=acker, incident=inc, triage=triage, note=f"canary drill {run.pk}", now=ack_at)
            except ServiceError as exc:  # the acknowledger may not be allowed to resolve: left to a responder
                out.setdefault("resolve_errors", []).append(exc.code)
    return out


def _binomial_upper(k: int, n: int, confidence: float = 0.95) -> float:
    """Clopper-Pearson upper bound on a rate with ``k`` events in ``n`` trials (bisection on the CDF)."""
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0

    def cdf(p: float) -> float:
        return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))

    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if cdf(mid) > 1 - confidence:
            lo = mid
        else:
            hi = mid
    return hi


def drill_summary(rows: list[dict], *, ack_after_s: float) -> dict:
    """False-alarm rate over benign scenarios, detection over regressions, MTTA over acknowledged
    regression pages (PagerDuty's convention: never-acknowledged pages are counted separately)."""
    benign = [r for r in rows if r["label"] == "benign"]
    regs = [r for r in rows if r["label"] == "regression"]
    false_alarms = sum(r["paged"] for r in benign)
    detected = [r for r in regs if r["paged"]]
    acks = sorted(r["seconds_to_ack"] for r in detected if r.get("seconds_to_ack") is not None)
    detect = sorted(r["seconds_to_page"] for r in detected if r.get("seconds_to_page") is not None)

    def mean(v):
        return math.fsum(v) / len(v) if v else None

    mtta = mean(acks)
    far = false_alarms / len(benign) if benign else 0.0
    return {
        "scenarios": len(rows), "benign": len(benign), "regressions": len(regs),
        "false_alarms": false_alarms, "false_alarm_rate": far,
        "false_alarm_upper95": _binomial_upper(false_alarms, len(benign)) if benign else None,
        "false_alarm_target": DRILL_FALSE_ALARM_TARGET, "false_alarm_ok": far < DRILL_FALSE_ALARM_TARGET,
        "benign_tickets": sum(r["level"] == "ticket" for r in benign),
        "detected": len(detected), "ticketed": sum(not r["paged"] and r["level"] == "ticket" for r in regs),
        "missed": sum(not r["paged"] and r["level"] != "ticket" for r in regs),
        "detection_rate": len(detected) / len(regs) if regs else None,
        "by_regression": {
            name: {"scenarios": sum(r["regression"] == name for r in regs), "detected": sum(r["regression"] == name for r in detected)}
            for name in sorted({r["regression"] for r in regs})
        },
        "unrouted": sum(bool(r.get("unrouted")) for r in detected),
        "unacknowledged": sum(r.get("seconds_to_ack") is None for r in detected),
        "mtta_s": mtta, "mtta_p50_s": acks[len(acks) // 2] if acks else None, "mtta_max_s": acks[-1] if acks else None,
        "detect_mean_s": mean(detect), "detect_max_s": detect[-1] if detect else None,
        "ack_after_s": ack_after_s, "mtta_target_s": DRILL_MTTA_TARGET_S,
        "mtta_ok": mtta is not None and mtta <= DRILL_MTTA_TARGET_S and all(a <= DRILL_MTTA_TARGET_S for a in acks),
        "passed": far < DRILL_FALSE_ALARM_TARGET and mtta is not None and mtta <= DRILL_MTTA_TARGET_S,
    }


# --- dashboard reads -------------------------------------------------------------------------------------------------


def failures_by_kind(days: int = 14, now=None) -> list[dict]:
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    now = now or timezone.now()
    return list(
        Job.objects.filter(submitted_at__gte=now - timedelta(days=days), status__in=[Job.Status.FAILED, Job.Status.ERROR])
        .annotate(day=TruncDate("submitted_at")).values("day", "kind", "status").annotate(n=Count("id")).order_by("day", "kind")
    )


def queue_lag_history(days: int = 14, now=None) -> list[dict]:
    """Per day: mean and worst time from submission to the start of the replay."""
    from django.db.models import Avg, Count, Max
    from django.db.models.functions import TruncDate

    now = now or timezone.now()
    return list(
        Replay.objects.filter(started_at__gte=now - timedelta(days=days), queue_lag_s__isnull=False)
        .annotate(day=TruncDate("started_at")).values("day")
        .annotate(mean=Avg("queue_lag_s"), worst=Max("queue_lag_s"), n=Count("id")).order_by("day")
    )


def backoff_history(days: int = 14, now=None) -> dict:
    now = now or timezone.now()
    events = list(SamplerEvent.objects.filter(at__gte=now - timedelta(days=days)).order_by("at")[:2000])
    row = SamplerState.objects.filter(pk=1).first()
    current = float((row.state or {}).get("multiplier", 1.0)) if row else 1.0
    return {"events": events, "current": current,
            "backoffs": sum(e.kind == SamplerEvent.Kind.BACKOFF for e in events)}


# --- live updates ------------------------------------------------------------------------------------------------------


def _publish(html: str, event: dict) -> None:
    from trustfabric import realtime

    try:
        realtime.publish(LIVE_GROUP, html=html, event=event)
    except Exception:  # a live update must never fail the action that caused it
        log.warning("pcq live update failed", exc_info=True)


def publish_canary_verdict(verdict_id) -> None:
    from django.template.loader import render_to_string

    from pcq import charts

    v = CanaryVerdict.objects.select_related("job").filter(pk=verdict_id).first()
    if v is None:
        return
    # Two messages: htmx's websocket extension parses each as one fragment, and a fragment that starts with
    # table rows cannot also carry divs holding tables.
    _publish(render_to_string("pcq/partials/canary_live_row.html", {"v": v}), {})
    bands = noise_bands()
    html = render_to_string("pcq/partials/canary_live.html", {
        "canary_stats": canary_summary(), "bands": bands,
        "canary_chart": charts.canary_chart(canary_history()), "bands_chart": charts.bands_chart(bands),
    })
    _publish(html, {"kind": "pcq.canary", "verdict": str(v.pk), "level": v.level})


def publish_canary_config() -> None:
    from django.template.loader import render_to_string

    html = render_to_string("pcq/partials/canary_state.html", {
        "canary": canary_config_current(create=False), "regressions": REGRESSION_LABELS, "oob": True,
    })
    _publish(html, {"kind": "pcq.canary.config"})


def publish_replay(job_id) -> None:
    from django.template.loader import render_to_string

    from pcq import charts

    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    coverage = coverage_today()
    _publish(render_to_string("pcq/partials/job_row.html", {"j": job, "oob": True}), {})
    html = render_to_string("pcq/partials/replay_live.html", {
        "coverage": coverage, "coverage_chart": charts.coverage_chart(daily_history(), coverage["target"]),
    })
    _publish(html, {"kind": "pcq.replay", "job": str(job.pk), "status": job.status})
