"""``manage.py zktx pilot run A|B`` end to end at small sizes (the same code path as the full pilots)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts import services as accounts
from accounts.models import ApiToken
from tests.conftest import PASSWORD
from zktx.models import AuditBundle, PilotRun, Query, TenantQuota
from zktx.reports import run_checklist, run_stats

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(world):
    """The demo partners the pilots use (seed_demo would seed every workspace: too slow here)."""
    for slug, name in (("northwind", "Northwind Bank"), ("contoso", "Contoso Telecom")):
        org = accounts.organization_create(actor="tests", name=name, kind="partner", slug=slug)
        accounts.user_create(actor="tests", organization=org, username=slug, password=PASSWORD, roles=["partner_user"])
    return world


def test_pilot_a_runs_end_to_end_with_a_verified_bundle(seeded, tmp_path, capsys):
    call_command("zktx", "pilot", "run", "A", "--holder-size", "150", "--queries", "4", "--state", str(tmp_path))
    out = capsys.readouterr().out
    assert "ground truth: 4/4 verdicts correct; 4/4 verified by both partners" in out
    assert "offline verification OK" in out and "batch verification: 4 transcripts" in out
    run = PilotRun.objects.get(name="A")
    assert run.status == "finished" and run.summary["correct"] == 4
    bundle = AuditBundle.objects.get(run=run)
    assert bundle.status == "ready" and set(bundle.acceptances) == {"contoso", "northwind"}
    assert run.summary["bundle"]["checks"]["selector_scan"] == "pass"  # scanned against every raw selector
    checklist = run_checklist(run)  # what the console's sign-off view shows
    assert [i["item"] for i in checklist if not i["ok"]] == [], checklist
    stats = run_stats(run)
    assert stats["verdicts"] == 4 and stats["tenants"]["contoso"]["latency_p95_ms"] > 0
    tokens = ApiToken.objects.filter(name="zktx pilot A")  # operator + two partners, revoked at the end
    assert tokens.count() == 3 and {t.status for t in tokens} == {"revoked"}


def test_pilot_b_throttles_the_burst_and_keeps_the_light_tenant_flowing(seeded, tmp_path, capsys):
    before = TenantQuota.objects.filter(organization__slug="contoso").first()
    call_command("zktx", "pilot", "run", "B", "--holder-size", "120", "--queries", "8", "--query-size", "32",
                 "--light-queries", "2", "--burst", "3", "--rate", "600", "--capacity", "2", "--no-bundle",
                 "--state", str(tmp_path))
    out = capsys.readouterr().out
    assert "ground truth: 10/10 verdicts correct" in out
    run = PilotRun.objects.get(name="B")
    tenants = run.summary["tenants"]
    assert tenants["contoso"]["verdicts"] == 8 and tenants["northwind"]["verdicts"] == 2
    assert run.summary["throttled"]["contoso"] >= 1  # the burst met its bucket (429 + Retry-After)
    assert tenants["northwind"]["first_verdict_rank"] == 1  # fair queueing: the light tenant is not starved
    assert run.summary["fifo_first_light"] > 1
    assert Query.objects.filter(tenant__slug="northwind", status="verdict").count() == 2
    quota = TenantQuota.objects.get(organization__slug="contoso")  # the pilot's quota change was undone
    assert (quota.burst, quota.rate_per_minute) == ((before.burst, before.rate_per_minute) if before else (20, 60.0))
