"""Compliance workspace pages (htmx partials where a part of a page refreshes). Views parse and call
:mod:`compliance.services`; reads that need more than a query live in the services' read helpers."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import principal, require
from accounts.roles import Cap
from compliance import charts, services
from compliance.core.coverage import covers
from compliance.models import (
    GAP_OPEN_STATES,
    Control,
    Evidence,
    EvidenceLink,
    Framework,
    Gap,
    OwnerNotice,
    Packet,
)
from trustfabric import evidence as providers
from trustfabric.errors import ServiceError

User = get_user_model()
COLLECT_DAYS = (1, 7, 30, 90)


def _can_edit(request: HttpRequest) -> bool:
    return principal(request).can(Cap.COMPLIANCE_EDIT)


def _owners():
    """People who may own controls and gaps: active users of the operator organization."""
    users = (User.objects.filter(is_active=True, memberships__organization__kind="operator")
             .exclude(memberships__role="partner_user").prefetch_related("memberships").distinct().order_by("username"))
    return [u for u in users if {m.role for m in u.memberships.all()} != {"auditor"}]


def _parse_date(value: str, what: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError("date_invalid", f"{what} must be a date (YYYY-MM-DD).") from exc


def _fail(request: HttpRequest, exc: ServiceError) -> None:
    messages.error(request, f"{exc.message} ({exc.code})")


# --- workspace home ------------------------------------------------------------------------------------------------------


@require(Cap.COMPLIANCE_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    frameworks = []
    for fw in services.current_frameworks():
        c = services.framework_coverage(fw, period_end=now)
        frameworks.append({"fw": fw, "overall": c["overall"], "themes": c["themes"],
                           "gaps": Gap.objects.filter(control__framework=fw, status__in=GAP_OPEN_STATES).count(),
                           "owned": fw.controls.filter(owner__isnull=False).count()})
    open_gaps = Gap.objects.filter(status__in=GAP_OPEN_STATES, control__framework__is_current=True)
    last_by_provider = dict(Evidence.objects.filter(kind=Evidence.Kind.COLLECTED).values_list("provider_id")
                            .annotate(last=Max("collected_at")).order_by())
    counts = dict(Evidence.objects.filter(kind=Evidence.Kind.COLLECTED).values_list("provider_id").annotate(n=Count("id")).order_by())
    return render(request, "compliance/home.html", {
        "frameworks": frameworks,
        "open_gaps": open_gaps.count(),
        "overdue": open_gaps.filter(due_date__lt=now.date()).count(),
        "my_gaps": open_gaps.filter(owner=request.user).select_related("control__framework").order_by("due_date")[:8],
        "unowned": open_gaps.filter(owner__isnull=True).count(),
        "recent": Evidence.objects.select_related("created_by").annotate(n_links=Count("links")).order_by("-collected_at")[:10],
        "evidence_total": Evidence.objects.count(),
        "packets": Packet.objects.select_related("framework")[:5],
        "providers": [{"p": p, "last": last_by_provider.get(p.id), "n": counts.get(p.id, 0)} for p in providers.all_providers()],
        "notices": OwnerNotice.objects.filter(user=request.user, read_at__isnull=True)[:5],
        "can_edit": _can_edit(request),
        "collect_days": COLLECT_DAYS,
        "today": now.date(),
    })


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def frameworks_load(request: HttpRequest) -> HttpResponse:
    try:
        report = services.frameworks_load(actor=request.user)
    except ServiceError as exc:
        _fail(request, exc)
    else:
        loaded = [f"{r['key']} {r['version']}" for r in report if r["kind"] == "framework" and r["created"]]
        messages.success(request, f"Loaded {', '.join(loaded)}." if loaded else "The bundled frameworks were already loaded.")
        services.gaps_refresh(actor=request.user)
    return redirect("compliance:home")


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def collect(request: HttpRequest) -> HttpResponse:
    try:
        days = int(request.POST.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in COLLECT_DAYS else 30
    now = timezone.now()
    try:
        results = services.evidence_collect(actor=request.user, period_start=now - timedelta(days=days), period_end=now, now=now)
    except ServiceError as exc:
        _fail(request, exc)
        return redirect("compliance:home")
    new = sum(r.get("new", 0) for r in results.values())
    failed = [pid for pid, r in results.items() if "error" in r]
    messages.success(request, f"Collected the last {days} day(s): {new} new evidence item(s) from {len(results)} provider(s).")
    if failed:
        messages.error(request, f"These providers failed (see the audit log for details): {', '.join(failed)}.")
    return redirect("compliance:home")


@require(Cap.COMPLIANCE_VIEW)
@require_POST
def notice_dismiss(request: HttpRequest, notice_id) -> HttpResponse:
    services.notice_dismiss(user=request.user, notice_id=notice_id)
    if request.htmx:
        return HttpResponse("")
    return redirect("compliance:home")


# --- frameworks and controls -----------------------------------------------------------------------------------------------


@require(Cap.COMPLIANCE_VIEW)
def framework(request: HttpRequest, framework_id) -> HttpResponse:
    fw = get_object_or_404(Framework, pk=framework_id)
    c = services.framework_coverage(fw)
    n_links = dict(EvidenceLink.objects.filter(control__framework=fw).values_list("control_id").annotate(n=Count("id")).order_by())
    gaps = {g.control_id: g for g in Gap.objects.filter(control__framework=fw, status__in=GAP_OPEN_STATES)}
    status = request.GET.get("status", "")
    theme_rows = []
    for t in c["themes"]:
        rows = []
        for ctl in c["controls"]:
            if ctl.theme.code != t.code:
                continue
            a = c["assessments"][ctl.pk]
            if (status == "gap" and not a.is_gap) or (status in Control.Status.values and ctl.status != status):
                continue
            rows.append({"c": ctl, "a": a, "n": n_links.get(ctl.pk, 0), "gap": gaps.get(ctl.pk)})
        theme_rows.append({"t": t, "rows": rows})
    return render(request, "compliance/framework.html", {
        "fw": fw, "overall": c["overall"], "themes": c["themes"], "theme_rows": theme_rows,
        "chart": charts.coverage_chart(c["themes"], title="Controls with current evidence, per theme"),
        "versions": Framework.objects.filter(key=fw.key).order_by("-loaded_at"),
        "gap_count": len(gaps), "status": status, "statuses": Control.Status.choices,
        "evidence_count": Evidence.objects.filter(links__control__framework=fw).distinct().count(),
    })


def _control_context(request: HttpRequest, control: Control) -> dict:
    a = services.assess_controls([control], period_end=timezone.now())[control.pk]
    links = list(control.links.select_related("evidence", "evidence__created_by", "linked_by").order_by("-evidence__collected_at"))
    linked_ids = {link.evidence_id for link in links}
    return {
        "c": control, "a": a, "links": [(link, covers(link.evidence.period_start, link.evidence.period_end, a.window)) for link in links],
        "gap": Gap.objects.filter(control=control, status__in=GAP_OPEN_STATES).select_related("owner").first(),
        "closed_gaps": Gap.objects.filter(control=control).exclude(status__in=GAP_OPEN_STATES).order_by("-resolved_at")[:5],
        "mapped": services.mapped_controls(control),
        "candidates": Evidence.objects.exclude(pk__in=linked_ids).order_by("-collected_at")[:200] if _can_edit(request) else [],
        "owners": _owners() if _can_edit(request) else [],
        "statuses": Control.Status.choices,
        "can_edit": _can_edit(request),
        "today": timezone.now().date(),
        "max_upload_mb": services.MAX_UPLOAD_BYTES // (1024 * 1024),
    }


@require(Cap.COMPLIANCE_VIEW)
def control(request: HttpRequest, control_id) -> HttpResponse:
    ctl = get_object_or_404(Control.objects.select_related("framework", "theme", "owner"), pk=control_id)
    return render(request, "compliance/control.html", _control_context(request, ctl))


def _control_action(request: HttpRequest, control_id, action, success: str) -> HttpResponse:
    ctl = get_object_or_404(Control.objects.select_related("framework", "theme", "owner"), pk=control_id)
    try:
        action(ctl)
    except ServiceError as exc:
        _fail(request, exc)
        ctl.refresh_from_db()
        return render(request, "compliance/control.html", _control_context(request, ctl), status=exc.status)
    messages.success(request, success)
    return redirect("compliance:control", control_id=ctl.pk)


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def control_edit(request: HttpRequest, control_id) -> HttpResponse:
    def do(ctl):
        freshness = request.POST.get("freshness_days", "").strip()
        try:
            freshness_days = int(freshness) if freshness else None
        except ValueError as exc:
            raise ServiceError("control_freshness_invalid", "The freshness window is a number of days.") from exc
        services.control_update(
            actor=request.user, control=ctl, request=request,
            owner_id=request.POST.get("owner", ...),
            status=request.POST.get("status") or None, freshness_days=freshness_days)

    return _control_action(request, control_id, do, "Control updated.")


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def control_link(request: HttpRequest, control_id) -> HttpResponse:
    def do(ctl):
        ev = Evidence.objects.filter(pk=request.POST.get("evidence") or None).first() if _uuid_ok(request.POST.get("evidence")) else None
        if ev is None:
            raise ServiceError("evidence_required", "Choose the evidence to link.")
        services.evidence_link_add(actor=request.user, control=ctl, evidence=ev, request=request)

    return _control_action(request, control_id, do, "Evidence linked.")


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def control_unlink(request: HttpRequest, control_id) -> HttpResponse:
    def do(ctl):
        ev = Evidence.objects.filter(pk=request.POST.get("evidence")).first() if _uuid_ok(request.POST.get("evidence")) else None
        if ev is None:
            raise ServiceError("evidence_required", "Choose the evidence to unlink.")
        services.evidence_link_remove(actor=request.user, control=ctl, evidence=ev, request=request)

    return _control_action(request, control_id, do, "Evidence unlinked.")


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def control_upload(request: HttpRequest, control_id) -> HttpResponse:
    def do(ctl):
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise ServiceError("upload_missing", "Choose a file to upload (names reduced to nothing by the browser's checks do not arrive).")
        services.evidence_upload(actor=request.user, uploaded=uploaded, control=ctl, title=request.POST.get("title", ""),
                                 description=request.POST.get("description", ""),
                                 evidence_date=_parse_date(request.POST.get("evidence_date", ""), "The evidence date"),
                                 request=request)

    return _control_action(request, control_id, do, "File uploaded, hashed and linked.")


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def control_runbook(request: HttpRequest, control_id) -> HttpResponse:
    def do(ctl):
        services.runbook_link_create(actor=request.user, control=ctl, url=request.POST.get("url", ""),
                                     title=request.POST.get("title", ""), description=request.POST.get("description", ""),
                                     evidence_date=_parse_date(request.POST.get("evidence_date", ""), "The evidence date"),
                                     request=request)

    return _control_action(request, control_id, do, "Runbook link added.")


def _uuid_ok(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except (ValueError, TypeError):
        return False
    return True


# --- evidence ----------------------------------------------------------------------------------------------------------------


@require(Cap.COMPLIANCE_VIEW)
def evidence_list(request: HttpRequest) -> HttpResponse:
    qs = Evidence.objects.select_related("created_by").annotate(n_links=Count("links")).order_by("-collected_at", "pk")
    kind, provider, q = request.GET.get("kind", ""), request.GET.get("provider", ""), request.GET.get("q", "").strip()
    if kind in Evidence.Kind.values:
        qs = qs.filter(kind=kind)
    if provider:
        qs = qs.filter(provider_id=provider)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(sha256__startswith=q.lower()) | Q(file_name__icontains=q) | Q(source_ref__icontains=q))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ctx = {"page": page, "kind": kind, "provider": provider, "q": q, "kinds": Evidence.Kind.choices,
           "providers": [p.id for p in providers.all_providers()], "total": Evidence.objects.count()}
    template = "compliance/evidence_list.html#evidence-table" if request.htmx else "compliance/evidence_list.html"
    return render(request, template, ctx)


@require(Cap.COMPLIANCE_VIEW)
def evidence(request: HttpRequest, evidence_id) -> HttpResponse:
    import json

    ev = get_object_or_404(Evidence.objects.select_related("created_by"), pk=evidence_id)
    links = ev.links.select_related("control__framework", "linked_by").order_by("control__framework__key", "control__order")
    provider = providers.get(ev.provider_id) if ev.provider_id else None
    return render(request, "compliance/evidence.html", {
        "ev": ev, "links": links, "provider": provider, "intact": services.evidence_verify_file(ev),
        "content_json": json.dumps(ev.content.get("content", ev.content), indent=2, ensure_ascii=False) if ev.content else "",
        "can_edit": _can_edit(request),
    })


@require(Cap.COMPLIANCE_VIEW)
@require_GET
def evidence_download(request: HttpRequest, evidence_id) -> HttpResponse:
    from compliance.core.packet import safe_segment
    from witness.tlog.canonical import canonical_bytes

    ev = get_object_or_404(Evidence, pk=evidence_id)
    if ev.kind == Evidence.Kind.UPLOAD:
        path = services.upload_path(ev)
        if not path.is_file():
            raise Http404("file missing")
        response = FileResponse(path.open("rb"), as_attachment=True, filename=ev.file_name,
                                content_type="text/plain; charset=utf-8" if ev.content_type.startswith("text/") else ev.content_type)
    else:
        response = HttpResponse(canonical_bytes(ev.content), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="evidence-{safe_segment(ev.title)[:40]}-{str(ev.pk)[:8]}.json"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Evidence-SHA256"] = ev.sha256
    return response


# --- gaps ----------------------------------------------------------------------------------------------------------------------


@require(Cap.COMPLIANCE_VIEW)
def gaps(request: HttpRequest) -> HttpResponse:
    return _gaps_page(request)


def _gaps_page(request: HttpRequest, status_code: int = 200) -> HttpResponse:
    f = {k: request.GET.get(k, "") for k in ("framework", "owner", "due")}
    f["status"] = request.GET.get("status", "open")
    qs = services.gaps_filtered(**f, user=request.user)
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    ctx = {"page": page, "f": f, "frameworks": services.current_frameworks(), "owners": _owners(),
           "statuses": Gap.Status.choices, "today": timezone.now().date(), "can_edit": _can_edit(request),
           "open_total": Gap.objects.filter(status__in=GAP_OPEN_STATES, control__framework__is_current=True).count(),
           "query": request.GET.urlencode()}
    template = "compliance/gaps.html#gap-table" if request.htmx else "compliance/gaps.html"
    return render(request, template, ctx, status=status_code)


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def gaps_refresh(request: HttpRequest) -> HttpResponse:
    r = services.gaps_refresh(actor=request.user)
    messages.success(request, f"Gaps refreshed: {r['opened']} opened, {r['closed']} closed, {r['open']} open.")
    return redirect("compliance:gaps")


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def gap_update(request: HttpRequest, gap_id) -> HttpResponse:
    gap = get_object_or_404(Gap, pk=gap_id)
    try:
        services.gap_update(actor=request.user, gap=gap, request=request,
                            owner_id=request.POST.get("owner", ...),
                            due_date=_parse_date(request.POST.get("due_date", ""), "The due date"),
                            status=request.POST.get("status") or None, resolution=request.POST.get("resolution", ""))
    except ServiceError as exc:
        _fail(request, exc)
        return _gaps_page(request, exc.status)
    messages.success(request, f"Gap on {gap.control.ref} updated.")
    nxt = request.POST.get("next", "")
    return redirect(nxt if nxt.startswith("/compliance/") else reverse("compliance:gaps"))


# --- packets --------------------------------------------------------------------------------------------------------------------


def _packets_page(request: HttpRequest, status_code: int = 200, form: dict | None = None) -> HttpResponse:
    today = timezone.now().date()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return render(request, "compliance/packets.html", {
        "packets": Packet.objects.select_related("framework", "created_by"),
        "frameworks": services.current_frameworks(),
        "form": form or {"period_start": quarter_start.isoformat(), "period_end": today.isoformat(), "version": services.PACKET_VERSION},
        "key_string": services.signing_key_string(), "log_key": services.log_key_string(),
        "can_edit": _can_edit(request),
    }, status=status_code)


@require(Cap.COMPLIANCE_VIEW)
def packets(request: HttpRequest) -> HttpResponse:
    return _packets_page(request)


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def packet_create(request: HttpRequest) -> HttpResponse:
    form = {k: request.POST.get(k, "").strip() for k in ("framework", "period_start", "period_end", "version", "title")}
    try:
        fw = Framework.objects.filter(pk=form["framework"]).first() if _uuid_ok(form["framework"]) else None
        if fw is None:
            raise ServiceError("framework_required", "Choose the framework the packet is for.")
        start = _parse_date(form["period_start"], "The first day")
        end = _parse_date(form["period_end"], "The last day")
        if start is None or end is None:
            raise ServiceError("packet_period_required", "Give the period's first and last day.")
        packet = services.packet_create(actor=request.user, framework=fw, period_start=start, period_end=end,
                                        version=form["version"] or services.PACKET_VERSION, title=form["title"], request=request)
        if request.POST.get("export"):
            services.packet_export_start(actor=request.user, packet=packet, request=request)
    except ServiceError as exc:
        _fail(request, exc)
        return _packets_page(request, exc.status, form=form)
    messages.success(request, f"Packet {packet.version} created." + (" Export started." if request.POST.get("export") else ""))
    return redirect("compliance:packet", packet_id=packet.pk)


@require(Cap.COMPLIANCE_VIEW)
def packet(request: HttpRequest, packet_id) -> HttpResponse:
    p = get_object_or_404(Packet.objects.select_related("framework", "created_by"), pk=packet_id)
    if request.htmx and request.GET.get("partial") == "progress":
        if not p.is_busy:  # finished: reload the whole page so the result shows
            response = HttpResponse("")
            response["HX-Refresh"] = "true"
            return response
        return render(request, "compliance/partials/packet_progress.html", {"p": p})
    return render(request, "compliance/packet.html", {
        "p": p, "can_edit": _can_edit(request), "key_string": services.signing_key_string(),
        "download_name": services.packet_download_name(p), "log_key": services.log_key_string(),
        "duration": (p.finished_at - p.started_at).total_seconds() if p.finished_at and p.started_at else None,
    })


@require(Cap.COMPLIANCE_EDIT)
@require_POST
def packet_export(request: HttpRequest, packet_id) -> HttpResponse:
    p = get_object_or_404(Packet, pk=packet_id)
    try:
        services.packet_export_start(actor=request.user, packet=p, request=request)
    except ServiceError as exc:
        _fail(request, exc)
    return redirect("compliance:packet", packet_id=p.pk)


@require(Cap.COMPLIANCE_VIEW)
@require_GET
def packet_download(request: HttpRequest, packet_id) -> HttpResponse:
    p = get_object_or_404(Packet.objects.select_related("framework"), pk=packet_id)
    path = services.packet_path(p) if p.status == Packet.Status.DONE and p.file_name else None
    if path is None or not path.is_file():
        raise Http404("not exported")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=services.packet_download_name(p),
                            content_type="application/zip")
    response["X-Packet-Digest"] = p.packet_digest
    return response


@require(Cap.COMPLIANCE_VIEW)
@require_GET
def packet_verify(request: HttpRequest, packet_id) -> HttpResponse:
    p = get_object_or_404(Packet.objects.select_related("framework"), pk=packet_id)
    try:
        report = services.packet_verify(packet=p)
    except ServiceError as exc:
        return render(request, "compliance/partials/packet_verify.html", {"p": p, "error": exc}, status=exc.status)
    return render(request, "compliance/partials/packet_verify.html", {"p": p, "report": report})


@require(Cap.COMPLIANCE_VIEW)
@require_GET
def signing_key(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(services.signing_key_string() + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="compliance-packet-key.txt"'
    return response
