"""Audit bundle export: drafted, accepted by both partners (BLS), sealed, logged, verified offline."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT
from tests.zktx.psi_support import flip_b64
from tests.zktx.test_service_support import dataset, drain, make_env, open_epoch, selectors
from witness.models import Entry
from witness.tlog.statement import parse_statement
from zktx.bundle.format import pack
from zktx.client.api import ApiError

pytestmark = pytest.mark.django_db

_CACHE: dict[str, object] = {}


def _ready_bundle(world, tmp_path: Path) -> dict:
    """One small run exported, accepted and sealed through the API (BLS is slow: built once per module)."""
    if "bundle" in _CACHE:
        return _CACHE
    env = make_env(world, tmp_path, k=2)
    ds = dataset(71, holder_size=120, n_queries=3, query_size=16, k=2)
    run = env.operator.start_run("BT", [env.pilot["id"]], {"holder_size": 120, "queries": 3})
    eid = open_epoch(env, ds.holder, run=run["id"])
    for raw in ds.queries:
        env.querier.make_query(eid, selectors(raw))
    env.holder.answer_pending()
    drain()
    b = env.operator.export_bundle(run["id"])
    assert b["status"] == "drafting"
    with pytest.raises(ApiError) as exc:  # not drafted yet: nothing to review or accept
        env.holder.api.bundle_core(b["id"])
    assert exc.value.status == 409
    drain()
    detail = env.operator.bundle(b["id"])
    assert detail["status"] == "awaiting_acceptance" and detail["progress"]["stage"] == "awaiting_acceptance"
    # one partner cannot pass the other's signature off as its own
    from zktx.bundle import bls
    from zktx.bundle.format import acceptance_message

    other_sig = bls.sign(env.querier._bls()[1], acceptance_message(bytes.fromhex(detail["core_digest"])))
    with pytest.raises(ApiError) as exc:
        env.holder.api.accept_bundle(b["id"], other_sig.hex())
    assert exc.value.code == "acceptance_invalid"
    env.holder.sign_acceptance(b["id"])
    assert env.operator.bundle(b["id"])["status"] == "awaiting_acceptance"
    env.querier.api.accept_bundle(b["id"], other_sig.hex())  # the querier's own signature
    drain()
    detail = env.operator.bundle(b["id"])
    assert detail["status"] == "ready", detail
    data = env.operator.download_bundle(b["id"])
    # partners review the core, but never download the bundle (it holds full transcripts: counts, evaluations)
    assert json.loads(env.holder.api.bundle_core(b["id"]))["meta"]["pilot_run"] == run["label"]
    for partner in (env.holder, env.querier):
        with pytest.raises(ApiError) as exc:
            partner.api.download_bundle(b["id"])
        assert exc.value.status == 404
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(data)
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(detail["trust"]))
    sel = tmp_path / "selectors.txt"
    sel.write_text("\n".join(ds.raw_selectors()) + "\n")
    entry = Entry.objects.get(leaf_hash=detail["witness_leaf_hash"])
    _CACHE.update(bundle=detail, data=data, path=path, trust=trust, selectors=sel, env=env, entry_payload=bytes(entry.payload))
    return _CACHE


def _verify(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zktx.verify_bundle", str(path), *args, "--json"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_exported_bundle_verifies_offline_with_transcripts_and_selector_scan(world, tmp_path):
    c = _ready_bundle(world, tmp_path)
    b = c["bundle"]
    st = parse_statement(c["entry_payload"])
    assert st.type == "zktx.bundle" and st.body["bundle_digest"] == b["bundle_digest"]
    proc = _verify(c["path"], "--trust", str(c["trust"]), "--selectors", str(c["selectors"]),
                   "--transcript-verifier", "zktx.client.audit:bundle_verifier")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    checks = {x["name"]: x["status"] for x in report["checks"]}
    assert checks == {name: "pass" for name in checks}, checks  # selector scan and transcripts included
    assert {"selector_scan", "transcripts", "acceptance", "witness"} <= set(checks)
    with tarfile.open(fileobj=io.BytesIO(c["data"])) as tar:
        names = tar.getnames()
    assert {"config/run.json", "config/keys.json", "logs/service.jsonl"} <= set(names)
    assert sum(n.startswith("transcripts/queries/") for n in names) == 3
    assert any(n.startswith("envelopes/") and n.endswith("-holder-set.json") for n in names)
    assert any(n.startswith("proofs/witness/") for n in names)


def test_the_builders_scan_finds_no_raw_selector_in_the_run_and_would_find_a_planted_one(world, tmp_path):
    from zktx.bundle.builder import draft_bundle
    from zktx.bundle.errors import RawSelectorError
    from zktx.bundle.format import PartnerKey

    c = _ready_bundle(world, tmp_path)
    with tarfile.open(fileobj=io.BytesIO(c["data"])) as tar:
        content = {m.name: tar.extractfile(m).read() for m in tar.getmembers()
                   if m.name.split("/")[0] in ("transcripts", "proofs", "envelopes", "logs", "config")}
        manifest = json.loads(tar.extractfile("manifest.json").read())
    partners = [PartnerKey(p["id"], bytes.fromhex(p["bls_public_key"]), bytes.fromhex(p["pop"])) for p in manifest["partners"]]
    raw = [line for line in c["selectors"].read_text().splitlines() if line.strip()]
    kw = {"meta": manifest["meta"], "partners": partners,
          "exchange_public_key": bytes.fromhex(manifest["exchange"]["public_key"]), "raw_selectors": raw}
    draft = draft_bundle(content, **kw)  # logs, envelopes, transcripts and configs: no raw selector
    assert draft.core_digest.hex() == c["bundle"]["core_digest"]
    planted = {**content, "logs/service.jsonl": content["logs/service.jsonl"] + json.dumps({"note": raw[0]}).encode() + b"\n"}
    with pytest.raises(RawSelectorError):
        draft_bundle(planted, **kw)


def test_tampered_bundle_is_rejected(world, tmp_path):
    c = _ready_bundle(world, tmp_path)
    entries = {}
    with tarfile.open(fileobj=io.BytesIO(c["data"])) as tar:
        for m in tar.getmembers():
            entries[m.name] = tar.extractfile(m).read()
    victim = next(n for n in entries if n.startswith("transcripts/queries/"))
    t = json.loads(entries[victim])
    t["signature"] = flip_b64(t["signature"])  # same size, another digest
    entries[victim] = json.dumps(t, sort_keys=True, separators=(",", ":")).encode()
    bad = tmp_path / "tampered.tar.gz"
    bad.write_bytes(pack(entries))
    proc = _verify(bad, "--trust", str(c["trust"]), "--transcript-verifier", "zktx.client.audit:bundle_verifier")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # file digest mismatch decides
    report = json.loads(proc.stdout)
    checks = {x["name"]: x for x in report["checks"]}
    assert checks["files"]["code"] == "file_digest_mismatch"
    assert checks["transcripts"]["status"] == "fail"  # the protocol verifier rejects the transcript too
    # the untouched bundle against a wrong partner key: refused too
    trust = json.loads(c["trust"].read_text())
    trust["partner_keys"] = dict(zip(trust["partner_keys"], reversed(list(trust["partner_keys"].values())), strict=True))
    wrong = tmp_path / "wrong-trust.json"
    wrong.write_text(json.dumps(trust))
    assert _verify(c["path"], "--trust", str(wrong)).returncode == 6
