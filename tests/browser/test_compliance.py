"""The compliance workspace in a real browser: load the frameworks, collect evidence, upload a
screenshot to a control, filter the gap list, export a packet with its progress bar on the worker,
verify and download it; then the auditor's read-only view."""

import hashlib
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from compliance import services
from compliance.core.packet import verify_packet
from compliance.models import Control, Evidence, Packet
from tests.browser.conftest import screenshot
from tests.compliance.support import png_bytes
from witness.tlog.note import Ed25519Verifier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compliance_workspace_end_to_end(world, new_page, celery_worker, tmp_path):
    from oncall import services as oncall
    from witness import services as witness

    page = new_page(world.users["compliance"])
    page.goto("/compliance/")
    expect(page.locator("[data-testid=workspace-compliance]")).to_contain_text("No frameworks loaded yet")
    screenshot(page, "compliance-empty")
    page.click("[data-testid=load-frameworks]")
    expect(page.locator("[data-testid=framework-card-soc2]")).to_contain_text("61 controls in 13 themes")
    expect(page.locator("[data-testid=framework-card-iso27001]")).to_contain_text("93 controls in 4 themes")
    expect(page.locator("[data-testid=coverage-iso27001]")).to_have_text("0%")

    # something to collect: a build record, an on-call drill, a resolved incident, SLI events
    artifact = tmp_path / "trustfabric.whl"
    artifact.write_bytes(b"wheel")
    witness.record_build(commit="ef" * 20, artifacts=[str(artifact)], actor="ci")
    now = timezone.now()
    drill = oncall.drill_start(scenario="burn-rate", actor="tests", now=now - timedelta(minutes=30))
    oncall.incident_acknowledge(actor=world.users["oncall"], incident=drill.incident, now=now - timedelta(minutes=26))
    oncall.drill_finish(drill=drill, now=now - timedelta(minutes=25))
    oncall.slo_ensure_defaults()
    oncall.sli_record(slo="lac.decide.availability", good=5000, total=5000, at=now - timedelta(minutes=5))
    page.select_option("#c-days", "7")
    page.click("[data-testid=collect-now]")
    expect(page.locator(".msg-success")).to_contain_text("new evidence item(s)")
    expect(page.locator("[data-testid=recent-evidence]")).to_contain_text("Build record efefefefefef")
    expect(page.locator("[data-testid=recent-evidence]")).to_contain_text("On-call drill burn-rate")
    expect(page.locator("[data-testid=providers]")).to_contain_text("witness.builds v1")
    screenshot(page, "compliance-home")

    # framework page: themes, controls, coverage chart drawn by plotly
    page.click("[data-testid=framework-card-soc2] h3 a")
    expect(page.locator("h1")).to_have_text("SOC 2 Trust Services Criteria")
    expect(page.locator("[data-testid=coverage-chart] .main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=control-row-CC8\\.1]")).to_contain_text("current")
    expect(page.locator("[data-testid=control-row-CC6\\.1]")).to_contain_text("gap")
    screenshot(page, "compliance-framework")

    # control page: upload a screenshot, set the owner and status
    page.click("[data-testid=control-row-CC6\\.1] a")
    expect(page.locator("[data-testid=sufficiency]")).to_have_text("gap")
    shot = png_bytes(64, 40, (19, 122, 75))
    page.set_input_files("#u-file", files=[{"name": "mfa-enforced.png", "mimeType": "image/png", "buffer": shot}])
    page.fill("#u-title", "MFA enforced for every operator account")
    page.click("[data-testid=upload-submit]")
    expect(page.locator(".msg-success")).to_contain_text("File uploaded, hashed and linked.")
    expect(page.locator("[data-testid=sufficiency]")).to_have_text("sufficient")
    expect(page.locator("[data-testid=control-evidence]")).to_contain_text("MFA enforced for every operator account")
    page.select_option("#c-owner", str(world.users["compliance"].pk))
    page.select_option("#c-status", "implemented")
    page.click("[data-testid=control-save]")
    expect(page.locator(".page-head [data-testid=control-status]")).to_have_text("Implemented")
    ctl = Control.objects.get(framework__key="soc2", ref="CC6.1")
    assert ctl.owner == world.users["compliance"] and ctl.status == "implemented"
    # a wrong file type is refused with its code, and nothing is stored
    page.set_input_files("#u-file", files=[{"name": "tool.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00" + b"\x00" * 64}])
    page.click("[data-testid=upload-submit]")
    expect(page.locator(".msg-error")).to_contain_text("upload_type_unsupported")
    assert Evidence.objects.filter(kind="upload").count() == 1
    page.goto(f"/compliance/controls/{ctl.pk}/")
    screenshot(page, "compliance-control")

    # evidence page: hash and integrity
    page.click("[data-testid=control-evidence] a:has-text('MFA enforced')")
    expect(page.locator("[data-testid=evidence-sha]")).to_have_text(hashlib.sha256(shot).hexdigest())
    expect(page.locator("[data-testid=integrity]")).to_have_text("stored file matches")
    screenshot(page, "compliance-evidence")

    # gaps: filter by framework and due date (htmx swaps the table)
    page.goto("/compliance/gaps/")
    page.select_option("#f-fw", "iso27001")
    expect(page.locator("[data-testid=gap-row-A\\.5\\.1]")).to_be_visible()
    expect(page.locator("[data-testid=gap-row-CC1\\.1]")).to_have_count(0)
    screenshot(page, "compliance-gaps")
    page.select_option("#f-due", "overdue")
    expect(page.locator("[data-testid=gap-table]")).to_have_count(0)  # nothing is overdue yet
    expect(page.locator("#gap-table")).to_contain_text("No gaps match")

    # packets: create and export; the progress bar follows the worker; then verify and download
    page.goto("/compliance/packets/")
    soc2 = str(ctl.framework_id)
    page.select_option("#p-fw", soc2)
    page.fill("#p-start", (now - timedelta(days=30)).date().isoformat())
    page.fill("#p-end", now.date().isoformat())
    page.click("[data-testid=packet-create-export]")
    expect(page.locator("[data-testid=packet-summary]")).to_be_visible(timeout=90_000)  # the page reloads when done
    packet = Packet.objects.get()
    assert packet.status == "done" and packet.version == "0.9", packet.error
    expect(page.locator("[data-testid=packet-digest]")).to_have_text(packet.packet_digest)
    page.click("[data-testid=packet-verify]")
    expect(page.locator("[data-testid=verify-verdict]")).to_contain_text("Valid")
    screenshot(page, "compliance-packet")
    with page.expect_download() as dl:
        page.click("[data-testid=packet-download]")
    data = Path(dl.value.path()).read_bytes()
    report = verify_packet(data, key=Ed25519Verifier.from_key_string(services.signing_key_string()),
                           log_key=Ed25519Verifier.from_key_string(services.log_key_string()), require_witness=True)
    assert report.ok, report.as_dict()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        report_html = z.read("report.html").decode()
    assert "MFA enforced for every operator account" in report_html
    rp = new_page(world.users["compliance"])
    rp.set_content(report_html)
    screenshot(rp, "compliance-packet-report")

    # the auditor: packets and evidence, nothing to change
    auditor = new_page(world.users["auditor"])
    auditor.goto("/compliance/packets/")
    expect(auditor.locator("[data-testid=packet-table]")).to_contain_text("Exported")
    expect(auditor.locator("[data-testid=packet-form]")).to_have_count(0)
    auditor.goto(f"/compliance/packets/{packet.pk}/")
    expect(auditor.locator("[data-testid=packet-download]")).to_be_visible()
    expect(auditor.locator("[data-testid=packet-export]")).to_have_count(0)
    auditor.goto(f"/compliance/controls/{ctl.pk}/")
    expect(auditor.locator("[data-testid=control-evidence]")).to_contain_text("MFA enforced")
    expect(auditor.locator("[data-testid=upload-form]")).to_have_count(0)
    screenshot(auditor, "compliance-auditor-control")
    token = auditor.locator("meta[name=csrf-token]").get_attribute("content")
    denied = auditor.request.post(f"/compliance/controls/{ctl.pk}/edit/", form={"status": "not_started"},
                                  headers={"X-CSRFToken": token, "Referer": auditor.url})
    assert denied.status == 403 and "Your roles do not include this action" in denied.text()
    ctl.refresh_from_db()
    assert ctl.status == "implemented"


