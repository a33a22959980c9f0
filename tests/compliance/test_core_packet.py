"""The packet format: build, sign, attach the log's inclusion proof, and verify — including what a
tampered file, a wrong key, a changed manifest and a forged proof look like (pure)."""

import io
import json
import zipfile

import pytest

from compliance.core.packet import (
    FAIL,
    PASS,
    SKIP,
    PacketFormatError,
    attach_inclusion,
    build_packet,
    check_path,
    safe_segment,
    sha256_hex,
    statement_body,
    verify_packet,
)
from compliance.verify_packet import main as verify_main
from witness.tlog import merkle
from witness.tlog.checkpoint import Checkpoint, sign_checkpoint
from witness.tlog.note import Ed25519Signer
from witness.tlog.statement import sign_statement

SIGNER = Ed25519Signer.generate("tests.example/svc/compliance")
OTHER = Ed25519Signer.generate("tests.example/svc/compliance")  # same name, other key
LOG = Ed25519Signer.generate("tests.example/log")
META = {"id": "3f7c", "framework": {"key": "soc2", "name": "SOC 2", "version": "2017-rev2022"}, "version": "0.9",
        "period": {"start": "2025-01-01", "end": "2025-03-31"}, "generated_at": "2025-04-01T00:00:00+00:00"}


def files():
    ev = json.dumps({"schema": "tf-evidence/1", "title": "x"}).encode()
    return {"report.html": b"<html>report</html>", "gaps.csv": b"ref,title\n", "evidence/e1.json": ev,
            "evidence/index.json": json.dumps({"items": [{"id": "e1", "path": "evidence/e1.json", "sha256": sha256_hex(ev)}]}).encode()}


def logged(built, *, extra_leaves=3):
    """Log the packet's statement in a small in-memory tree and attach the proof."""
    signed = sign_statement("compliance.packet", statement_body(built.manifest, built.packet_digest), SIGNER)
    store = merkle.MemoryHashStore()
    for i in range(extra_leaves):
        store.append_leaf_hash(merkle.leaf_hash(f"other {i}".encode()))
    index = store.append_leaf_hash(merkle.leaf_hash(signed.leaf))
    store.append_leaf_hash(merkle.leaf_hash(b"later"))
    size = store.size
    note = sign_checkpoint(Checkpoint(LOG.name, size, store.root()), [LOG]).decode()
    proof = merkle.prove_inclusion(size, index, store)
    return attach_inclusion(built.data, {"statement": signed.leaf.decode(), "leaf_index": index, "tree_size": size,
                                         "proof": [h.hex() for h in proof], "checkpoint": note})


