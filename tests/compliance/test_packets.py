"""Packets: create, export (the task's body, run here), the signed zip's content, the witness
statement, verification (tampered file and wrong key detected), and refusals."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from compliance import services
from compliance.core.packet import sha256_hex
from compliance.models import Evidence, Gap, Packet
from compliance.verify_packet import main as verify_main
from tests.compliance.support import Upload, png_bytes
from trustfabric.errors import ServiceError
from witness.models import Entry
from witness.tlog.statement import parse_statement

pytestmark = pytest.mark.django_db


def export(packet):
    services.packet_export_start(actor="tests", packet=packet, dispatch=False)
    return services.packet_export(packet_id=packet.pk)


@pytest.fixture
def exported(frameworks, world, control, tmp_path):
    """A SOC 2 packet over the last 30 days with collected, uploaded and linked evidence and a gap with an owner."""
    from witness import services as witness

    artifact = tmp_path / "app.whl"
    artifact.write_bytes(b"wheel")
    witness.record_build(commit="cd" * 20, artifacts=[str(artifact)], actor="tests")
    me = world.users["compliance"]
    services.evidence_upload(actor=me, uploaded=Upload("cab approval.png", png_bytes()), control=control, title="CAB approval")
    services.gaps_refresh(actor="tests")
    gap = Gap.objects.get(control__framework=frameworks["soc2"], control__ref="CC6.1")
    services.gap_update(actor=me, gap=gap, owner_id=world.users["admin"].pk, due_date=timezone.now().date() + timedelta(days=10))
    today = timezone.now().date()
    packet = services.packet_create(actor=me, framework=frameworks["soc2"], period_start=today - timedelta(days=30), period_end=today)
    return export(packet)


def members(packet):
    with zipfile.ZipFile(services.packet_path(packet)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_export_writes_a_signed_logged_packet(exported, world):
    p = exported
    assert p.status == "done" and p.progress == 100 and p.packet_digest and p.witness_index is not None, p.error
    files = members(p)
    assert {"manifest.json", "signature.json", "report.html", "README.txt", "controls.json", "coverage.json", "gaps.json",
            "gaps.csv", "evidence/index.json", "witness/inclusion.json"} <= set(files)
    assert sha256_hex(files["manifest.json"]) == p.packet_digest
    manifest = json.loads(files["manifest.json"])
    assert manifest["packet"]["version"] == "0.9" and manifest["packet"]["framework"]["key"] == "soc2"
    assert manifest["signer"]["key"] == services.signing_key_string()
    # the digest is a compliance.packet statement in the witness log
    entry = Entry.objects.get(stype="compliance.packet")
    body = parse_statement(bytes(entry.payload)).body
    assert body["packet_digest"] == p.packet_digest and body["version"] == "0.9" and entry.index == p.witness_index
    # evidence: the upload byte for byte, collected items as their canonical JSON
    index = json.loads(files["evidence/index.json"])["items"]
    upload = next(i for i in index if i["kind"] == "upload")
    assert files[upload["path"]] == png_bytes() and upload["path"].endswith("/cab_approval.png") and upload["controls"] == ["CC8.1"]
    build = next(i for i in index if i["provider"] and i["provider"]["id"] == "witness.builds")
    assert sha256_hex(files[build["path"]]) == build["sha256"] == Evidence.objects.get(pk=build["id"]).sha256
    # the report: coverage chart, gap list with owners and due dates
    report = files["report.html"].decode()
    assert "<svg" in report and "Coverage per theme" in report and "<script" not in report
    gaps = json.loads(files["gaps.json"])["gaps"]
    cc61 = next(g for g in gaps if g["ref"] == "CC6.1")
    assert cc61["owner"] == "u_admin" and cc61["due_date"] == (timezone.now().date() + timedelta(days=10)).isoformat()
    assert "CC6.1" in report and cc61["due_date"] in report
    controls = {c["ref"]: c for c in json.loads(files["controls.json"])["controls"]}
    assert controls["CC8.1"]["sufficient"] and not controls["CC6.1"]["sufficient"]
    assert "iso27001:A.8.32" in controls["CC8.1"]["mapped"]
    assert p.summary["gaps"] == len(gaps) and p.summary["covered"] == sum(c["sufficient"] for c in controls.values())
    assert {a.action for a in AuditEvent.objects.filter(object_id=str(p.pk))} >= {
        "compliance.packet.create", "compliance.packet.export", "compliance.packet.exported"}


def test_the_stored_packet_verifies_and_tampering_is_detected(exported, tmp_path, capsys):
    report = services.packet_verify(packet=exported)
    assert report.ok and [c.status for c in report.checks] == ["pass"] * 6, report.as_dict()
    path = tmp_path / "packet.zip"
    path.write_bytes(services.packet_path(exported).read_bytes())
    key, log_key = services.signing_key_string(), services.log_key_string()
    assert verify_main([str(path), "--key", key, "--log-key", log_key, "--require-witness"]) == 0
    capsys.readouterr()
    # one changed byte in the gap list
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for i in src.infolist():
            data = src.read(i)
            dst.writestr(i.filename, data.replace(b"CC6.1", b"CC6.9") if i.filename == "gaps.csv" else data)
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(out.getvalue())
    assert verify_main([str(tampered), "--key", key, "--log-key", log_key]) == 1
    assert "gaps.csv: SHA-256 differs" in capsys.readouterr().out
    # the right packet with the wrong key (another service's key of the same log)
    from witness import keys

    assert verify_main([str(path), "--key", keys.verifier_key_string("audit")]) == 1
    assert "signature_bad" in capsys.readouterr().out


def test_export_refuses_evidence_changed_since_collection(frameworks, control):
    ev = services.runbook_link_create(actor="tests", control=control, url="https://runbooks.example/a", title="A")
    Evidence.objects.filter(pk=ev.pk).update(content={**ev.content, "url": "https://evil.example/"})
    today = timezone.now().date()
    p = export(services.packet_create(actor="tests", framework=frameworks["soc2"], period_start=today, period_end=today))
    assert p.status == "failed" and "no longer matches the SHA-256" in p.error and not p.packet_digest
    assert not Entry.objects.filter(stype="compliance.packet").exists()


def test_packet_rules(frameworks, exported):
    fw = frameworks["soc2"]
    with pytest.raises(ServiceError) as err:
        services.packet_create(actor="tests", framework=fw, period_start=exported.period_start, period_end=exported.period_end)
    assert err.value.code == "packet_exists" and err.value.status == 409
    today = timezone.now().date()
    for start, end, version, code in [(today, today - timedelta(days=1), "0.9", "packet_period_invalid"),
                                      (today + timedelta(days=2), today + timedelta(days=3), "0.9", "packet_period_future"),
                                      (today - timedelta(days=2000), today, "0.9", "packet_period_too_long"),
                                      (today, today, "v1!", "packet_version_invalid")]:
        with pytest.raises(ServiceError) as err:
            services.packet_create(actor="tests", framework=fw, period_start=start, period_end=end, version=version)
        assert err.value.code == code
    with pytest.raises(ServiceError) as err:
        services.packet_export_start(actor="tests", packet=exported, dispatch=False)
    assert err.value.code == "packet_exported"
    again = services.packet_create(actor="tests", framework=fw, period_start=exported.period_start,
                                   period_end=exported.period_end, version="0.9.1")
    services.packet_export_start(actor="tests", packet=again, dispatch=False)
    with pytest.raises(ServiceError) as err:
        services.packet_export_start(actor="tests", packet=again, dispatch=False)
    assert err.value.code == "packet_export_running"
    assert Packet.objects.count() == 2


def test_pages_download_and_verify(client, world, exported):
    client.force_login(world.users["auditor"])
    r = client.get(f"/compliance/packets/{exported.pk}/download/")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip" and r["X-Packet-Digest"] == exported.packet_digest
    assert b"".join(r.streaming_content) == services.packet_path(exported).read_bytes()
    r = client.get(f"/compliance/packets/{exported.pk}/verify/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b"Valid" in r.content and exported.packet_digest.encode() in r.content
    page = client.get(f"/compliance/packets/{exported.pk}/").content.decode()
    assert exported.packet_digest in page and "Download signed zip" in page and 'data-testid="packet-export"' not in page
    assert client.get("/compliance/key/").content.decode().strip() == services.signing_key_string()