def test_partner_cannot_find_the_workspace(world, new_page):
    page = new_page(world.users["partner_user"])
    assert page.goto("/compliance/").status == 404
    expect(page.locator("[data-nav=compliance]")).to_have_count(0)


def test_an_owner_sees_the_overdue_notice_arrive_live(world, new_page):
    from compliance.models import Gap

    services.frameworks_load(actor="tests")
    services.gaps_refresh(actor="tests")
    me = world.users["compliance"]
    Gap.objects.filter(control__framework__key="iso27001", control__ref="A.5.24").update(
        owner=me, due_date=timezone.now().date() - timedelta(days=2))
    page = new_page(me)
    page.goto("/compliance/gaps/?owner=me&due=overdue")
    expect(page.locator("[data-testid=gap-row-A\\.5\\.24]")).to_contain_text("overdue")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    services.gaps_notify_overdue()
    banner = page.locator("[data-testid=banner-item]")
    expect(banner).to_contain_text("1 overdue compliance gap you own: ISO27001 A.5.24.")
    screenshot(page, "compliance-gaps-overdue-notice")
    page.goto("/compliance/")
    notices = page.locator("[data-testid=owner-notices]")
    expect(notices).to_contain_text("ISO27001 A.5.24")
    notices.locator("button:has-text('Dismiss')").click()
    expect(page.locator("[data-testid=owner-notices]")).to_have_count(0)