def rezip(data, change):
    """Rewrite the zip with ``change(name, bytes) -> bytes | None`` (None drops the member)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            new = change(info.filename, src.read(info))
            if new is not None:
                dst.writestr(info.filename, new)
    return out.getvalue()


def status(report, name):
    return next(c for c in report.checks if c.name == name).status


def test_a_built_packet_verifies():
    built = build_packet(files=files(), packet=META, signer=SIGNER)
    report = verify_packet(built.data, key=SIGNER.verifier())
    assert report.ok, report.as_dict()
    assert report.packet_digest == built.packet_digest == sha256_hex(built.manifest_bytes)
    assert [c.status for c in report.checks] == [PASS, PASS, PASS, PASS, PASS, SKIP]  # no inclusion proof yet


def test_building_is_deterministic():
    a = build_packet(files=files(), packet=META, signer=SIGNER)
    b = build_packet(files=dict(reversed(list(files().items()))), packet=META, signer=SIGNER)
    assert a.data == b.data and a.packet_digest == b.packet_digest


def test_inclusion_proof_verifies_with_the_log_key():
    built = build_packet(files=files(), packet=META, signer=SIGNER)
    data = logged(built)
    report = verify_packet(data, key=SIGNER.verifier(), log_key=LOG.verifier(), require_witness=True)
    assert report.ok and status(report, "witness") == PASS, report.as_dict()
    # attaching the proof does not change what was signed
    assert report.packet_digest == built.packet_digest
    assert verify_packet(data, key=SIGNER.verifier()).ok  # without the log key: skipped, still valid
    wrong_log = verify_packet(data, key=SIGNER.verifier(), log_key=Ed25519Signer.generate(LOG.name).verifier())
    assert not wrong_log.ok and status(wrong_log, "witness") == FAIL


def test_a_tampered_file_is_detected():
    data = logged(build_packet(files=files(), packet=META, signer=SIGNER))
    bad = rezip(data, lambda n, b: b.replace(b"report", b"rep0rt") if n == "report.html" else b)
    report = verify_packet(bad, key=SIGNER.verifier(), log_key=LOG.verifier())
    assert not report.ok and status(report, "files") == FAIL and status(report, "signature") == PASS
    assert "report.html" in report.failures[0].message and report.failures[0].code == "file_tampered"


def test_a_wrong_key_is_detected():
    data = build_packet(files=files(), packet=META, signer=SIGNER).data
    report = verify_packet(data, key=OTHER.verifier())
    assert not report.ok and status(report, "signature") == FAIL
    assert report.failures[0].code == "signature_bad"


def test_a_changed_manifest_is_detected_even_when_the_files_match_it():
    built = build_packet(files=files(), packet=META, signer=SIGNER)

    def forge(name, data):
        if name == "report.html":
            return b"<html>forged</html>"
        if name == "manifest.json":
            m = json.loads(data)
            for f in m["files"]:
                if f["path"] == "report.html":
                    f["sha256"], f["size"] = sha256_hex(b"<html>forged</html>"), len(b"<html>forged</html>")
            from witness.tlog.canonical import canonical_bytes

            return canonical_bytes(m)
        return data

    report = verify_packet(rezip(built.data, forge), key=SIGNER.verifier())
    assert not report.ok and report.failures[0].code == "packet_digest_mismatch"


def test_extra_and_missing_files_are_detected():
    data = build_packet(files=files(), packet=META, signer=SIGNER).data
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("evidence/smuggled.json", b"{}")
    r = verify_packet(buf.getvalue(), key=SIGNER.verifier())
    assert not r.ok and "not listed" in r.failures[0].message
    missing = rezip(data, lambda n, b: None if n == "gaps.csv" else b)
    r = verify_packet(missing, key=SIGNER.verifier())
    assert not r.ok and "gaps.csv: missing" in r.failures[0].message


def test_evidence_hash_recorded_at_collection_is_checked():
    f = files()
    f["evidence/index.json"] = json.dumps({"items": [{"id": "e1", "path": "evidence/e1.json", "sha256": "0" * 64}]}).encode()
    report = verify_packet(build_packet(files=f, packet=META, signer=SIGNER).data, key=SIGNER.verifier())
    assert not report.ok and report.failures[0].code == "evidence_hash_mismatch"


def test_garbage_and_unsafe_archives_are_refused_without_raising():
    assert verify_packet(b"not a zip", key=SIGNER.verifier()).failures[0].code == "archive_invalid"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("../escape.txt", b"x")
    assert verify_packet(out.getvalue(), key=SIGNER.verifier()).failures[0].code == "packet_path_invalid"


@pytest.mark.parametrize("path", ["../x", "/abs", "a//b", "a/./b", ".hidden", "a/..b", "", "x" * 201])
def test_unsafe_paths_are_refused_when_building(path):
    with pytest.raises(PacketFormatError):
        check_path(path)


def test_safe_segment():
    assert safe_segment("Access review (Q1).pdf") == "Access_review_Q1_.pdf"
    assert safe_segment("../../etc/passwd") == "etc_passwd"
    assert safe_segment("...") == "file"


def test_cli_exit_codes(tmp_path, capsys):
    built = build_packet(files=files(), packet=META, signer=SIGNER)
    path = tmp_path / "packet.zip"
    path.write_bytes(logged(built))
    key_file = tmp_path / "key.txt"
    key_file.write_text(SIGNER.verifier().key_string + "\n")
    assert verify_main([str(path), "--key", str(key_file), "--log-key", LOG.verifier().key_string, "--require-witness"]) == 0
    assert "VALID " + built.packet_digest in capsys.readouterr().out
    assert verify_main([str(path), "--key", OTHER.verifier().key_string]) == 1
    assert "INVALID" in capsys.readouterr().out
    path.write_bytes(rezip(path.read_bytes(), lambda n, b: b + b" " if n == "gaps.csv" else b))
    assert verify_main([str(path), "--key", SIGNER.verifier().key_string, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert verify_main([str(path), "--key", "not-a-key+zz"]) == 2
    assert verify_main([str(tmp_path / "missing.zip"), "--key", SIGNER.verifier().key_string]) == 2
