"""Who sees and changes what: compliance staff edit; auditors read packets and evidence (and the
pages around them) and get 403 on every change; partners get 404; every page renders."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance import services
from compliance.models import Control, Evidence, EvidenceLink, Gap, OwnerNotice, Packet
from trustfabric.errors import ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(frameworks, control):
    ev = services.runbook_link_create(actor="tests", control=control, url="https://runbooks.example/cab", title="CAB runbook")
    services.gaps_refresh(actor="tests")
    gap = Gap.objects.filter(status="open").first()
    today = timezone.now().date()
    packet = services.packet_create(actor="tests", framework=frameworks["soc2"], period_start=today - timedelta(days=7), period_end=today)
    return {"fw": frameworks["soc2"], "control": control, "ev": ev, "gap": gap, "packet": packet}


def read_pages(o):
    return ["/compliance/", f"/compliance/frameworks/{o['fw'].pk}/", f"/compliance/frameworks/{o['fw'].pk}/?status=gap",
            f"/compliance/controls/{o['control'].pk}/", "/compliance/evidence/", "/compliance/evidence/?kind=link&q=cab",
            f"/compliance/evidence/{o['ev'].pk}/", f"/compliance/evidence/{o['ev'].pk}/download/", "/compliance/gaps/",
            "/compliance/gaps/?framework=soc2&owner=none&due=30&status=all", "/compliance/packets/",
            f"/compliance/packets/{o['packet'].pk}/", "/compliance/key/"]


def write_requests(o, user):
    notice = OwnerNotice.objects.create(user=user, message="x", created_at=timezone.now())
    c, g, p = o["control"].pk, o["gap"].pk, o["packet"].pk
    return [("/compliance/frameworks/load/", {}), ("/compliance/collect/", {"days": "1"}),
            (f"/compliance/controls/{c}/edit/", {"status": "implemented"}),
            (f"/compliance/controls/{c}/link/", {"evidence": str(o["ev"].pk)}),
            (f"/compliance/controls/{c}/unlink/", {"evidence": str(o["ev"].pk)}),
            (f"/compliance/controls/{c}/upload/", {}), (f"/compliance/controls/{c}/runbook/", {"url": "https://x.example/"}),
            ("/compliance/gaps/refresh/", {}), (f"/compliance/gaps/{g}/", {"status": "in_progress"}),
            ("/compliance/packets/new/", {"framework": str(o["fw"].pk)}), (f"/compliance/packets/{p}/export/", {}),
            ], notice


@pytest.mark.parametrize("role", ["compliance", "admin", "auditor"])
def test_every_page_renders_for_readers(client, world, objects, role):
    client.force_login(world.users[role])
    for url in read_pages(objects):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/compliance/packets/{objects['packet'].pk}/verify/").status_code == 409  # not exported yet


def test_auditors_see_no_edit_controls(client, world, objects):
    client.force_login(world.users["auditor"])
    html = client.get(f"/compliance/controls/{objects['control'].pk}/").content.decode()
    assert "CAB runbook" in html
    for marker in ('data-testid="upload-form"', 'data-testid="control-edit"', 'data-testid="link-form"', "Unlink"):
        assert marker not in html
    home = client.get("/compliance/").content.decode()
    assert 'data-testid="collect-now"' not in home and 'data-testid="framework-card-soc2"' in home
    assert 'data-testid="packet-form"' not in client.get("/compliance/packets/").content.decode()
    assert "Edit</summary>" not in client.get("/compliance/gaps/").content.decode()


def test_auditors_get_403_on_every_change_and_nothing_changes(client, world, objects):
    auditor = world.users["auditor"]
    client.force_login(auditor)
    before = (Control.objects.filter(status="implemented").count(), Evidence.objects.count(), EvidenceLink.objects.count(),
              Gap.objects.filter(status="in_progress").count(), Packet.objects.count(), Packet.objects.filter(status="queued").count())
    requests, notice = write_requests(objects, auditor)
    for url, data in requests:
        assert client.post(url, data).status_code == 403, url
    after = (Control.objects.filter(status="implemented").count(), Evidence.objects.count(), EvidenceLink.objects.count(),
             Gap.objects.filter(status="in_progress").count(), Packet.objects.count(), Packet.objects.filter(status="queued").count())
    assert before == after
    # dismissing one's own notice is not a change to the evidence workspace
    assert client.post(f"/compliance/notices/{notice.pk}/dismiss/").status_code == 302
    # and the services refuse them too, whatever the caller
    with pytest.raises(ServiceError) as err:
        services.control_update(actor=auditor, control=objects["control"], status="implemented")
    assert err.value.code == "compliance_forbidden" and err.value.status == 403


def test_compliance_staff_make_those_changes(client, world, objects):
    client.force_login(world.users["compliance"])
    requests, _ = write_requests(objects, world.users["compliance"])
    codes = {url: client.post(url, data).status_code for url, data in requests}
    assert codes.pop(f"/compliance/controls/{objects['control'].pk}/upload/") == 400  # no file chosen
    assert codes.pop("/compliance/packets/new/") == 400  # no period given
    assert codes.pop(f"/compliance/controls/{objects['control'].pk}/link/") == 409  # already linked
    assert set(codes.values()) == {302}, codes
    assert Control.objects.get(pk=objects["control"].pk).status == "implemented"
    assert Packet.objects.get(pk=objects["packet"].pk).status == "queued"


def test_partners_get_404_everywhere(client, world, objects):
    client.force_login(world.users["partner_user"])
    for url in read_pages(objects):
        assert client.get(url).status_code == 404, url
    requests, _ = write_requests(objects, world.users["admin"])
    for url, data in requests:
        assert client.post(url, data).status_code == 404, url


def test_other_operators_get_403(client, world, objects):
    client.force_login(world.users["oncall"])
    assert client.get("/compliance/").status_code == 403
    assert client.get(f"/compliance/evidence/{objects['ev'].pk}/").status_code == 403
