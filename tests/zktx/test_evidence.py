"""ZK-TX's evidence providers for the compliance workspace: sealed bundles, partner sign-offs, appeals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import services as compliance
from compliance.models import Evidence
from trustfabric import evidence as registry
from zktx.models import Appeal, AuditBundle, Epoch, Pilot, PilotRun, Query

pytestmark = pytest.mark.django_db


def _run(world, *, accepted: int):
    now = timezone.now()
    pilot = Pilot.objects.create(name="E", holder=world.partner_b, querier=world.partner_a, k=3, created_at=now)
    run = PilotRun.objects.create(label="E-run", name="E", started_at=now - timedelta(hours=1))
    run.pilots.add(pilot)
    partners = [{"id": "partner-b", "organization": str(world.partner_b.pk), "bls_public": "ab" * 48, "pop": "cd" * 96},
                {"id": "partner-a", "organization": str(world.partner_a.pk), "bls_public": "ef" * 48, "pop": "01" * 96}]
    acceptances = {p["id"]: {"signature": "00", "at": now.isoformat(), "by": "someone"} for p in partners[:accepted]}
    AuditBundle.objects.create(run=run, status=AuditBundle.Status.READY, partners=partners, acceptances=acceptances,
                               bundle_digest="12" * 32, witness_leaf_hash="34" * 32, file_count=9, size=4096,
                               created_at=now, ready_at=now)
    AuditBundle.objects.create(run=run, status=AuditBundle.Status.FAILED, created_at=now)  # not evidence
    epoch = Epoch.objects.create(pilot=pilot, run=run, number=1, session_id="zs-e", policy=pilot.policy_json(), created_at=now)
    q = Query.objects.create(pilot=pilot, epoch=epoch, run=run, tenant=world.partner_a, query_id="e-q", size=16, cost=16.0,
                             request={}, vstart=0.0, vfinish=16.0, submitted_at=now)
    Appeal.objects.create(query=q, organization=world.partner_a, reason="why", filed_at=now, sla_due_at=now + timedelta(hours=24))
    return run


def test_sealed_bundles_and_signoffs_are_collected(world):
    _run(world, accepted=2)
    now = timezone.now()
    bundles = registry.get("zktx.audit_bundles").collect(now - timedelta(days=1), now + timedelta(minutes=1))
    signoffs = registry.get("zktx.partner_signoffs").collect(now - timedelta(days=1), now + timedelta(minutes=1))
    appeals = registry.get("zktx.appeals").collect(now - timedelta(days=1), now + timedelta(minutes=1))
    assert [b.source_ref for b in bundles] == ["bundle:" + "12" * 32]  # the failed export is not evidence
    assert bundles[0].content["witness_leaf_hash"] == "34" * 32 and bundles[0].content["files"] == 9
    assert signoffs[0].content["complete"] is True and sorted(signoffs[0].content["acceptances"]) == ["partner-a", "partner-b"]
    assert "1 filed, 0 resolved" in appeals[0].title
    assert registry.get("zktx.audit_bundles").collect(now - timedelta(days=3), now - timedelta(days=2)) == []


def test_an_incomplete_signoff_says_so_and_the_workspace_stores_it(world):
    _run(world, accepted=1)
    now = timezone.now()
    signoffs = registry.get("zktx.partner_signoffs").collect(now - timedelta(days=1), now + timedelta(minutes=1))
    assert signoffs[0].content["complete"] is False and "1 of 2 partners" in signoffs[0].title
    compliance.frameworks_load(actor=world.users["compliance"])
    result = compliance.evidence_collect(actor=world.users["compliance"], period_start=now - timedelta(days=1),
                                         period_end=now + timedelta(minutes=1), provider_ids=["zktx.partner_signoffs"])
    assert result["zktx.partner_signoffs"]["new"] == 1 and result["zktx.partner_signoffs"]["links"] > 0
    assert Evidence.objects.filter(provider_id="zktx.partner_signoffs").count() == 1
