"""Uploading evidence: type by magic bytes, size limit, names with path tricks; stored by SHA-256,
linked, audited; nothing is written by a refused upload."""

import hashlib
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from compliance import services
from compliance.core.uploads import MAX_UPLOAD_BYTES
from compliance.models import Evidence, EvidenceLink
from tests.compliance.support import Upload, pdf_bytes, png_bytes
from trustfabric.errors import ServiceError

pytestmark = pytest.mark.django_db


def stored_files():
    root = services.storage_dir("uploads")
    return {p for p in root.rglob("*") if p.is_file()}


def post(client, control, name, data, **extra):
    return client.post(f"/compliance/controls/{control.pk}/upload/",
                       {"file": SimpleUploadedFile(name, data), "title": extra.pop("title", ""), **extra})


def test_a_screenshot_is_stored_hashed_linked_and_audited(client, world, control):
    client.force_login(world.users["compliance"])
    data = png_bytes()
    r = post(client, control, "change-approval.png", data, title="CAB approval screenshot", evidence_date="2026-01-15")
    assert r.status_code == 302 and r["Location"] == f"/compliance/controls/{control.pk}/"
    ev = Evidence.objects.get(kind="upload")
    sha = hashlib.sha256(data).hexdigest()
    assert (ev.title, ev.file_name, ev.content_type, ev.size, ev.sha256) == ("CAB approval screenshot", "change-approval.png",
                                                                            "image/png", len(data), sha)
    assert ev.period_start.date().isoformat() == "2026-01-15" and ev.created_by == world.users["compliance"]
    path = services.upload_path(ev)
    assert path == services.storage_dir("uploads") / sha[:2] / sha and path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert EvidenceLink.objects.filter(control=control, evidence=ev, auto=False).exists()
    audit = AuditEvent.objects.get(action="compliance.evidence.upload")
    assert audit.details["sha256"] == sha and audit.details["type"] == "png"
    d = client.get(f"/compliance/evidence/{ev.pk}/download/")
    assert d.status_code == 200 and b"".join(d.streaming_content) == data
    assert d["X-Content-Type-Options"] == "nosniff" and "attachment" in d["Content-Disposition"] and d["X-Evidence-SHA256"] == sha
    assert services.evidence_verify_file(ev) is True


def test_a_pdf_and_a_log_are_accepted(client, world, control):
    client.force_login(world.users["compliance"])
    assert post(client, control, "access-review.pdf", pdf_bytes()).status_code == 302
    assert post(client, control, "sshd.log", b"2026-01-01T00:00:00Z sshd[7]: Accepted publickey for deploy\n").status_code == 302
    assert sorted(Evidence.objects.values_list("content_type", flat=True)) == ["application/pdf", "text/plain; charset=utf-8"]


@pytest.mark.parametrize("name, data, status, code", [
    ("installer.png", b"MZ\x90\x00\x03" + b"\x00" * 200, 400, "upload_type_unsupported"),  # a Windows executable
    ("archive.pdf", b"PK\x03\x04" + b"\x00" * 200, 400, "upload_type_unsupported"),
    ("page.txt", b"\x00\x01\x02 binary", 400, "upload_type_unsupported"),
    ("scan.png", pdf_bytes(), 400, "upload_type_mismatch"),  # a PDF renamed .png
    ("notes.html", b"<html><script>alert(1)</script></html>", 400, "upload_type_mismatch"),  # text, but not a text extension
    ("empty.txt", b"", 400, "upload_empty"),
])
def test_wrong_types_are_refused_and_nothing_is_written(client, world, control, name, data, status, code):
    client.force_login(world.users["compliance"])
    before = stored_files()
    r = post(client, control, name, data)
    assert r.status_code == status and code.encode() in r.content
    assert not Evidence.objects.exists() and stored_files() == before
    assert not AuditEvent.objects.filter(action="compliance.evidence.upload").exists()


def test_oversize_files_are_refused(client, world, control):
    client.force_login(world.users["compliance"])
    before = stored_files()
    r = post(client, control, "huge.log", b"a" * (MAX_UPLOAD_BYTES + 1))
    assert r.status_code == 413 and b"upload_too_large" in r.content
    assert not Evidence.objects.exists() and stored_files() == before
    assert post(client, control, "limit.log", b"b" * MAX_UPLOAD_BYTES).status_code == 302  # exactly 20 MB is fine


@pytest.mark.parametrize("name", [".htaccess.txt", "a..b.txt", "C:evil.txt", "con.txt", "trailing.txt ", "x" * 130 + ".txt"])
def test_unsafe_names_are_refused_over_http(client, world, control, name):
    client.force_login(world.users["compliance"])
    r = post(client, control, name, b"plain log line\n")
    assert r.status_code == 400 and b"upload_name_invalid" in r.content
    assert not Evidence.objects.exists()


def test_path_tricks_never_choose_where_a_file_is_written(client, world, control, tmp_path):
    """Django's parser already reduces a submitted name to its last segment; the service refuses any
    name with a path, and storage is by SHA-256 whatever the name."""
    client.force_login(world.users["compliance"])
    assert post(client, control, "../../../../tmp/evil.txt", b"sneaky\n").status_code == 302
    ev = Evidence.objects.get()
    assert ev.file_name == "evil.txt"
    assert services.upload_path(ev).parent.parent == services.storage_dir("uploads")
    for name in ("../../etc/passwd.txt", "/etc/passwd.txt", "..\\..\\win.ini.txt", "ok\x00.png.txt", "x" * 121):
        with pytest.raises(ServiceError) as err:
            services.evidence_upload(actor=world.users["compliance"], uploaded=Upload(name, b"text\n"), control=control)
        assert err.value.code == "upload_name_invalid"
    assert Evidence.objects.count() == 1


def test_declared_size_beyond_the_limit_is_refused_before_reading(world, control):
    with pytest.raises(ServiceError) as err:
        services.evidence_upload(actor=world.users["compliance"], uploaded=Upload("big.log", b"x", size=MAX_UPLOAD_BYTES + 1),
                                 control=control)
    assert err.value.code == "upload_too_large" and err.value.status == 413


def test_a_changed_stored_file_is_noticed(world, control):
    ev = services.evidence_upload(actor=world.users["compliance"], uploaded=Upload("a.log", b"original line\n"), control=control)
    path = services.upload_path(ev)
    try:
        path.write_bytes(b"changed line\n")
        assert services.evidence_verify_file(ev) is False
    finally:
        path.write_bytes(b"original line\n")
    assert services.evidence_verify_file(ev) is True


def test_runbook_links_need_an_http_address(client, world, control):
    client.force_login(world.users["compliance"])
    r = client.post(f"/compliance/controls/{control.pk}/runbook/", {"url": "javascript:alert(1)", "title": "x"})
    assert r.status_code == 400 and b"link_url_invalid" in r.content
    r = client.post(f"/compliance/controls/{control.pk}/runbook/", {"url": "https://runbooks.example/deploy", "title": "Deploy runbook"})
    assert r.status_code == 302
    ev = Evidence.objects.get(kind="link")
    assert ev.url == "https://runbooks.example/deploy" and ev.content["url"] == ev.url and len(ev.sha256) == 64
