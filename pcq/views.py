from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import principal, require
from accounts.roles import Cap
from pcq import charts, engine, services
from pcq.models import CanaryConfig, CanaryVerdict, DrillRun, Job, Pause
from trustfabric.errors import ServiceError


def _dashboard_context(request: HttpRequest) -> dict:
    coverage = services.coverage_today()
    history = services.daily_history()
    lag = services.queue_lag_history()
    failures = services.failures_by_kind()
    backoff = services.backoff_history()
    bands = services.noise_bands()
    canary_hist = services.canary_history()
    latest_drill = DrillRun.objects.first()
    return {
        "coverage": coverage,
        "coverage_chart": charts.coverage_chart(history, coverage["target"]) if history else "",
        "failures_chart": charts.failures_chart(failures) if failures else "",
        "lag_chart": charts.lag_chart(lag) if lag else "",
        "backoff": backoff,
        "backoff_chart": charts.backoff_chart(backoff) if backoff["events"] else "",
        "jobs": Job.objects.prefetch_related("replays")[:25],
        "pauses": Pause.objects.filter(resumed_at__isnull=True),
        "kinds": sorted(engine.KINDS),
        "can_operate": principal(request).can(Cap.PCQ_OPERATE),
        "canary": services.canary_config_current(),
        "canary_configs": CanaryConfig.objects.all()[:20],
        "regressions": services.REGRESSION_LABELS,
        "canary_stats": services.canary_summary(),
        "verdicts": CanaryVerdict.objects.select_related("job")[:20],
        "bands": bands,
        "canary_chart": charts.canary_chart(canary_hist),
        "bands_chart": charts.bands_chart(bands) if bands else "",
        "drill": latest_drill,
        "drill_defaults": {"seed": 1, "benign": 150, "regressions": 30, "ack_after_s": 120, "mean_gap_s": 60},
    }


