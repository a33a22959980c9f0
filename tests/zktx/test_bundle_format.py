"""zktx.bundle.format: deterministic tar, tar safety (path tricks, links, devices, limits), manifest schema.

No BLS here: these run in milliseconds. Archives an attacker could hand us are written with
``tarfile``/``gzip`` directly, not with our writer.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from zktx.bundle import verify_bundle
from zktx.bundle.errors import ArchiveError, ManifestError, UnsafeEntryError
from zktx.bundle.format import (
    INCLUSION,
    MANIFEST,
    SIGNATURES,
    FileEntry,
    Limits,
    Manifest,
    PartnerKey,
    canonical_json,
    check_content_path,
    pack,
    parse_inclusion,
    parse_manifest,
    parse_signatures,
    unpack,
)

CONTENT = {
    "transcripts/run-1.json": b'{"t":1}',
    "logs/exchange.jsonl": b'{"event":"start"}\n',
    "config/pilot.json": b'{"k":3}',
    "envelopes/req-1.json": b'{"env":1}',
    "proofs/p-1.json": b'{"proof":"00"}',
}


def _tar_gz(members: list[tuple[tarfile.TarInfo, bytes]], *, fmt=tarfile.GNU_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for info, data in members:
            info.size = len(data) if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def _file(name: str, data: bytes = b"{}") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _manifest(files: dict[str, bytes]) -> Manifest:
    partners = (PartnerKey("bank-a", b"\x11" * 48, b"\x22" * 96),)
    entries = tuple(FileEntry(p, __import__("hashlib").sha256(d).hexdigest(), len(d)) for p, d in sorted(files.items()))
    return Manifest({"pilot_run": "run-1"}, b"\x33" * 32, partners, entries, b"\x44" * 96)


# --- deterministic writer ---------------------------------------------------------------------------------


def test_pack_is_deterministic_and_ordered():
    entries = {**CONTENT, SIGNATURES: b"{}", INCLUSION: b"{}", MANIFEST: b"{}"}
    a = pack(entries)
    b = pack(dict(reversed(list(entries.items()))))
    assert a == b
    assert a[4:8] == b"\0\0\0\0"  # gzip header mtime 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(a))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == [MANIFEST, SIGNATURES, *sorted(CONTENT), INCLUSION]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode, m.type) for m in members} == {
        (0, 0, 0, "", "", 0o644, tarfile.REGTYPE)
    }
    assert unpack(a) == {n: entries[n] for n in names}


def test_pack_changes_with_content():
    assert pack({**CONTENT, MANIFEST: b"{}"}) != pack({**CONTENT, MANIFEST: b"{ }"})


# --- tar safety -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../outside.json",
        "logs/../../outside.jsonl",
        "logs/../manifest.json",
        "logs/./a.jsonl",
        "logs//a.jsonl",
        "logs\\a.jsonl",
        "logs/.hidden.jsonl",
        "logs/a\nb.jsonl",
        "logs/" + "a" * 100 + ".jsonl",
        "logs/na\u00efve.jsonl",
    ],
)
def test_unsafe_names_are_refused(name):
    data = _tar_gz([_file(MANIFEST), _file(name)])
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(data)
    assert exc.value.code == "tar_unsafe_path"
    report = verify_bundle(data)
    assert report.check("archive").code == "tar_unsafe_path"
    assert report.exit_code == 3
    assert [c.status for c in report.checks[1:]] == ["skip"] * (len(report.checks) - 1)


@pytest.mark.parametrize("name", ["other/a.json", "logs/a.json", "transcripts/a.jsonl", "run.sh", "witness/other.json", "logs"])
def test_names_outside_the_layout_are_refused(name):
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(_tar_gz([_file(MANIFEST), _file(name)]))
    assert exc.value.code == "tar_path_not_allowed"


def test_pax_header_cannot_smuggle_a_path():
    info = tarfile.TarInfo("logs/benign.jsonl")
    info.pax_headers = {"path": "../../etc/cron.d/evil"}
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(_tar_gz([_file(MANIFEST), (info, b"{}")], fmt=tarfile.PAX_FORMAT))
    assert exc.value.code == "tar_unsafe_path"


@pytest.mark.parametrize(
    ("kind", "linkname"),
    [
        (tarfile.SYMTYPE, "/etc/passwd"),
        (tarfile.LNKTYPE, "manifest.json"),
        (tarfile.DIRTYPE, ""),
        (tarfile.CHRTYPE, ""),
        (tarfile.BLKTYPE, ""),
        (tarfile.FIFOTYPE, ""),
        (tarfile.CONTTYPE, ""),
    ],
)
def test_only_regular_files(kind, linkname):
    info = tarfile.TarInfo("logs/a.jsonl")
    info.type = kind
    info.linkname = linkname
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(_tar_gz([_file(MANIFEST), (info, b"")]))
    assert exc.value.code == "tar_member_type"


@pytest.mark.parametrize("second", ["logs/a.jsonl", "logs/A.jsonl", "LOGS/a.jsonl"])
def test_duplicate_names_are_refused(second):
    data = _tar_gz([_file(MANIFEST), _file("logs/a.jsonl", b"{}"), _file(second, b'{"x":1}')])
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(data)
    # "LOGS/" is not a layout directory: refused before the duplicate check
    assert exc.value.code == ("tar_path_not_allowed" if second.startswith("LOGS") else "tar_duplicate")


def test_size_and_count_limits():
    data = _tar_gz([_file(MANIFEST), _file("logs/a.jsonl", b"x" * 2000)])
    assert unpack(data)  # within the default limits
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(data, Limits(max_file_bytes=1000))
    assert exc.value.code == "tar_file_too_large"
    with pytest.raises(UnsafeEntryError) as exc:
        unpack(data, Limits(max_entries=1))
    assert exc.value.code == "tar_too_many_entries"
    with pytest.raises(ArchiveError) as exc:
        unpack(data, Limits(max_archive_bytes=len(data) - 1))
    assert exc.value.code == "archive_too_large"


def test_decompression_bomb_is_bounded():
    bomb = _tar_gz([_file(MANIFEST), _file("logs/a.jsonl", b"\0" * 4_000_000)])
    assert len(bomb) < 20_000
    with pytest.raises(ArchiveError) as exc:
        unpack(bomb, Limits(max_unpacked_bytes=1_000_000))
    assert exc.value.code == "archive_too_large"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: b"PK\x03\x04" + d[4:],  # not gzip
        lambda d: d[: len(d) // 2],  # truncated
        lambda d: d + gzip.compress(b"more", mtime=0),  # a second gzip member
        lambda d: d + b"junk",  # trailing bytes
        lambda d: gzip.compress(b"not a tar archive at all" * 40, mtime=0),
        lambda d: gzip.compress(b"", mtime=0),
    ],
)
def test_malformed_archives(mangle):
    data = mangle(pack({MANIFEST: b"{}", **CONTENT}))
    with pytest.raises(ArchiveError) as exc:
        unpack(data)
    assert exc.value.code == "archive_malformed"
    assert verify_bundle(data).exit_code == 3


def test_content_paths():
    for path in CONTENT:
        check_content_path(path)
    check_content_path("transcripts/2025/run-1.json")
    for reserved in (MANIFEST, SIGNATURES, INCLUSION):
        with pytest.raises(UnsafeEntryError):
            check_content_path(reserved)


# --- manifest and documents ----------------------------------------------------------------------------


def test_manifest_round_trip_and_digests():
    m = _manifest(CONTENT)
    parsed = parse_manifest(m.to_bytes())
    assert parsed == m
    assert "acceptance" not in json.loads(m.core_bytes())
    assert m.acceptance_message() == b"zktx-bundle/1 acceptance\n" + m.core_digest()
    other = Manifest({"pilot_run": "run-2"}, m.exchange_public_key, m.partners, m.files, m.aggregate_signature)
    assert other.core_digest() != m.core_digest()


def _mutated(mutate) -> bytes:
    obj = json.loads(_manifest(CONTENT).to_bytes())
    mutate(obj)
    return canonical_json(obj)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (lambda: _manifest(CONTENT).to_bytes().replace(b'{"acceptance"', b'{ "acceptance"'), "json_not_canonical"),
        (lambda: _manifest(CONTENT).to_bytes()[:-1] + b',"schema":"zktx-bundle/1"}', "json_invalid"),  # duplicate key
        (lambda: b'{"x":NaN}', "json_invalid"),
        (lambda: _mutated(lambda o: o.update(schema="zktx-bundle/2")), "manifest_schema"),
        (lambda: _mutated(lambda o: o.update(extra=1)), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["meta"].pop("pilot_run")), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["files"].reverse()), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["files"][0].update(path="../x.json")), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["files"][0].update(sha256="AB" * 32)), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["files"][0].update(size=-1)), "manifest_invalid"),
        (lambda: _mutated(lambda o: o.update(partners=[])), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["partners"].append(dict(o["partners"][0]))), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["acceptance"].update(scheme="bls-basic")), "manifest_invalid"),
        (lambda: _mutated(lambda o: o["exchange"].update(public_key="00")), "manifest_invalid"),
    ],
)
def test_manifest_rejections(data, code):
    raw = data()
    with pytest.raises(ManifestError) as exc:
        parse_manifest(raw)
    assert exc.value.code == code
    report = verify_bundle(pack({MANIFEST: raw, **CONTENT}))
    assert report.check("manifest").code == code
    assert report.exit_code == 4


def test_missing_manifest():
    report = verify_bundle(pack(CONTENT))
    assert report.check("manifest").code == "manifest_missing"
    assert report.exit_code == 4


def test_signature_and_inclusion_documents_are_strict():
    with pytest.raises(ManifestError) as exc:
        parse_signatures(b'{"schema":"zktx-bundle/1"}')
    assert exc.value.code == "signatures_malformed"
    with pytest.raises(ManifestError) as exc:
        parse_inclusion(b'{"schema":"zktx-bundle/1","statement":"{}","leaf_index":-1,"tree_size":1,"proof":[],"checkpoint":""}')
    assert exc.value.code == "witness_inclusion_malformed"
