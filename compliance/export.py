"""Packet export: gather a framework's controls, coverage, gaps and evidence for a period, render the
report, build the signed zip (:mod:`compliance.core.packet`), log its digest in the witness log and
store it. Called by :func:`compliance.services.packet_export` (the Celery task's body)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from accounts.services import audit_record
from compliance import services
from compliance.core import coverage as cov
from compliance.core.packet import SCHEMA, attach_inclusion, build_packet, safe_segment, statement_body
from compliance.models import ControlMapping, Evidence, EvidenceLink, Gap, Packet
from witness.tlog.canonical import canonical_bytes


class ExportError(Exception):
    pass


def _json(obj: Any) -> bytes:
    return json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=False).encode() + b"\n"


def svg_bars(themes: list[cov.ThemeCoverage], *, width: int = 800) -> str:
    """Coverage per theme as horizontal SVG bars (no script, prints well, safe to embed)."""
    row, label_w, bar_w = 26, 290, width - 290 - 110
    height = row * len(themes) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="Coverage per theme" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">']
    for pct in (0, 50, 100):
        x = label_w + bar_w * pct / 100
        parts.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 22}" stroke="#e3e6eb"/>'
                     f'<text x="{x:.1f}" y="{height - 8}" fill="#5d6878" text-anchor="middle">{pct}%</text>')
    for i, t in enumerate(themes):
        y = 6 + i * row
        pct = t.percent
        color = "#137a4b" if pct is not None and pct >= 80 else "#9a6200" if pct is not None and pct >= 40 else "#b42318"
        label = escape(f"{t.code} {t.title}"[:44])
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" fill="#18202b">{label}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="14" rx="3" fill="#eef0f3"/>')
        if pct:
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * pct / 100:.1f}" height="14" rx="3" fill="{color}"/>')
        text = "n/a" if pct is None else f"{cov.percent_text(pct)} ({t.covered}/{t.applicable})"
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 14}" fill="#5d6878">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _evidence_file(ev: Evidence) -> tuple[str, bytes]:
    if ev.kind == Evidence.Kind.UPLOAD:
        path = services.upload_path(ev)
        if not path.is_file():
            raise ExportError(f"evidence {ev.pk} ({ev.title}): the stored file is missing")
        data = path.read_bytes()
        name = f"evidence/{ev.pk}/{safe_segment(ev.file_name)}"
    else:
        data = canonical_bytes(ev.content)
        name = f"evidence/{ev.pk}.json"
    if hashlib.sha256(data).hexdigest() != ev.sha256:
        raise ExportError(f"evidence {ev.pk} ({ev.title}) no longer matches the SHA-256 recorded when it was collected")
    return name, data


def run(packet: Packet, *, now: datetime) -> Packet:
    from witness import keys
    from witness import services as witness

    fw = packet.framework
    start = services.day_start(packet.period_start)
    end = min(services.day_end(packet.period_end), now)
    end = max(end, start + timedelta(seconds=1))
    services.packet_progress(packet.pk, 5, "Collecting evidence from the providers")
    services.evidence_collect(actor="compliance.packet", period_start=start, period_end=end, now=now)

    services.packet_progress(packet.pk, 35, "Computing coverage and gaps")
    controls = list(fw.controls.select_related("theme", "owner").order_by("order"))
    assessments = services.assess_controls(controls, period_end=end, period_start=start)
    themes = cov.theme_coverage(assessments.values(), list(fw.themes.order_by("order").values_list("code", "title")))
    overall = cov.overall(themes)
    open_gaps = {g.control_id: g for g in Gap.objects.filter(control__framework=fw, status__in=("open", "in_progress"))
                 .select_related("owner")}
    mapped: dict[Any, list[str]] = defaultdict(list)
    for m in ControlMapping.objects.filter(left__framework=fw).select_related("right__framework"):
        mapped[m.left_id].append(f"{m.right.framework.key}:{m.right.ref}")
    for m in ControlMapping.objects.filter(right__framework=fw).select_related("left__framework"):
        mapped[m.right_id].append(f"{m.left.framework.key}:{m.left.ref}")
    links = (EvidenceLink.objects.filter(control__framework=fw, evidence__period_start__lte=end, evidence__period_end__gte=start)
             .select_related("evidence", "evidence__created_by", "control").order_by("evidence__collected_at"))
    by_control: dict[Any, list[Evidence]] = defaultdict(list)
    evidence: dict[Any, Evidence] = {}
    refs_of: dict[Any, list[str]] = defaultdict(list)
    for link in links:
        by_control[link.control_id].append(link.evidence)
        evidence[link.evidence_id] = link.evidence
        refs_of[link.evidence_id].append(link.control.ref)

    files: dict[str, bytes] = {}
    index = []
    items = sorted(evidence.values(), key=lambda e: (e.collected_at, str(e.pk)))
    for i, ev in enumerate(items, 1):
        path, data = _evidence_file(ev)
        files[path] = data
        index.append({
            "id": str(ev.pk), "kind": ev.kind, "title": ev.title, "path": path, "sha256": ev.sha256, "size": len(data),
            "provider": {"id": ev.provider_id, "version": ev.provider_version} if ev.kind == Evidence.Kind.COLLECTED else None,
            "source_ref": ev.source_ref or None, "period": {"start": ev.period_start.isoformat(), "end": ev.period_end.isoformat()},
            "collected_at": ev.collected_at.isoformat(), "created_by": ev.created_by.get_username() if ev.created_by else None,
            "file_name": ev.file_name or None, "content_type": ev.content_type or None, "url": ev.url or None,
            "controls": sorted(set(refs_of[ev.pk])),
        })
        if i % 20 == 0 or i == len(items):
            services.packet_progress(packet.pk, 40 + int(35 * i / max(1, len(items))), f"Writing evidence {i} of {len(items)}")
    files["evidence/index.json"] = _json({"schema": SCHEMA, "items": index})

    control_rows, gap_rows = [], []
    for c in controls:
        a = assessments[c.pk]
        window_items = [e for e in by_control.get(c.pk, []) if cov.covers(e.period_start, e.period_end, a.window)]
        control_rows.append({
            "ref": c.ref, "title": c.title, "theme": c.theme.code, "status": c.status,
            "owner": c.owner.get_username() if c.owner else None, "freshness_days": c.freshness_days,
            "window": {"start": a.window.start.isoformat(), "end": a.window.end.isoformat()},
            "applicable": a.applicable, "sufficient": a.sufficient,
            "evidence": [str(e.pk) for e in window_items], "evidence_in_period": len(by_control.get(c.pk, [])),
            "mapped": sorted(mapped.get(c.pk, [])),
        })
        if a.is_gap:
            g = open_gaps.get(c.pk)
            owner = g.owner if g and g.owner else c.owner
            gap_rows.append({
                "ref": c.ref, "title": c.title, "theme": c.theme.code,
                "owner": owner.get_username() if owner else None,
                "owner_name": (owner.get_full_name() or owner.get_username()) if owner else None,
                "due_date": g.due_date.isoformat() if g else None, "status": g.status if g else "unscheduled",
                "reason": g.reason if g else f"No evidence linked within its {c.freshness_days}-day window ending {end:%Y-%m-%d}.",
            })
    period = {"start": packet.period_start.isoformat(), "end": packet.period_end.isoformat()}
    files["controls.json"] = _json({"schema": SCHEMA, "framework": fw.key, "framework_version": fw.version, "period": period,
                                    "controls": control_rows})
    coverage_doc = {"schema": SCHEMA, "period": period, "evidence_window_end": end.isoformat(),
                    "overall": {"controls": overall.controls, "applicable": overall.applicable, "covered": overall.covered,
                                "percent": overall.percent},
                    "themes": [{"code": t.code, "title": t.title, "controls": t.controls, "applicable": t.applicable,
                                "covered": t.covered, "percent": t.percent, "gaps": t.gaps} for t in themes]}
    files["coverage.json"] = _json(coverage_doc)
    files["gaps.json"] = _json({"schema": SCHEMA, "period": period, "gaps": gap_rows})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ref", "title", "theme", "owner", "due_date", "status", "reason"])
    for g in gap_rows:
        writer.writerow([g["ref"], g["title"], g["theme"], g["owner"] or "", g["due_date"] or "", g["status"], g["reason"]])
    files["gaps.csv"] = out.getvalue().encode()

    services.packet_progress(packet.pk, 80, "Rendering the report")
    signer = keys.service_signer(services.SIGNING_SERVICE)
    key_string = signer.verifier().key_string
    meta = {
        "id": str(packet.pk), "title": packet.title or f"{fw.name} evidence packet",
        "framework": {"key": fw.key, "name": fw.name, "version": fw.version, "source_digest": fw.source_digest},
        "version": packet.version, "period": period, "generated_at": now.isoformat(),
        "generated_by": packet.created_by.get_username() if packet.created_by else "system",
        "coverage": {"applicable": overall.applicable, "covered": overall.covered, "gaps": len(gap_rows)},
    }
    theme_rows = []
    for t in themes:
        theme_rows.append({"theme": t, "controls": [(c, assessments[c.pk], len(by_control.get(c.pk, []))) for c in controls
                                                    if c.theme.code == t.code]})
    files["report.html"] = render_to_string("compliance/report.html", {
        "packet": packet, "meta": meta, "framework": fw, "themes": themes, "overall": overall, "theme_rows": theme_rows,
        "gaps": gap_rows, "evidence": index, "chart": svg_bars(themes), "key_string": key_string,
        "log_key": keys.log_signer().verifier().key_string, "generated_at": now, "window_end": end,
    }).encode()
    files["README.txt"] = render_to_string("compliance/packet_readme.txt", {
        "meta": meta, "key_string": key_string, "log_key": keys.log_signer().verifier().key_string}).encode()

    services.packet_progress(packet.pk, 88, "Signing the manifest")
    built = build_packet(files=files, packet=meta, signer=signer)

    services.packet_progress(packet.pk, 92, "Logging the packet digest in the witness log")
    entry = witness.statement_append(stype="compliance.packet", body=statement_body(built.manifest, built.packet_digest),
                                     service=services.SIGNING_SERVICE, wait=True)
    if entry.index is None:
        witness.sequence_until_idle()
        entry.refresh_from_db()
    proof = witness.inclusion_proof(leaf_hash=entry.leaf_hash)
    data = attach_inclusion(built.data, {"statement": bytes(entry.payload).decode(), "leaf_index": proof["leaf_index"],
                                         "tree_size": proof["tree_size"], "proof": proof["proof"], "checkpoint": proof["checkpoint"]})

    services.packet_progress(packet.pk, 97, "Storing the packet")
    name = f"{packet.pk}.zip"
    directory = services.storage_dir("packets")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, directory / name)
    except BaseException:
        os.unlink(tmp)
        raise
    summary = {"controls": overall.controls, "applicable": overall.applicable, "covered": overall.covered,
               "percent": overall.percent, "gaps": len(gap_rows), "evidence": len(index),
               "themes": [{"code": t.code, "title": t.title, "percent": t.percent, "covered": t.covered,
                           "applicable": t.applicable} for t in themes]}
    with transaction.atomic():
        Packet.objects.filter(pk=packet.pk).update(
            status=Packet.Status.DONE, progress=100, step="Exported", finished_at=timezone.now(), file_name=name,
            size=len(data), sha256=hashlib.sha256(data).hexdigest(), packet_digest=built.packet_digest,
            files_count=len(files), summary=summary, witness_leaf_hash=entry.leaf_hash, witness_index=entry.index, error="")
        audit_record(actor="compliance.packet", action="compliance.packet.exported", obj=packet,
                     details={"packet_digest": built.packet_digest, "files": len(files), "witness_index": entry.index,
                              "coverage": f"{overall.covered}/{overall.applicable}", "gaps": len(gap_rows)})
    packet.refresh_from_db()
    return packet

