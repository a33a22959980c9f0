"""``python -m zktx.verify_bundle``: runs offline without Django, prints a table, distinct exit codes.

Every run is a real subprocess. The bundle has one partner so each run's BLS work stays ~1 s.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.paths import REPO_ROOT
from witness.tlog import merkle
from witness.tlog.checkpoint import Checkpoint, sign_checkpoint
from witness.tlog.note import Ed25519Signer, Ed25519Verifier
from witness.tlog.statement import sign_statement
from zktx.bundle import PartnerKey, attach_inclusion, bls, build_bundle, bundle_statement, draft_bundle
from zktx.bundle.format import MANIFEST, pack, unpack

ORIGIN = "cli.example/log"
LOG = Ed25519Signer(ORIGIN, b"\x21" * 32)
SERVICE = Ed25519Signer("cli.example/svc/zktx", b"\x22" * 32)
EXCHANGE = Ed25519PrivateKey.from_private_bytes(b"\x23" * 32)
OTHER = Ed25519PrivateKey.from_private_bytes(b"\x24" * 32)
FILES = {
    "transcripts/s-1.json": b'{"session":1}',
    "logs/exchange.jsonl": b'{"event":"done"}\n',
    "config/pilot.json": b'{"k":3}',
}
META = {"pilot_run": "cli-run-42"}


def reject_all(path: str, data: bytes, files) -> None:
    """A transcript verifier for --transcript-verifier tests.test_bundle_cli:reject_all."""
    raise ValueError(f"{path} rejected")


def _pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    sk = bls.keygen(hashlib.sha256(b"cli partner").digest())
    partner = PartnerKey("bank-a", bls.public_key(sk), bls.pop_prove(sk))
    draft = draft_bundle(FILES, meta=META, partners=[partner], exchange_public_key=EXCHANGE.public_key())
    sealed = build_bundle(FILES, meta=META, exchange_key=EXCHANGE, partners=[partner],
                          acceptances={"bank-a": bls.sign(sk, draft.acceptance_message)})
    stype, body = bundle_statement(sealed)
    leaf = sign_statement(stype, body, SERVICE).leaf
    store = merkle.MemoryHashStore()
    store.extend([b"a", b"b", leaf, b"c"])
    note = sign_checkpoint(Checkpoint(ORIGIN, store.size, store.root()), [LOG]).decode()
    proof = {"leaf_index": 2, "tree_size": 4, "proof": [h.hex() for h in merkle.prove_inclusion(4, 2, store)], "checkpoint": note}
    bundle = tmp / "bundle.tar.gz"
    bundle.write_bytes(attach_inclusion(sealed, leaf=leaf, proof=proof))
    entries = unpack(bundle.read_bytes())
    entries["config/pilot.json"] = b'{"k":1}'
    tampered = tmp / "tampered.tar.gz"
    tampered.write_bytes(pack(entries))
    (tmp / "exchange.pem").write_text(_pem(EXCHANGE))
    (tmp / "other.pem").write_text(_pem(OTHER))
    trust = {
        "exchange_keys": [Ed25519Verifier("exchange.example", EXCHANGE.public_key().public_bytes_raw()).key_string],
        "partner_keys": {"bank-a": partner.public_key.hex()},
        "witness_key": LOG.verifier().key_string,
        "statement_keys": [SERVICE.verifier().key_string],
        "required_partners": ["bank-a"],
    }
    (tmp / "trust.json").write_text(json.dumps(trust))
    return {
        "dir": tmp,
        "bundle": str(bundle),
        "tampered": str(tampered),
        "keys": [
            "--exchange-key", EXCHANGE.public_key().public_bytes_raw().hex(),
            "--partner-key", f"bank-a={partner.public_key.hex()}",
            "--witness-key", LOG.verifier().key_string,
        ],
    }


def run(*args: str, module: bool = True) -> subprocess.CompletedProcess:
    if module:
        cmd = [sys.executable, "-m", "zktx.verify_bundle", *args]
    else:  # the same entry point, and afterwards: was Django imported?
        code = (
            "import sys\nfrom zktx.verify_bundle import main\nrc = main(sys.argv[1:])\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django was imported'\n"
            "sys.exit(rc)\n"
        )
        cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_help_explains_trust():
    proc = run("--help")
    assert proc.returncode == 0
    assert "trust comes only from" in proc.stdout and "exit codes" in proc.stdout


def test_verified_without_django(env):
    proc = run(env["bundle"], *env["keys"], module=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VERIFIED (exit 0" in proc.stdout
    for check in ("archive", "manifest", "files", "exchange_signature", "partner_keys", "acceptance", "witness"):
        assert any(line.split()[:2] == [check, "ok"] for line in proc.stdout.splitlines()), check


def test_trust_file_and_json(env):
    proc = run(env["bundle"], "--trust", str(env["dir"] / "trust.json"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and report["pilot_run"] == "cli-run-42" and report["partners"] == ["bank-a"]
    # the digest printed is the one the witness statement names: SHA-256 of manifest.json
    assert report["bundle_digest"] == hashlib.sha256(unpack(Path(env["bundle"]).read_bytes())[MANIFEST]).hexdigest()


def test_tampered_file_exit_4(env):
    proc = run(env["tampered"], *env["keys"])
    assert proc.returncode == 4
    assert "file_digest_mismatch" in proc.stdout and "NOT VERIFIED (exit 4" in proc.stdout


def test_wrong_exchange_key_exit_5(env):
    keys = list(env["keys"])
    keys[1] = str(env["dir"] / "other.pem")
    proc = run(env["bundle"], *keys)
    assert proc.returncode == 5 and "exchange_key_untrusted" in proc.stdout


def test_untrusted_partner_exit_6(env):
    proc = run(env["bundle"], "--exchange-key", str(env["dir"] / "exchange.pem"), "--no-witness")
    assert proc.returncode == 6 and "partner_untrusted" in proc.stdout


def test_missing_witness_key_exit_7(env):
    proc = run(env["bundle"], *env["keys"][:4])
    assert proc.returncode == 7 and "witness_key_missing" in proc.stdout


def test_transcript_verifier_exit_8(env):
    proc = run(env["bundle"], *env["keys"], "--transcript-verifier", "tests.zktx.test_bundle_cli:reject_all")
    assert proc.returncode == 8 and "transcripts/s-1.json rejected" in proc.stdout


def test_raw_selector_exit_9(env):
    selectors = env["dir"] / "selectors.txt"
    selectors.write_text("+4915123456789\nCLI-RUN-42\n\n")
    proc = run(env["bundle"], *env["keys"], "--selectors", str(selectors))
    assert proc.returncode == 9 and "raw_selector_found" in proc.stdout
    scan_line = next(line for line in proc.stdout.splitlines() if line.startswith("selector_scan"))
    assert "selector #1" in scan_line and "cli-run-42" not in scan_line.lower()


def test_unsafe_archive_exit_3(env, tmp_path):
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("logs/link.jsonl")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(info)
    import gzip

    path = tmp_path / "evil.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue()))
    proc = run(str(path), *env["keys"])
    assert proc.returncode == 3 and "tar_member_type" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["/nonexistent/bundle.tar.gz"],
        ["{bundle}", "--partner-key", "bank-a=00"],
        ["{bundle}", "--exchange-key", "not-a-key"],
        ["{bundle}", "--witness-key", "nonsense"],
        ["{bundle}", "--bogus-flag"],
    ],
)
def test_usage_errors_exit_2(env, args):
    proc = run(*[a.format(bundle=env["bundle"]) for a in args])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error" in proc.stderr

