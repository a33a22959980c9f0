import csv
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import principal, require
from accounts.roles import Cap
from studio import services
from studio.models import (
    ApprovalRequest,
    ChangeRequest,
    DecisionRecord,
    Draft,
    Environment,
    Grant,
    Simulation,
)
from trustfabric.errors import ServiceError


@require(Cap.STUDIO_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    envs = []
    for name in Environment.Name.values:
        try:
            envs.append(services.environment(name))
        except ServiceError:
            continue
    cards = []
    for env in envs:
        report = services.drift_report(env.name)
        cards.append({"env": env, "drift": bool(report["drifting"]), "points": len(report["points"])})
    ctx = {
        "env_cards": cards,
        "drifting": sum(c["drift"] for c in cards),
        "pending": ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING).count(),
        "open_changes": ChangeRequest.objects.filter(status__in=[ChangeRequest.Status.OPEN, ChangeRequest.Status.APPROVED]).count(),
        "recent": DecisionRecord.objects.all()[:10],
        "matrix": services.policy_matrix(request.GET.get("q", "")),
        "can_author": principal(request).can(Cap.STUDIO_AUTHOR),
        "my_drafts": Draft.objects.filter(author=request.user, status=Draft.Status.EDITING).select_related("base_bundle")[:10],
    }
    return render(request, "studio/home.html", ctx)


@require(Cap.STUDIO_VIEW)
def decisions(request: HttpRequest) -> HttpResponse:
    qs = DecisionRecord.objects.all()
    for field in ("environment", "effect", "domain"):
        if request.GET.get(field):
            qs = qs.filter(**{field: request.GET[field]})
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "studio/decisions.html", {"page": page, "f": request.GET})


@require(Cap.STUDIO_VIEW)
def approvals(request: HttpRequest) -> HttpResponse:
    ctx = {
        "pending": ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING).prefetch_related("votes__approver"),
        "decided": ApprovalRequest.objects.exclude(status=ApprovalRequest.Status.PENDING).prefetch_related("votes__approver")[:30],
        "grants": Grant.objects.filter(revoked_at__isnull=True).select_related("request")[:30],
        "can_approve": principal(request).can(Cap.STUDIO_APPROVE),
    }
    return render(request, "studio/approvals.html", ctx)


@require(Cap.STUDIO_APPROVE)
@require_POST
def approval_vote(request: HttpRequest, approval_id) -> HttpResponse:
    try:
        ar = services.approval_vote(actor=request.user, request=services.approval_get(approval_id),
                                    approve=request.POST.get("approve") == "1", comment=request.POST.get("comment", ""))
        messages.success(request, f"Recorded. The request is now {ar.status}.")
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return redirect("studio:approvals")


# --- registry pages -----------------------------------------------------------------------------------------------


def _fail(request: HttpRequest, exc: ServiceError) -> None:
    messages.error(request, f"{exc.message} ({exc.code})")


@require(Cap.STUDIO_VIEW)
def policies(request: HttpRequest) -> HttpResponse:
    """The policy list (an htmx partial for the search box)."""
    return render(request, "studio/partials/policy_list.html", {"matrix": services.policy_matrix(request.GET.get("q", ""))})


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_new(request: HttpRequest) -> HttpResponse:
    try:
        d = services.draft_create(actor=request.user, environment_name=request.POST.get("environment", "dev"),
                                  title=request.POST.get("title", ""))
    except ServiceError as exc:
        _fail(request, exc)
        return redirect("studio:home")
    return redirect("studio:draft", draft_id=d.pk)


def _draft_for(request: HttpRequest, draft_id) -> Draft:
    d = services.draft_get(draft_id)
    if d.author_id != request.user.pk and not principal(request).can(Cap.STUDIO_APPROVE):
        raise Http404("draft")
    return d


