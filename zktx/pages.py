"""Server-rendered pages: the pilot console (operators) and the ZK-TX part of the partner portal.

Views stay thin: scoping, the actions and their errors are the services' (``zktx.services``); the
figures are ``zktx.stats``."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import principal, require
from accounts.roles import Cap
from trustfabric.errors import ServiceError
from zktx import charts, reports, services, stats
from zktx.models import Appeal, AuditBundle

PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


def _period(request: HttpRequest) -> tuple[str, timedelta]:
    key = request.GET.get("period", "24h")
    return (key, PERIODS[key]) if key in PERIODS else ("24h", PERIODS["24h"])


@require(Cap.ZKTX_CONSOLE)
def console(request: HttpRequest) -> HttpResponse:
    p = principal(request)
    key, span = _period(request)
    since = timezone.now() - span
    queries = services.queries_visible(p)
    recent = queries.filter(submitted_at__gte=since)
    series = stats.series(queries, since=since)
    pilots = []
    for pilot in services.pilots_visible(p).select_related("holder", "querier"):
        pilots.append({"pilot": pilot, "stats": stats.summary(queries.filter(pilot=pilot, submitted_at__gte=since)),
                       "epoch": pilot.epochs.order_by("-number").first()})
    ctx = {
        "period": key, "periods": list(PERIODS), "overall": stats.summary(recent), "pilots": pilots,
        "runs": services.runs_visible(p).order_by("-started_at")[:10],
        "appeals": services.appeals_visible(p).exclude(status=Appeal.Status.RESOLVED).select_related("query", "organization")[:20],
        "bundles": services.bundles_visible(p).select_related("run").order_by("-created_at")[:10],
        "quotas": services.quotas_view(p),
        "latency_chart": charts.latency_chart(series), "throughput_chart": charts.throughput_chart(series),
        "now": timezone.now(),
    }
    return render(request, "zktx/console.html", ctx)


@require(Cap.ZKTX_CONSOLE)
def run(request: HttpRequest, run_id) -> HttpResponse:
    p = principal(request)
    r = services.run_get(p, run_id)
    queries = services.queries_visible(p).filter(run=r)
    since = r.started_at
    ctx = {"run": r, "stats": stats.summary(queries), "checklist": reports.run_checklist(r),
           "queries": queries.select_related("tenant", "pilot").order_by("-submitted_at")[:100],
           "bundles": AuditBundle.objects.filter(run=r).order_by("-created_at"),
           "can_operate": p.can(Cap.ZKTX_OPERATE),
           "latency_chart": charts.latency_chart(stats.series(queries, since=since, buckets=12)),
           "throughput_chart": charts.throughput_chart(stats.series(queries, since=since, buckets=12))}
    if request.htmx and request.GET.get("partial") == "bundles":
        return render(request, "zktx/partials/bundles.html", ctx)
    return render(request, "zktx/run.html", ctx)


@require(Cap.ZKTX_OPERATE)
@require_POST
def run_export(request: HttpRequest, run_id) -> HttpResponse:
    p = principal(request)
    try:
        bundle = services.bundle_export(actor=request.user, run=services.run_get(p, run_id))
        messages.success(request, f"Bundle export started ({bundle.get_status_display().lower()}).")
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("zktx:run", run_id=run_id)


@require(Cap.ZKTX_CONSOLE)
def appeal(request: HttpRequest, appeal_id) -> HttpResponse:
    p = principal(request)
    a = services.appeal_get(p, appeal_id)
    return render(request, "zktx/appeal.html", {"a": a, "can_operate": p.can(Cap.ZKTX_OPERATE), "now": timezone.now(),
                                                "resolutions": Appeal.Resolution.choices})


@require(Cap.ZKTX_OPERATE)
@require_POST
def appeal_action(request: HttpRequest, appeal_id, action: str) -> HttpResponse:
    p = principal(request)
    try:
        a = services.appeal_get(p, appeal_id)
        if action == "reverify":
            a = services.appeal_reverify(actor=request.user, appeal=a)
            messages.success(request, "Transcript re-verified: " + ("valid." if a.reverify_ok else f"invalid ({a.reverify_code})."))
        elif action == "rerun":
            services.appeal_rerun_start(actor=request.user, appeal=a)
            messages.success(request, "A fresh epoch was started for the re-run.")
        elif action == "resolve":
            services.appeal_resolve(actor=request.user, appeal=a, resolution=request.POST.get("resolution", ""),
                                    reason=request.POST.get("reason", ""))
            messages.success(request, "Appeal resolved.")
        else:
            messages.error(request, "Unknown action.")
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("zktx:appeal", appeal_id=appeal_id)


# --- partner portal -----------------------------------------------------------------------------------------------


@require(Cap.PORTAL)
def portal(request: HttpRequest) -> HttpResponse:
    p = principal(request)
    queries = services.queries_visible(p).select_related("pilot", "tenant").order_by("-submitted_at")
    ctx = {"org": p.organization, "pilots": services.pilots_visible(p).select_related("holder", "querier"),
           "runs": services.runs_visible(p).order_by("-started_at")[:10], "queries": queries[:50],
           "stats": stats.summary(queries), "appeals": services.appeals_visible(p).select_related("query")[:20],
           "bundles": services.bundles_visible(p).select_related("run").order_by("-created_at")[:10],
           "quotas": services.quotas_view(p), "keys": services.keys_visible(p)[:5]}
    return render(request, "zktx/portal.html", ctx)


@require(Cap.PORTAL)
def portal_query(request: HttpRequest, query_pk) -> HttpResponse:
    p = principal(request)
    q = services.query_get(p, query_pk)
    return render(request, "zktx/portal_query.html", {"q": q, "verdict": services.query_verdict(q) if q.verdict else None,
                                                      "appeals": services.appeals_visible(p).filter(query=q)})


@require(Cap.PORTAL)
@require_POST
def portal_appeal(request: HttpRequest, query_pk) -> HttpResponse:
    p = principal(request)
    try:
        q = services.query_get(p, query_pk)
        services.appeal_file(actor=request.user, query=q, reason=request.POST.get("reason", ""))
        messages.success(request, "Appeal filed: the exchange re-verifies the transcript; the SLA is 24 hours.")
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("zktx:portal_query", query_pk=query_pk)


@require(Cap.PORTAL)
@require_POST
def portal_consent(request: HttpRequest, appeal_id) -> HttpResponse:
    p = principal(request)
    try:
        a = services.appeal_get(p, appeal_id)
        services.appeal_consent(actor=request.user, appeal=a)
        messages.success(request, "Consent recorded for a re-run under a fresh epoch.")
        return redirect("zktx:portal_query", query_pk=a.query_id)
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("zktx:portal")


