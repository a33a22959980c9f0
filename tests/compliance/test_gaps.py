"""Gaps: which controls lack sufficient current evidence, how they open and close, the list's
filters, edits, and the daily notice to owners of overdue gaps."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from compliance import services
from compliance.models import Gap, OwnerNotice
from trustfabric.errors import ServiceError

pytestmark = pytest.mark.django_db


def open_gap(control):
    return Gap.objects.filter(control=control, status__in=("open", "in_progress")).first()


def link(control, actor="tests", days_ago=0):
    date = (timezone.now() - timedelta(days=days_ago)).date()
    return services.runbook_link_create(actor=actor, control=control, url="https://runbooks.example/change-management",
                                        title="Change management runbook", evidence_date=date)


def test_every_control_without_current_evidence_is_a_gap(frameworks):
    r = services.gaps_refresh(actor="tests")
    assert (r["opened"], r["closed"], r["open"]) == (154, 0, 154)
    g = Gap.objects.select_related("control").first()
    assert g.owner is None and g.due_date == timezone.now().date() + timedelta(days=services.GAP_DUE_DAYS)
    assert "90 days" in g.reason
    assert services.gaps_refresh(actor="tests") == {"opened": 0, "closed": 0, "open": 154}  # idempotent


def test_current_evidence_closes_the_gap_and_unlinking_reopens_it(frameworks, control):
    services.gaps_refresh(actor="tests")
    assert open_gap(control) is not None
    ev = link(control)
    assert open_gap(control) is None
    closed = Gap.objects.get(control=control)
    assert closed.status == "resolved" and closed.resolution == "Current evidence is linked."
    assert AuditEvent.objects.filter(action="compliance.gap.close", object_id=str(closed.pk)).exists()
    services.evidence_link_remove(actor="tests", control=control, evidence=ev)
    assert open_gap(control) is not None and Gap.objects.filter(control=control).count() == 2


def test_stale_evidence_is_not_sufficient_until_the_window_allows_it(frameworks, control, world):
    link(control, days_ago=200)
    services.gaps_refresh(actor="tests")
    assert open_gap(control) is not None
    services.control_update(actor=world.users["compliance"], control=control, freshness_days=365)
    assert open_gap(control) is None


def test_not_applicable_controls_are_no_gaps(frameworks, world):
    ctl = frameworks["iso27001"].controls.get(ref="A.7.4")  # physical monitoring: no premises of our own
    services.gaps_refresh(actor="tests")
    services.control_update(actor=world.users["compliance"], control=ctl, status="not_applicable")
    assert open_gap(ctl) is None and Gap.objects.get(control=ctl).resolution == "Control marked not applicable."
    assert services.gaps_refresh(actor="tests")["opened"] == 0


def test_filters_by_framework_owner_due_and_status(frameworks, world):
    services.gaps_refresh(actor="tests")
    me = world.users["compliance"]
    soc = frameworks["soc2"]
    today = timezone.now().date()
    g1 = Gap.objects.get(control__framework=soc, control__ref="CC6.1")
    g2 = Gap.objects.get(control__framework=soc, control__ref="CC6.2")
    services.gap_update(actor=me, gap=g1, owner_id=me.pk, due_date=today + timedelta(days=3))
    services.gap_update(actor=me, gap=g2, owner_id=world.users["oncall"].pk)
    Gap.objects.filter(pk=g2.pk).update(due_date=today - timedelta(days=2))  # overdue (set past the service's checks)
    assert services.gaps_filtered(framework="iso27001").count() == 93
    assert services.gaps_filtered(framework="soc2").count() == 61
    assert list(services.gaps_filtered(owner="me", user=me)) == [g1]
    assert list(services.gaps_filtered(owner=str(world.users["oncall"].pk))) == [g2]
    assert services.gaps_filtered(owner="none").count() == 152
    assert list(services.gaps_filtered(due="overdue")) == [g2]
    assert list(services.gaps_filtered(due="7")) == [g2, g1]
    assert services.gaps_filtered(due=(today + timedelta(days=3)).isoformat()).count() == 2
    services.gap_update(actor=me, gap=g1, status="risk_accepted", resolution="Covered by the parent company's programme")
    assert services.gaps_filtered(status="closed").get() == g1
    assert services.gaps_filtered(status="all", framework="soc2").count() == 61


def test_gap_edits_are_checked_and_audited(frameworks, world):
    services.gaps_refresh(actor="tests")
    me = world.users["compliance"]
    gap = Gap.objects.first()
    with pytest.raises(ServiceError) as err:
        services.gap_update(actor=me, gap=gap, status="resolved")
    assert err.value.code == "gap_resolution_required"
    with pytest.raises(ServiceError) as err:
        services.gap_update(actor=me, gap=gap, owner_id=world.users["partner_user"].pk)
    assert err.value.code == "owner_invalid"
    with pytest.raises(ServiceError) as err:
        services.gap_update(actor=me, gap=gap, due_date=gap.opened_at.date() - timedelta(days=1))
    assert err.value.code == "gap_due_invalid"
    with pytest.raises(ServiceError) as err:
        services.gap_update(actor=world.users["auditor"], gap=gap, owner_id=me.pk)
    assert err.value.code == "compliance_forbidden"
    services.gap_update(actor=me, gap=gap, owner_id=me.pk, status="in_progress")
    gap.refresh_from_db()
    assert gap.owner == me and gap.status == "in_progress"
    ev = AuditEvent.objects.filter(action="compliance.gap.update", object_id=str(gap.pk)).get()
    assert ev.details["owner"] == "u_compliance" and ev.actor == me


def test_overdue_gaps_notify_owners_once_a_day(frameworks, world, mailoutbox):
    services.gaps_refresh(actor="tests")
    now = timezone.now().replace(hour=9, minute=0)  # a fixed time of day: "once a day" must not cross midnight
    owned = Gap.objects.get(control__ref="CC7.4")
    services.gap_update(actor="tests", gap=owned, owner_id=world.users["admin"].pk)
    Gap.objects.filter(pk=owned.pk).update(due_date=now.date() - timedelta(days=1))
    unowned = Gap.objects.get(control__ref="A.5.24")
    Gap.objects.filter(pk=unowned.pk).update(due_date=now.date() - timedelta(days=5))
    r = services.gaps_notify_overdue(now=now)
    assert r == {"notified": 2, "gaps": 2}
    admin_notice = OwnerNotice.objects.get(user=world.users["admin"])
    assert admin_notice.gap == owned and admin_notice.message == "1 overdue compliance gap you own: SOC2 CC7.4."
    staff_notice = OwnerNotice.objects.get(user=world.users["compliance"])  # unowned gaps go to compliance staff
    assert "without an owner" in staff_notice.message and "ISO27001 A.5.24" in staff_notice.message
    assert sorted(m.to[0] for m in mailoutbox) == ["u_admin@localhost", "u_compliance@localhost"]
    assert services.gaps_notify_overdue(now=now + timedelta(hours=2)) == {"notified": 0, "gaps": 0}  # once a day
    assert services.gaps_notify_overdue(now=now + timedelta(days=1))["gaps"] == 2  # and again the next day
    assert AuditEvent.objects.filter(action="compliance.gaps.notify").count() == 2


def test_dismissing_a_notice_is_for_its_owner_only(frameworks, world):
    n = OwnerNotice.objects.create(user=world.users["admin"], message="x", created_at=timezone.now())
    with pytest.raises(ServiceError):
        services.notice_dismiss(user=world.users["compliance"], notice_id=n.pk)
    assert services.notice_dismiss(user=world.users["admin"], notice_id=n.pk).read_at is not None


def test_owner_must_be_an_operator_given_by_id(frameworks, world, client):
    services.gaps_refresh(actor="tests")
    gap = Gap.objects.first()
    client.force_login(world.users["compliance"])
    for bad in ("abc", "999999", str(world.users["partner_user"].pk)):
        r = client.post(f"/compliance/gaps/{gap.pk}/", {"owner": bad})
        assert r.status_code == 400 and b"owner_invalid" in r.content, bad
    r = client.post(f"/compliance/gaps/{gap.pk}/", {"owner": str(world.users["auditor"].pk)})
    assert r.status_code == 400 and b"owner_is_auditor" in r.content  # auditors review; they do not own
    assert client.post(f"/compliance/gaps/{gap.pk}/", {"owner": str(world.users["oncall"].pk)}).status_code == 302
    gap.refresh_from_db()
    assert gap.owner == world.users["oncall"]
