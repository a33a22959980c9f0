"""Upload checks: names, sizes and types by magic bytes (pure)."""

import pytest

from compliance.core.uploads import MAX_UPLOAD_BYTES, UploadRejected, check_name, check_upload, sniff
from tests.compliance.support import pdf_bytes, png_bytes


@pytest.mark.parametrize("name", [
    "../etc/passwd.txt", "..\\..\\boot.ini.txt", "/etc/passwd.txt", "C:evil.txt", "C:\\x.txt", "a/b.txt", "a..b.txt",
    "evil\x00.png", "line\nbreak.txt", "\u202eexe.txt", ".htaccess", "trailing.txt.", " lead.txt", "con.txt", "NUL.log",
    "x" * 117 + ".txt", "",
])
def test_path_tricks_and_odd_names_are_refused(name):
    with pytest.raises(UploadRejected) as err:
        check_name(name)
    assert err.value.code == "upload_name_invalid"


@pytest.mark.parametrize("name", ["screenshot.png", "Access review 2025-Q1.pdf", "auth.log", "zugriffsprüfung.txt", "a" * 116 + ".txt"])
def test_plain_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize("head, kind", [
    (png_bytes(), "png"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"), (b"GIF89a....", "gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"), (pdf_bytes(), "pdf"), (b"2025-01-02T03:04:05Z sshd[1]: accepted\n", "text"),
    (b"\xc3\x28 invalid utf-8 in the middle" + b"x" * 10, None),
    (b"MZ\x90\x00\x03\x00\x00\x00", None), (b"PK\x03\x04", None), (b"\x7fELF\x02\x01", None), (b"", None),
])
def test_sniff_by_magic_bytes(head, kind):
    assert sniff(head) == kind


def test_a_multibyte_character_cut_by_the_sniff_window_is_still_text():
    head = ("a" * 8191 + "é").encode()[:8192]
    assert sniff(head) == "text"


def test_the_content_decides_and_the_name_must_agree():
    assert check_upload(name="shot.png", size=100, head=png_bytes()).content_type == "image/png"
    assert check_upload(name="report.PDF", size=100, head=pdf_bytes()).kind == "pdf"
    with pytest.raises(UploadRejected) as err:
        check_upload(name="shot.png", size=100, head=pdf_bytes())
    assert err.value.code == "upload_type_mismatch"
    with pytest.raises(UploadRejected) as err:
        check_upload(name="tool.png", size=100, head=b"MZ\x90\x00" + b"\x00" * 60)
    assert err.value.code == "upload_type_unsupported"
    with pytest.raises(UploadRejected) as err:
        check_upload(name="page.txt", size=100, head=b"\x00\x01binary")
    assert err.value.code == "upload_type_unsupported"


def test_sizes():
    assert check_upload(name="a.txt", size=MAX_UPLOAD_BYTES, head=b"ok\n")
    with pytest.raises(UploadRejected) as err:
        check_upload(name="a.txt", size=MAX_UPLOAD_BYTES + 1, head=b"ok\n")
    assert err.value.code == "upload_too_large"
    with pytest.raises(UploadRejected) as err:
        check_upload(name="a.txt", size=0, head=b"")
    assert err.value.code == "upload_empty"