@require(Cap.STUDIO_AUTHOR)
def draft(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    files = sorted(d.sources)
    current = request.GET.get("file") if request.GET.get("file") in d.sources else files[0]
    built = services.draft_bundle(d)
    diags = services.diagnostics_json(built, file=current)
    from studio.lac.samples import sample_request

    sample = sample_request()
    schema = services.editor_schema(d.base_bundle.schema) | {
        "definitions": [{"name": x.name, "detail": m.name} for m in built.modules for x in m.decls if not hasattr(x, "effect")],
        "messages": sorted({mid for msgs in d.catalogs.values() for mid in msgs}),
    }
    ctx = {
        "d": d, "files": files, "current": current, "source": d.sources[current], "built": built, "diagnostics": diags,
        "editor_schema": schema, "dock": services.editor_dock(schema), "envs": Environment.Name.values,
        "sample_request": json.dumps(sample, indent=2), "scenarios": _scenarios(),
        "sample_rows": json.dumps(_sample_rows(sample["resource"]["domain"], d.base_bundle.schema), indent=2),
        "editable": d.status == Draft.Status.EDITING and d.author_id == request.user.pk,
        "simulations": d.simulations.all()[:5],
    }
    return render(request, "studio/draft.html", ctx)


def _scenarios() -> list[dict]:
    """Saved scenarios for the preview: the first red-team case of every category."""
    from studio.lac import redteam

    seen, out = set(), []
    for c in redteam.load_corpus():
        if c["category"] in seen:
            continue
        seen.add(c["category"])
        out.append({"id": c["id"], "label": f"{c['category']}: {c['description']}"[:110], "request": json.dumps(c["request"], indent=2)})
    return out


def _sample_rows(domain: str, schema: dict) -> list[dict]:
    fields: dict = {}
    for ds in ((schema.get("domains") or {}).get(domain) or {}).get("datasets", {}).values():
        fields = ds.get("fields") or {}
        break
    rows = []
    for i in range(3):
        row = {}
        for name, t in fields.items():
            row[name] = {"int": 1000 * (i + 1) + 37 * i, "datetime": f"2025-03-0{i + 1}T10:00:00Z"}.get(t, f"{name}-{i + 1}")
        rows.append(row)
    return rows


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_save(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    try:
        services.draft_save(actor=request.user, draft=d, file=request.POST.get("file"), source=request.POST.get("source", ""))
    except ServiceError as exc:
        return HttpResponse(f'<span class="badge badge-crit">{exc.message}</span>', status=200)
    return HttpResponse(f'<span class="muted small">Saved {timezone.localtime():%H:%M:%S}</span>')


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_file(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    name = (request.POST.get("name") or "").strip()
    try:
        if request.POST.get("delete"):
            services.draft_save(actor=request.user, draft=d, delete_file=name)
            return redirect("studio:draft", draft_id=d.pk)
        if name in d.sources:
            raise services.LacError("draft_file_exists", f"{name} already exists.")
        services.draft_save(actor=request.user, draft=d, file=name, source=f"// {name}\n")
    except ServiceError as exc:
        _fail(request, exc)
        return redirect("studio:draft", draft_id=d.pk)
    return redirect(f"{reverse('studio:draft', args=[d.pk])}?file={name}")


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_lint(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    file = request.POST.get("file") or sorted(d.sources)[0]
    try:
        return JsonResponse(services.lint_source(draft=d, file=file, source=request.POST.get("source", "")))
    except ServiceError as exc:
        return JsonResponse(exc.as_body() | {"diagnostics": []}, status=exc.status)


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_format(request: HttpRequest, draft_id) -> HttpResponse:
    _draft_for(request, draft_id)
    from studio.lac.diagnostics import LacError as SourceError

    try:
        return JsonResponse({"source": services.format_lac(request.POST.get("source", ""), request.POST.get("file") or "<input>")})
    except SourceError as exc:
        diags = [d.to_dict() for d in getattr(exc, "diagnostics", ())] or [{"severity": "error", "message": str(exc)}]
        return JsonResponse({"error": {"code": "format_syntax_error", "message": "Fix the syntax errors before formatting."},
                             "diagnostics": diags}, status=400)


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_preview(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    ctx: dict = {}
    try:
        req = json.loads(request.POST.get("request") or "null")
        rows_text = (request.POST.get("rows") or "").strip()
        rows = json.loads(rows_text) if rows_text else None
        ctx["result"] = services.preview(draft=d, request=req, rows=rows)
        ctx["columns"] = sorted({k for r in (ctx["result"].get("rows_before") or []) for k in r})
        ctx["rows_pairs"] = list(zip(ctx["result"].get("rows_before") or [], ctx["result"].get("rows_after") or [], strict=False))
    except json.JSONDecodeError as exc:
        ctx["error"] = {"code": "preview_bad_json", "message": f"The request or rows are not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."}
    except ServiceError as exc:
        ctx["error"] = {"code": exc.code, "message": exc.message, "details": exc.details}
    return render(request, "studio/partials/preview.html", ctx)


@require(Cap.STUDIO_AUTHOR)
def draft_messages(request: HttpRequest, draft_id) -> HttpResponse:
    """Message catalogs side by side: one row per message id, one column per locale."""
    d = _draft_for(request, draft_id)
    locales = sorted(d.catalogs) or ["en"]
    if request.method == "POST":
        catalogs: dict[str, dict[str, str]] = {loc: {} for loc in locales}
        new_locale = (request.POST.get("new_locale") or "").strip()
        for key, value in request.POST.items():
            if key.startswith("m|"):
                _, loc, mid = key.split("|", 2)
                if loc in catalogs:
                    catalogs[loc][mid] = value
        new_id = (request.POST.get("new_id") or "").strip()
        if new_id:
            for loc in locales:
                catalogs[loc].setdefault(new_id, request.POST.get(f"new|{loc}", ""))
        if new_locale:
            catalogs.setdefault(new_locale, {})
        try:
            services.draft_save(actor=request.user, draft=d, catalogs=catalogs)
            messages.success(request, "Messages saved.")
        except ServiceError as exc:
            _fail(request, exc)
        return redirect("studio:draft_messages", draft_id=d.pk)
    built = services.draft_bundle(d)
    ids = sorted({mid for msgs in d.catalogs.values() for mid in msgs} | set(_used_message_ids(built)))
    rows = [{"id": mid, "cells": [{"locale": loc, "text": d.catalogs.get(loc, {}).get(mid, "")} for loc in locales],
             "missing": [loc for loc in locales if not d.catalogs.get(loc, {}).get(mid)]} for mid in ids]
    lint = [x for x in services.diagnostics_json(built) if "translation" in x.get("message", "").lower() or x.get("code") in ("LAC-L012",)]
    preview_id = request.GET.get("preview")
    rendered = None
    if preview_id:
        rendered = {loc: _render_message(built, preview_id, loc) for loc in locales}
    return render(request, "studio/draft_messages.html", {"d": d, "locales": locales, "rows": rows, "missing": sum(bool(r["missing"]) for r in rows),
                                                         "lint": lint, "preview_id": preview_id, "rendered": rendered,
                                                         "editable": d.status == Draft.Status.EDITING and d.author_id == request.user.pk})


def _used_message_ids(built) -> list[str]:
    return [p.reason.message_id for p in built.policies if p.reason is not None and getattr(p.reason, "message_id", None)]


def _render_message(built, mid: str, locale: str) -> str:
    text = (built.catalog_data.get(locale) or {}).get(mid)
    if text is None:
        return "— missing —"
    from studio.lac.catalog import placeholders, render_template

    return render_template(text, {name: f"<{name}>" for name in placeholders(text)})


@require(Cap.STUDIO_AUTHOR)
@require_POST
def draft_simulate(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    try:
        sim = services.simulation_start(actor=request.user, draft=d, environment_name=request.POST.get("environment", "prod"),
                                        days=int(request.POST.get("days") or 7), include_corpus=request.POST.get("corpus", "1") == "1")
    except (ValueError, ServiceError) as exc:
        if isinstance(exc, ServiceError):
            _fail(request, exc)
        else:
            messages.error(request, "The period must be a whole number of days.")
        return redirect("studio:draft", draft_id=d.pk)
    return redirect("studio:simulation", simulation_id=sim.pk)


@require(Cap.STUDIO_VIEW)
def simulation(request: HttpRequest, simulation_id) -> HttpResponse:
    sim = services.simulation_get(simulation_id)
    from studio.lac.diff import KIND_LABELS, KINDS

    ctx = {"sim": sim, "kinds": [(k, KIND_LABELS[k], (sim.summary.get("kinds") or {}).get(k, 0)) for k in KINDS],
           "changes": sim.changes[:300], "kind_filter": request.GET.get("kind", "")}
    if ctx["kind_filter"]:
        ctx["changes"] = [c for c in sim.changes if c["kind"] == ctx["kind_filter"]][:300]
    if sim.status == sim.Status.DONE:
        ctx["chart"] = _simulation_chart(sim)
    if request.htmx and request.GET.get("partial") == "progress":
        if sim.status in (sim.Status.DONE, sim.Status.FAILED):
            resp = HttpResponse("")
            resp["HX-Refresh"] = "true"
            return resp
        return render(request, "studio/partials/simulation_progress.html", ctx)
    return render(request, "studio/simulation.html", ctx)


def _simulation_chart(sim) -> str:
    import plotly.graph_objects as go

    from studio.lac.diff import KIND_LABELS, KINDS
    from trustfabric.charts import chart_html

    by_source = sim.summary.get("by_source") or {}
    fig = go.Figure()
    for source, counts in sorted(by_source.items()):
        fig.add_bar(name=f"{source} ({counts.get('total', 0):,} cases)", x=[KIND_LABELS[k] for k in KINDS], y=[counts.get(k, 0) for k in KINDS])
    return chart_html(fig, name="simulation", barmode="stack", height=300, margin={"l": 48, "r": 10, "t": 10, "b": 40},
                      legend={"orientation": "h", "y": -0.25}, yaxis={"title": "changed decisions"})


@require(Cap.STUDIO_VIEW)
def simulation_csv(request: HttpRequest, simulation_id) -> HttpResponse:
    sim = services.simulation_get(simulation_id)
    resp = HttpResponse(content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="simulation-{str(sim.pk)[:8]}.csv"'
    writer = csv.writer(resp)
    for row in services.simulation_csv_rows(sim):
        writer.writerow(row)
    return resp


# --- change requests ---------------------------------------------------------------------------------------------


@require(Cap.STUDIO_VIEW)
def changes(request: HttpRequest) -> HttpResponse:
    qs = ChangeRequest.objects.select_related("author", "bundle")
    status = request.GET.get("status", "")
    if status:
        qs = qs.filter(status=status)
    drafts = Draft.objects.filter(author=request.user, status=Draft.Status.EDITING)[:20] if request.user.is_authenticated else []
    return render(request, "studio/changes.html", {"page": Paginator(qs, 30).get_page(request.GET.get("page")), "status": status,
                                                   "statuses": ChangeRequest.Status.choices, "drafts": drafts})


@require(Cap.STUDIO_AUTHOR)
@require_POST
def change_submit(request: HttpRequest, draft_id) -> HttpResponse:
    d = _draft_for(request, draft_id)
    try:
        cr = services.change_submit(actor=request.user, draft=d, title=request.POST.get("title", ""),
                                    description=request.POST.get("description", ""))
    except ServiceError as exc:
        _fail(request, exc)
        return redirect("studio:draft", draft_id=d.pk)
    messages.success(request, f"{cr.ref} opened: it needs {cr.approvals_required} approval(s).")
    return redirect("studio:change", change_id=cr.pk)


@require(Cap.STUDIO_VIEW)
def change(request: HttpRequest, change_id: int) -> HttpResponse:
    cr = services.change_get(change_id)
    from studio.lac.diff import text_diff

    p = principal(request)
    ok, problems = services.checks_pass(cr.checks)
    reviews = list(cr.reviews.select_related("reviewer"))
    ctx = {
        "cr": cr, "diff": text_diff(cr.base_bundle.sources, cr.bundle.sources),
        "catalog_diff": text_diff({f"{k}.json": json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False) for k, v in cr.base_bundle.catalogs.items()},
                                  {f"{k}.json": json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False) for k, v in cr.bundle.catalogs.items()}),
        "structure": cr.checks.get("structure") or {}, "checks_ok": ok, "problems": problems, "reviews": reviews,
        "approvals": sum(r.approve for r in reviews), "comments": cr.comments.select_related("author"),
        "can_review": p.can(Cap.STUDIO_APPROVE) and cr.author_id != request.user.pk and cr.status == cr.Status.OPEN
        and not any(r.reviewer_id == request.user.pk for r in reviews),
        "can_merge": (p.can(Cap.STUDIO_AUTHOR) or p.can(Cap.STUDIO_APPROVE)) and cr.status == cr.Status.APPROVED,
        "simulations": Simulation.objects.filter(draft=cr.draft)[:5] if cr.draft_id else [],
        "deployments": cr.deployments.all(),
    }
    return render(request, "studio/change.html", ctx)


@require(Cap.STUDIO_VIEW)
@require_POST
def change_action(request: HttpRequest, change_id: int, action: str) -> HttpResponse:
    cr = services.change_get(change_id)
    try:
        if action == "approve" or action == "reject":
            cr = services.change_review(actor=request.user, change=cr, approve=action == "approve", comment=request.POST.get("comment", ""))
            messages.success(request, f"Review recorded; {cr.ref} is {cr.get_status_display().lower()}.")
        elif action == "comment":
            services.change_comment(actor=request.user, change=cr, body=request.POST.get("body", ""))
        elif action == "merge":
            dep = services.change_merge(actor=request.user, change=cr)
            messages.success(request, f"Merged: {dep.environment} now runs {dep.bundle.version}.")
        elif action == "close":
            services.change_close(actor=request.user, change=cr, reason=request.POST.get("reason", ""))
        else:
            raise Http404("action")
    except ServiceError as exc:
        _fail(request, exc)
    return redirect("studio:change", change_id=cr.pk)


# --- environments: promotions, rollback, modes, drift ------------------------------------------------------------


@require(Cap.STUDIO_VIEW)
def environment_page(request: HttpRequest, name: str) -> HttpResponse:
    if name not in services.ENV_ORDER:
        raise Http404("environment")
    env = services.environment(name, fresh=True)
    idx = services.ENV_ORDER.index(name)
    source = services.ENV_ORDER[idx - 1] if idx else None
    p = principal(request)
    ctx = {"env": env, "source": source, "history": services.deployments(name), "drift": services.drift_report(name),
           "can_operate": p.can(Cap.STUDIO_APPROVE), "can_remediate": p.can(Cap.STUDIO_AUTHOR) or p.can(Cap.STUDIO_APPROVE),
           "domains": sorted((env.bundle.schema.get("domains") or {}).items())}
    if source:
        ctx["gates"] = services.promotion_gates(source, name)
        ctx["blocked"] = [g for g in ctx["gates"] if not g["ok"]]
        ctx["envdiff"] = services.environment_diff(source, name)
    return render(request, "studio/environment.html", ctx)


@require(Cap.STUDIO_APPROVE)
@require_POST
def environment_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    try:
        if action == "promote":
            idx = services.ENV_ORDER.index(name) if name in services.ENV_ORDER else 0
            if idx == 0:
                raise services.LacError("promotion_order", "dev receives changes by merging change requests, not promotions.")
            dep = services.promote(actor=request.user, source=services.ENV_ORDER[idx - 1], target=name, note=request.POST.get("note", ""))
            messages.success(request, f"Promoted: {name} now runs {dep.bundle.version}.")
        elif action == "rollback":
            dep = services.rollback(actor=request.user, environment_name=name, reason=request.POST.get("reason", ""))
            messages.success(request, f"Rolled back: {name} runs {dep.bundle.version} again.")
        elif action == "mode":
            services.environment_set_mode(actor=request.user, environment_name=name, domain=request.POST.get("domain", ""),
                                          mode=request.POST.get("mode", ""), reason=request.POST.get("reason", ""))
            messages.success(request, "Mode changed.")
        else:
            raise Http404("action")
    except ServiceError as exc:
        _fail(request, exc)
    return redirect("studio:environment", name=name)


@require(Cap.STUDIO_VIEW)
def drift(request: HttpRequest) -> HttpResponse:
    reports = [services.drift_report(n) for n in services.ENV_ORDER]
    pairs = [(a, b, services.environment_diff(a, b)) for a, b in (("dev", "stage"), ("stage", "prod"))]
    return render(request, "studio/drift.html", {"reports": reports, "pairs": pairs,
                                                 "can_remediate": principal(request).can(Cap.STUDIO_AUTHOR) or principal(request).can(Cap.STUDIO_APPROVE)})


@require(Cap.STUDIO_VIEW)
@require_POST
def remediate(request: HttpRequest, name: str) -> HttpResponse:
    try:
        cr = services.remediate(actor=request.user, environment_name=name, point_id=request.POST.get("point_id", ""),
                                way=request.POST.get("way", ""))
    except ServiceError as exc:
        _fail(request, exc)
        return redirect("studio:drift")
    messages.success(request, f"{cr.ref} opened to reconcile {name}; it needs {cr.approvals_required} approval(s).")
    return redirect("studio:change", change_id=cr.pk)