@require(Cap.PCQ_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pcq/home.html", _dashboard_context(request))


def _done(request: HttpRequest, message: str | None, exc: ServiceError | None = None) -> HttpResponse:
    if exc is not None:
        messages.error(request, f"{exc.message} ({exc.code})")
    elif message:
        messages.success(request, message)
    return redirect(f"{reverse('pcq:home')}#canary")


@require(Cap.PCQ_OPERATE)
@require_POST
def pause(request: HttpRequest) -> HttpResponse:
    try:
        services.pause(actor=request.user, scope=request.POST.get("scope", ""), reason=request.POST.get("reason", ""))
        messages.success(request, "Replays paused.")
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("pcq:home")


@require(Cap.PCQ_OPERATE)
@require_POST
def resume(request: HttpRequest, pause_id) -> HttpResponse:
    try:
        services.resume(actor=request.user, pause_id=pause_id, reason=request.POST.get("reason", ""))
        messages.success(request, "Replays resumed.")
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("pcq:home")


@require(Cap.PCQ_VIEW)
def job(request: HttpRequest, job_id) -> HttpResponse:
    j = services.job_get(principal(request), job_id)
    replays = list(j.replays.all())
    proof = None
    latest = replays[0] if replays else None
    if latest and latest.witness_leaf_hash:
        from witness import services as witness

        try:
            proof = witness.inclusion_proof(leaf_hash=latest.witness_leaf_hash)
        except witness.WitnessError:
            proof = None  # not sequenced yet: the page says so
    return render(request, "pcq/job.html", {
        "j": j, "replays": replays, "latest": latest, "proof": proof,
        "manifest_json": json.dumps(j.manifest, indent=2, sort_keys=True),
    })


# --- canary ------------------------------------------------------------------------------------------------


@require(Cap.PCQ_OPERATE)
@require_POST
def canary_regression(request: HttpRequest) -> HttpResponse:
    """Switch the active canary's planted regression (htmx: answers with the refreshed switch card)."""
    regression = request.POST.get("regression", "")
    rparams = {}
    for key in ("alpha_scale", "fraction", "offset"):
        raw = request.POST.get(key, "").strip()
        if raw and key in engine.REGRESSIONS.get(regression, {}):
            try:
                rparams[key] = float(raw)
            except ValueError:
                rparams[key] = raw  # refused by the service with a message
    try:
        cfg = services.canary_regression_set(actor=request.user, regression=regression, regression_params=rparams,
                                             reason=request.POST.get("reason", ""))
        msg = (f"Planted regression “{services.REGRESSION_LABELS.get(cfg.regression, cfg.regression)}” is on for {cfg.label}."
               if cfg.regression != "none" else f"No planted regression: {cfg.label} runs correctly.")
        error = None
    except ServiceError as exc:
        msg, error = None, exc
    if request.htmx:
        return render(request, "pcq/partials/canary_switch.html", {
            "canary": services.canary_config_current(create=False), "regressions": services.REGRESSION_LABELS,
            "can_operate": True, "flash": msg, "flash_error": f"{error.message} ({error.code})" if error else None,
        })
    return _done(request, msg, error)


@require(Cap.PCQ_OPERATE)
@require_POST
def canary_config(request: HttpRequest) -> HttpResponse:
    """Create a new canary version (``action=create``), activate one (``activate``), or switch the canary off."""
    action = request.POST.get("action", "create")
    try:
        if action == "activate":
            cfg = services.canary_config_activate(actor=request.user, config_id=request.POST.get("config") or None,
                                                  reason=request.POST.get("reason", ""))
            return _done(request, f"{cfg.label} is the active canary." if cfg else "The canary stack is off.")
        try:
            params = json.loads(request.POST.get("params") or "{}")
        except ValueError as exc:
            raise services.PcqServiceError("canary_invalid", f"Engine parameters must be a JSON object: {exc}") from exc
        cfg = services.canary_config_create(actor=request.user, name=request.POST.get("name", ""),
                                            version=request.POST.get("version", ""), params=params,
                                            activate=True, reason=request.POST.get("reason", ""))
        return _done(request, f"{cfg.label} created and active; its deltas page under new alert keys.")
    except ServiceError as exc:
        return _done(request, None, exc)


@require(Cap.PCQ_VIEW)
def canary_verdict(request: HttpRequest, verdict_id) -> HttpResponse:
    v = services.canary_verdict_get(principal(request), verdict_id)
    proof = None
    if v.witness_leaf_hash:
        from witness import services as witness

        try:
            proof = witness.inclusion_proof(leaf_hash=v.witness_leaf_hash)
        except witness.WitnessError:
            proof = None
    fields = sorted(v.report.get("fields", []), key=lambda f: (-f["severity"], f["field"]))
    return render(request, "pcq/canary_verdict.html", {"v": v, "fields": fields, "proof": proof})


# --- drills --------------------------------------------------------------------------------------------------


def _int(request: HttpRequest, key: str, default):
    raw = request.POST.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw) if isinstance(default, int) else float(raw)
    except ValueError:
        raise services.PcqServiceError("drill_invalid", f"{key} must be a number.") from None


@require(Cap.PCQ_OPERATE)
@require_POST
def drill_start(request: HttpRequest) -> HttpResponse:
    try:
        run = services.drill_start(
            actor=request.user, seed=_int(request, "seed", 1), benign=_int(request, "benign", 150),
            regressions=_int(request, "regressions", 30), ack_after_s=_int(request, "ack_after_s", 120.0),
            mean_gap_s=_int(request, "mean_gap_s", 60.0), responder=request.POST.get("responder", "").strip() or None,
        )
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
        return redirect(f"{reverse('pcq:home')}#drills")
    messages.success(request, f"Canary drill started: {run.total} scenarios on the replay queue.")
    return redirect("pcq:drill", run.pk)


@require(Cap.PCQ_VIEW)
def drill(request: HttpRequest, drill_id) -> HttpResponse:
    from trustfabric.errors import NotFound

    run = DrillRun.objects.filter(pk=drill_id).first()
    if run is None:
        raise NotFound("canary drill")
    if request.htmx and request.GET.get("partial") == "progress":
        if run.status in (DrillRun.Status.DONE, DrillRun.Status.FAILED):
            resp = HttpResponse("")
            resp["HX-Refresh"] = "true"
            return resp
        return render(request, "pcq/partials/drill_progress.html", {"run": run})
    rows = run.scenarios
    show = request.GET.get("show", "")
    if show == "paged":
        rows = [r for r in rows if r["paged"]]
    elif show in ("benign", "regression"):
        rows = [r for r in rows if r["label"] == show]
    return render(request, "pcq/drill.html", {"run": run, "rows": rows, "show": show,
                                              "drills": DrillRun.objects.exclude(pk=run.pk)[:10]})
