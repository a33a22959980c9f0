"""Evidence ZK-TX offers to the compliance workspace (registered at start-up; see trustfabric/evidence.py):
sealed audit bundles, the partners' sign-offs on them, and appeals."""

from __future__ import annotations

from trustfabric.evidence import EvidenceDraft, Provider, period_ref, register


def collect_bundles(period_start, period_end) -> list[EvidenceDraft]:
    """One item per audit bundle sealed in the period (digest, witness statement, files, partners)."""
    from zktx.models import AuditBundle

    out = []
    for b in AuditBundle.objects.filter(status=AuditBundle.Status.READY, ready_at__gte=period_start,
                                        ready_at__lte=period_end).select_related("run").order_by("ready_at"):
        out.append(EvidenceDraft(
            source_ref=f"bundle:{b.bundle_digest}",
            title=f"ZK-TX audit bundle of run {b.run.label}: {b.file_count} files, witnessed",
            summary="Signed tarball (manifest with SHA-256 of every file, Ed25519 exchange signature, BLS aggregate "
                    "acceptance), its digest logged as a zktx.bundle witness statement; verify with python -m zktx.verify_bundle.",
            content={"bundle_digest": b.bundle_digest, "schema": "zktx-bundle/1", "run": b.run.label, "run_id": str(b.run_id),
                     "files": b.file_count, "size": b.size, "witness_leaf_hash": b.witness_leaf_hash,
                     "partners": [p.get("id") for p in b.partners or []], "ready_at": b.ready_at},
            period_start=b.run.started_at, period_end=b.ready_at,
        ))
    return out


def collect_signoffs(period_start, period_end) -> list[EvidenceDraft]:
    """One item per bundle with the partners' acceptances (who signed, when, with which BLS key)."""
    from zktx.models import AuditBundle

    out = []
    for b in AuditBundle.objects.filter(status=AuditBundle.Status.READY, ready_at__gte=period_start,
                                        ready_at__lte=period_end).select_related("run").order_by("ready_at"):
        keys = {p.get("id"): p.get("bls_public", "")[:16] for p in b.partners or []}
        signed = {pid: {"at": acc.get("at"), "by": acc.get("by"), "bls_key": keys.get(pid)} for pid, acc in (b.acceptances or {}).items()}
        out.append(EvidenceDraft(
            source_ref=f"signoff:{b.bundle_digest}",
            title=f"Partner sign-off of run {b.run.label}: {len(signed)} of {len(keys)} partners",
            summary="Each partner signed the bundle's manifest core with its BLS12-381 key (proof of possession verified at "
                    "registration); the exchange aggregated the signatures into the sealed manifest.",
            content={"bundle_digest": b.bundle_digest, "run": b.run.label, "partners": sorted(keys), "acceptances": signed,
                     "complete": bool(keys) and set(signed) == set(keys)},
            period_start=b.run.started_at, period_end=b.ready_at,
        ))
    return out


def collect_appeals(period_start, period_end) -> list[EvidenceDraft]:
    """One item per period: appeals filed and decided, SLA kept or escalated."""
    from zktx.models import Appeal

    rows = list(Appeal.objects.filter(filed_at__gte=period_start, filed_at__lte=period_end).order_by("filed_at"))
    if not rows:
        return []
    return [EvidenceDraft(
        source_ref=period_ref(period_start, period_end),
        title=f"ZK-TX appeals: {len(rows)} filed, {sum(a.status == 'resolved' for a in rows)} resolved",
        summary="Appeals on verdicts: re-verification, consent to re-runs, resolutions and the 24 h SLA (escalated through on-call).",
        content={"appeals": [{"filed_at": a.filed_at, "status": a.status, "resolution": a.resolution, "sla_due_at": a.sla_due_at,
                              "escalated_at": a.escalated_at, "resolved_at": a.resolved_at, "drill": a.is_drill} for a in rows[:500]]},
        period_start=period_start, period_end=period_end,
    )]


register(Provider(
    id="zktx.audit_bundles", title="ZK-TX audit bundles", version="1", app="zktx", collect=collect_bundles,
    description="Sealed, signed and witnessed audit bundles of pilot runs.",
    controls={"soc2": ["CC7.2", "CC4.1", "C1.1", "P6.2"], "iso27001": ["A.5.28", "A.5.33", "A.8.15", "A.5.14"]},
))
register(Provider(
    id="zktx.partner_signoffs", title="ZK-TX partner sign-offs", version="1", app="zktx", collect=collect_signoffs,
    description="Partners' BLS acceptances of each audit bundle.",
    controls={"soc2": ["CC9.2", "CC2.3", "P6.4"], "iso27001": ["A.5.19", "A.5.20", "A.5.22"]},
))
register(Provider(
    id="zktx.appeals", title="ZK-TX appeals", version="1", app="zktx", collect=collect_appeals,
    description="Appeals filed and decided in the period, with their SLA.",
    controls={"soc2": ["P8.1", "CC2.3"], "iso27001": ["A.5.26"]},
))
