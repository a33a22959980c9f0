"""Audit bundles end to end: build, log, attach the inclusion proof, verify — and every tampering caught.

One real bundle is built per module (three partners' BLS acceptance, an Ed25519 exchange key, a
statement in a real RFC 6962 tree under a signed C2SP checkpoint); attacks are crafted from it by
rewriting archive entries, re-signing as a colluding exchange where the attack needs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from py_ecc.bls import G2ProofOfPossession
from py_ecc.bls.g2_primitives import G1_to_pubkey, pubkey_to_G1
from py_ecc.optimized_bls12_381 import G1, add, multiply, neg

from witness.tlog import merkle
from witness.tlog.checkpoint import Checkpoint, sign_checkpoint
from witness.tlog.note import Ed25519Signer
from witness.tlog.statement import sign_statement
from zktx.bundle import (
    BuildError,
    InclusionError,
    PartnerKey,
    attach_inclusion,
    bls,
    build_bundle,
    bundle_digest,
    bundle_statement,
    draft_bundle,
    seal_bundle,
    verify_bundle,
)
from zktx.bundle.format import (
    INCLUSION,
    MANIFEST,
    SIGNATURES,
    acceptance_message,
    canonical_json,
    exchange_message,
    pack,
    signatures_doc,
    unpack,
)

ORIGIN = "tests.example/log"
LOG = Ed25519Signer(ORIGIN, b"\x0a" * 32)
SERVICE = Ed25519Signer("tests.example/svc/zktx", b"\x0b" * 32)
EXCHANGE = Ed25519PrivateKey.from_private_bytes(b"\x0c" * 32)
OTHER_EXCHANGE = Ed25519PrivateKey.from_private_bytes(b"\x0d" * 32)

FILES = {
    "transcripts/session-1.json": b'{"session":1,"proof_ok":true}',
    "transcripts/session-2.json": b'{"session":2,"proof_ok":false}',
    "proofs/session-1.json": b'{"dleq":"c||s"}',
    "envelopes/req-0001.json": b'{"request":"0001","blinded":["8a1f"]}',
    "logs/exchange.jsonl": b'{"event":"start"}\n{"event":"done","cardinality_over_k":true}\n',
    "config/pilot.json": b'{"k":3,"epoch":"2025-W07"}',
}
META = {"pilot_run": "pilot-2025-0007", "created_at": "2025-02-14T09:30:00Z", "exchange": "tf-exchange"}


@dataclass
class World:
    sks: dict[str, bls.SecretKey]
    partners: list[PartnerKey]
    acceptances: dict[str, bytes]
    message: bytes
    sealed: bytes
    final: bytes
    leaf: bytes
    proof: dict[str, Any]
    stages: list[tuple[str, int, int]]

    def trust(self, **overrides: Any) -> dict[str, Any]:
        kwargs = {
            "trusted_exchange_keys": [EXCHANGE.public_key()],
            "trusted_partner_keys": {p.id: p.public_key for p in self.partners},
            "witness_key": LOG.verifier().key_string,
        }
        kwargs.update(overrides)
        return kwargs


def log_statement(leaf: bytes, *, before: int = 5, after: int = 3) -> dict[str, Any]:
    """Put ``leaf`` into a small real log among other entries; return the inclusion-proof API answer."""
    store = merkle.MemoryHashStore()
    store.extend([f"other-{i}".encode() for i in range(before)])
    index = store.append(leaf)
    store.extend([f"later-{i}".encode() for i in range(after)])
    note = sign_checkpoint(Checkpoint(ORIGIN, store.size, store.root()), [LOG])
    return {
        "leaf_index": index,
        "leaf_hash": merkle.leaf_hash(leaf).hex(),
        "tree_size": store.size,
        "root_hash": store.root().hex(),
        "proof": [h.hex() for h in merkle.prove_inclusion(store.size, index, store)],
        "checkpoint": note.decode(),
    }


@pytest.fixture(scope="module")
def world() -> World:
    sks = {pid: bls.keygen(hashlib.sha256(pid.encode()).digest()) for pid in ("bank-a", "bank-b", "bank-c", "bank-d")}
    partners = [PartnerKey(pid, bls.public_key(sks[pid]), bls.pop_prove(sks[pid])) for pid in ("bank-c", "bank-a", "bank-b")]
    stages: list[tuple[str, int, int]] = []
    draft = draft_bundle(FILES, meta=META, partners=partners, exchange_public_key=EXCHANGE.public_key(),
                         progress=lambda *a: stages.append(a))
    message = draft.acceptance_message
    acceptances = {pid: bls.sign(sks[pid], message) for pid in ("bank-a", "bank-b", "bank-c", "bank-d")}
    sealed = seal_bundle(draft, acceptances={k: v for k, v in acceptances.items() if k != "bank-d"},
                         exchange_key=EXCHANGE, progress=lambda *a: stages.append(a))
    stype, body = bundle_statement(sealed)
    leaf = sign_statement(stype, body, SERVICE).leaf
    proof = log_statement(leaf)
    final = attach_inclusion(sealed, leaf=leaf, proof=proof, witness_key=LOG.verifier().key_string)
    return World(sks, partners, acceptances, message, sealed, final, leaf, proof, stages)


def repack(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    entries = unpack(data)
    change(entries)
    return pack(entries)


def reseal(
    data: bytes,
    mutate: Callable[[dict[str, Any]], None],
    *,
    aggregate: Callable[[bytes], bytes] | None = None,
    exchange_key: Ed25519PrivateKey = EXCHANGE,
) -> bytes:
    """Rewrite the manifest as a colluding exchange would: mutate it, optionally recompute the
    aggregate from the new acceptance message, and sign it again (the inclusion proof is dropped)."""
    entries = unpack(data)
    obj = json.loads(entries[MANIFEST])
    mutate(obj)
    if aggregate is not None:
        core = {k: v for k, v in obj.items() if k != "acceptance"}
        message = acceptance_message(hashlib.sha256(canonical_json(core)).digest())
        obj["acceptance"]["aggregate_signature"] = aggregate(message).hex()
    entries[MANIFEST] = canonical_json(obj)
    digest = hashlib.sha256(entries[MANIFEST]).digest()
    entries[SIGNATURES] = signatures_doc(digest, exchange_key.sign(exchange_message(digest)))
    entries.pop(INCLUSION, None)
    return pack(entries)


def statuses(report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


ALL_PASS = {
    "archive": "pass", "manifest": "pass", "files": "pass", "exchange_signature": "pass", "partner_keys": "pass",
    "acceptance": "pass", "witness": "pass", "transcripts": "skip", "selector_scan": "skip",
}


# --- the happy path --------------------------------------------------------------------------------------


def test_round_trip(world):
    report = verify_bundle(world.final, **world.trust())
    assert statuses(report) == ALL_PASS, report.failures
    assert report.ok and report.exit_code == 0
    digest = bundle_digest(world.final)
    assert report.bundle_digest == digest == bundle_digest(world.sealed)
    assert bundle_statement(world.final) == (
        "zktx.bundle", {"bundle_digest": digest, "schema": "zktx-bundle/1", "pilot_run": META["pilot_run"]}
    )
    assert report.pilot_run == META["pilot_run"] and report.partners == ("bank-a", "bank-b", "bank-c")
    assert report.file_count == len(FILES)
    entries = unpack(world.final)
    assert list(entries) == [MANIFEST, SIGNATURES, *sorted(FILES), INCLUSION]
    assert {k: entries[k] for k in FILES} == FILES
    manifest = json.loads(entries[MANIFEST])
    assert INCLUSION not in [f["path"] for f in manifest["files"]]  # the proof is outside what it proves
    json.dumps(report.to_json())


def test_sealed_bundle_before_logging(world):
    report = verify_bundle(world.sealed, **world.trust())
    assert report.check("witness").code == "witness_missing" and report.exit_code == 7
    relaxed = verify_bundle(world.sealed, **world.trust(witness_key=None), require_witness=False)
    assert relaxed.ok and relaxed.check("witness").status == "skip"


def test_progress_hook(world):
    n = len(FILES)
    assert world.stages == [
        *[("hash", i, n) for i in range(1, n + 1)],
        *[("acceptance", i, 4) for i in range(1, 5)],
        ("sign", 1, 1),
        ("pack", 1, 1),
    ]


def test_deterministic_bytes(world):
    again = build_bundle(
        dict(reversed(list(FILES.items()))),
        meta=dict(reversed(list(META.items()))),
        exchange_key=EXCHANGE,
        partners=list(reversed(world.partners)),
        acceptances={k: world.acceptances[k] for k in ("bank-c", "bank-b", "bank-a")},
    )
    assert again == world.sealed
    assert attach_inclusion(again, leaf=world.leaf, proof=world.proof) == world.final
    other = draft_bundle(FILES, meta={**META, "pilot_run": "pilot-2025-0008"}, partners=world.partners,
                         exchange_public_key=EXCHANGE.public_key())
    assert other.acceptance_message != world.message


# --- content tampering ----------------------------------------------------------------------------------


def _flip(entries: dict[str, bytes]) -> None:
    body = entries["transcripts/session-1.json"]
    entries["transcripts/session-1.json"] = body.replace(b"true", b"tru3")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_flip, "file_digest_mismatch"),
        (lambda e: e.update({"logs/exchange.jsonl": e["logs/exchange.jsonl"] + b"{}\n"}), "file_size_mismatch"),
        (lambda e: e.update({"logs/extra.jsonl": b'{"smuggled":1}\n'}), "file_unlisted"),
        (lambda e: e.pop("config/pilot.json"), "file_missing"),
    ],
    ids=["modified", "resized", "extra", "missing"],
)
def test_file_tampering_is_detected(world, change, code):
    report = verify_bundle(repack(world.final, change), **world.trust())
    assert report.check("files").code == code
    assert report.exit_code == 4
    assert statuses(report) == {**ALL_PASS, "files": "fail"}  # signatures still hold: only the content lies


def test_manifest_edit_breaks_signatures_and_witness(world):
    def edit(entries):
        obj = json.loads(entries[MANIFEST])
        obj["meta"]["pilot_run"] = "pilot-2025-9999"
        entries[MANIFEST] = canonical_json(obj)

    report = verify_bundle(repack(world.final, edit), **world.trust())
    codes = report.codes()
    assert codes["exchange_signature"] == "signatures_digest_mismatch"
    assert codes["acceptance"] == "acceptance_invalid"
    assert codes["witness"] == "witness_digest_mismatch"
    assert report.exit_code == 5


# --- the exchange's signature ----------------------------------------------------------------------------


def test_wrong_exchange_signer(world):
    untrusted = verify_bundle(world.final, **world.trust(trusted_exchange_keys=[OTHER_EXCHANGE.public_key()]))
    assert untrusted.check("exchange_signature").code == "exchange_key_untrusted" and untrusted.exit_code == 5
    no_trust = verify_bundle(world.final, **world.trust(trusted_exchange_keys=[]))
    assert no_trust.check("exchange_signature").code == "exchange_key_untrusted"

    def forge(entries):
        digest = hashlib.sha256(entries[MANIFEST]).digest()
        entries[SIGNATURES] = signatures_doc(digest, OTHER_EXCHANGE.sign(exchange_message(digest)))

    forged = verify_bundle(repack(world.final, forge), **world.trust())
    assert forged.check("exchange_signature").code == "exchange_signature_invalid" and forged.exit_code == 5


def test_exchange_key_swapped_in_manifest(world):
    """Another exchange re-signs the bundle as its own: untrusted, and the partners never accepted it."""
    swapped = reseal(world.final, lambda o: o["exchange"].update(public_key=OTHER_EXCHANGE.public_key().public_bytes_raw().hex()),
                     exchange_key=OTHER_EXCHANGE)
    report = verify_bundle(swapped, **world.trust(), require_witness=False)
    assert report.codes()["exchange_signature"] == "exchange_key_untrusted"
    assert report.codes()["acceptance"] == "acceptance_invalid"


# --- the partners' acceptance ----------------------------------------------------------------------------


def test_aggregate_missing_a_partner(world):
    only_ab = bls.aggregate([world.acceptances["bank-a"], world.acceptances["bank-b"]])
    bundle = reseal(world.final, lambda o: o["acceptance"].update(aggregate_signature=only_ab.hex()))
    report = verify_bundle(bundle, **world.trust(), require_witness=False)
    assert report.check("partner_keys").status == "pass"
    assert report.check("acceptance").code == "acceptance_invalid" and report.exit_code == 6


def test_aggregate_with_an_unlisted_partner(world):
    with_d = bls.aggregate([world.acceptances[p] for p in ("bank-a", "bank-b", "bank-c", "bank-d")])
    bundle = reseal(world.final, lambda o: o["acceptance"].update(aggregate_signature=with_d.hex()))
    report = verify_bundle(bundle, **world.trust(), require_witness=False)
    assert report.check("acceptance").code == "acceptance_invalid" and report.exit_code == 6


def test_partner_trust(world):
    trusted = {p.id: p.public_key for p in world.partners}
    missing_c = verify_bundle(world.final, **world.trust(trusted_partner_keys={k: v for k, v in trusted.items() if k != "bank-c"}))
    assert missing_c.check("partner_keys").code == "partner_untrusted" and missing_c.exit_code == 6
    assert missing_c.check("acceptance").status == "pass"  # the math holds; the trust does not

    d_key = bls.public_key(world.sks["bank-d"])
    mismatch = verify_bundle(world.final, **world.trust(trusted_partner_keys={**trusted, "bank-c": d_key}))
    assert mismatch.check("partner_keys").code == "partner_key_mismatch"

    required = verify_bundle(world.final, **world.trust(), required_partners=["bank-a", "bank-z"])
    assert required.check("partner_keys").code == "partner_required_missing" and required.exit_code == 6
    assert verify_bundle(world.final, **world.trust(), required_partners=["bank-a", "bank-c"]).ok

    nobody = verify_bundle(world.final, **world.trust(trusted_partner_keys=None))
    assert nobody.check("partner_keys").code == "partner_untrusted"


def test_rogue_key_without_pop_is_refused(world):
    """A colluding exchange lists bank-b with a rogue key pk_r = x·G1 − pk_b and a bogus PoP; the
    attacker alone signs with x. The aggregate verifies by itself; the verifier refuses the key."""
    pk_b = next(p.public_key for p in world.partners if p.id == "bank-b")
    x = bls.keygen(b"\x66" * 32)
    rogue = bytes(G1_to_pubkey(add(multiply(G1, x.value), neg(pubkey_to_G1(pk_b)))))
    bogus_pop = bls.pop_prove(x)
    listing = [p.to_json() for p in world.partners if p.id == "bank-b"]
    listing.append({"id": "mallory", "bls_public_key": rogue.hex(), "pop": bogus_pop.hex()})
    forged_message = []

    def sign_as_x(message: bytes) -> bytes:
        forged_message.append(message)
        return bls.sign(x, message)

    bundle = reseal(world.final, lambda o: o.update(partners=listing), aggregate=sign_as_x)
    manifest = json.loads(unpack(bundle)[MANIFEST])
    forged = bytes.fromhex(manifest["acceptance"]["aggregate_signature"])
    assert G2ProofOfPossession.FastAggregateVerify([pk_b, rogue], forged_message[0], forged)  # a real forgery

    naive_trust = {"bank-b": pk_b, "mallory": rogue}  # even if someone trusted the rogue key
    report = verify_bundle(bundle, **world.trust(trusted_partner_keys=naive_trust), require_witness=False)
    assert report.check("partner_keys").code == "bls_pop_invalid"
    assert report.check("acceptance").status == "skip"  # never aggregated
    assert report.exit_code == 6

    rogue_partner = PartnerKey("mallory", rogue, bogus_pop)
    draft = draft_bundle(FILES, meta=META, partners=[world.partners[2], rogue_partner], exchange_public_key=EXCHANGE.public_key())
    with pytest.raises(BuildError) as exc:
        seal_bundle(draft, acceptances={"bank-b": b"\0" * 96, "mallory": b"\0" * 96}, exchange_key=EXCHANGE)
    assert exc.value.code == "bls_pop_invalid"


def test_builder_refuses_bad_acceptances(world):
    ok = {k: world.acceptances[k] for k in ("bank-a", "bank-b", "bank-c")}
    draft = draft_bundle(FILES, meta=META, partners=world.partners, exchange_public_key=EXCHANGE.public_key())
    for acceptances in ({k: v for k, v in ok.items() if k != "bank-b"}, {**ok, "bank-d": world.acceptances["bank-d"]}):
        with pytest.raises(BuildError) as exc:
            seal_bundle(draft, acceptances=acceptances, exchange_key=EXCHANGE)
        assert exc.value.code == "acceptance_partners_mismatch"
    with pytest.raises(BuildError) as exc:
        seal_bundle(draft, acceptances={**ok, "bank-c": world.acceptances["bank-d"]}, exchange_key=EXCHANGE)
    assert exc.value.code == "acceptance_invalid"
    assert "bank-c" in str(exc.value) and "bank-a" not in str(exc.value)
    with pytest.raises(BuildError) as exc:
        seal_bundle(draft, acceptances=ok, exchange_key=OTHER_EXCHANGE)
    assert exc.value.code == "exchange_key_mismatch"


def test_builder_input_checks(world):
    kwargs = {"meta": META, "partners": world.partners, "exchange_public_key": EXCHANGE.public_key()}
    for files, code in [
        ({"../evil.json": b"{}"}, "tar_unsafe_path"),
        ({"manifest.json": b"{}"}, "tar_path_not_allowed"),
        ({"logs/a.jsonl": b"{}\nnot json\n"}, "content_not_json"),
        ({"config/a.json": b"{}", "config/A.json": b"{}"}, "tar_duplicate"),
        ({}, "build_invalid"),
    ]:
        with pytest.raises(Exception) as exc:
            draft_bundle(files, **kwargs)
        assert getattr(exc.value, "code", None) == code, files
    with pytest.raises(Exception) as exc:
        draft_bundle(FILES, **{**kwargs, "meta": {"created_at": "x"}})
    assert exc.value.code == "manifest_invalid"


# --- witness inclusion ----------------------------------------------------------------------------------


def _edit_inclusion(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    def apply(entries):
        doc = json.loads(entries[INCLUSION])
        change(doc)
        entries[INCLUSION] = canonical_json(doc)

    return repack(data, apply)


def _flip_hash(doc):
    h = bytearray.fromhex(doc["proof"][0])
    h[0] ^= 1
    doc["proof"][0] = h.hex()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_flip_hash, "witness_inclusion_invalid"),
        (lambda d: d.update(proof=d["proof"][:-1]), "witness_inclusion_invalid"),
        (lambda d: d.update(leaf_index=d["leaf_index"] + 1), "witness_inclusion_invalid"),
        (lambda d: d.update(tree_size=d["tree_size"] + 1), "witness_tree_size_mismatch"),
        (lambda d: d.update(statement=d["statement"].replace('"schema"', '"schemA"')), "witness_statement_invalid"),
        (lambda d: d.update(checkpoint=d["checkpoint"].replace("\n9\n", "\n10\n")), "witness_checkpoint_signature"),
        (lambda d: d.update(proof="00"), "witness_inclusion_malformed"),
    ],
    ids=["hash", "short", "index", "size", "statement", "checkpoint", "malformed"],
)
def test_inclusion_tampering(world, change, code):
    report = verify_bundle(_edit_inclusion(world.final, change), **world.trust())
    assert report.check("witness").code == code
    assert report.exit_code == 7
    assert statuses(report) == {**ALL_PASS, "witness": "fail"}


def test_witness_trust(world):
    other_log = Ed25519Signer(ORIGIN, b"\x0e" * 32)
    wrong = verify_bundle(world.final, **world.trust(witness_key=other_log.verifier().key_string))
    assert wrong.check("witness").code == "witness_checkpoint_signature"
    missing = verify_bundle(world.final, **world.trust(witness_key=None))
    assert missing.check("witness").code == "witness_key_missing" and missing.exit_code == 7
    untrusted = verify_bundle(world.final, **world.trust(), trusted_statement_keys={LOG.verifier().key_string})
    assert untrusted.check("witness").code == "witness_statement_untrusted"
    assert verify_bundle(world.final, **world.trust(), trusted_statement_keys={SERVICE.verifier().key_string}).ok

    renamed = Ed25519Signer("elsewhere.example/log", b"\x0a" * 32)
    store = merkle.MemoryHashStore()
    store.append(world.leaf)
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, store.root()), [renamed])
    moved = attach_inclusion(world.sealed, leaf=world.leaf, proof={"leaf_index": 0, "tree_size": 1, "proof": [], "checkpoint": note.decode()})
    report = verify_bundle(moved, **world.trust(witness_key=renamed.verifier().key_string))
    assert report.check("witness").code == "witness_checkpoint_origin"


def test_statement_of_another_bundle(world):
    other = sign_statement("zktx.bundle", {"bundle_digest": "00" * 32, "pilot_run": "x"}, SERVICE).leaf
    proof = log_statement(other)
    with pytest.raises(InclusionError) as exc:
        attach_inclusion(world.sealed, leaf=other, proof=proof)
    assert exc.value.code == "witness_digest_mismatch"

    def swap(doc):
        doc.update(statement=other.decode(), proof=proof["proof"], leaf_index=proof["leaf_index"],
                   tree_size=proof["tree_size"], checkpoint=proof["checkpoint"])

    report = verify_bundle(_edit_inclusion(world.final, swap), **world.trust())
    assert report.check("witness").code == "witness_digest_mismatch"


def test_attach_inclusion_checks_the_proof(world):
    bad = {**world.proof, "proof": list(reversed(world.proof["proof"]))}
    with pytest.raises(InclusionError) as exc:
        attach_inclusion(world.sealed, leaf=world.leaf, proof=bad)
    assert exc.value.code == "witness_inclusion_invalid"
    with pytest.raises(InclusionError) as exc:
        attach_inclusion(world.sealed, leaf=world.leaf, proof=world.proof,
                         witness_key=Ed25519Signer(ORIGIN, b"\x0f" * 32).verifier().key_string)
    assert exc.value.code == "witness_checkpoint_invalid"
    with pytest.raises(InclusionError):
        attach_inclusion(world.sealed, leaf=world.leaf, proof={**world.proof, "root_hash": "00" * 32})
    # replacing an attached proof keeps one inclusion file
    assert attach_inclusion(world.final, leaf=world.leaf, proof=world.proof) == world.final


# --- transcripts and raw selectors ----------------------------------------------------------------------


class TranscriptRejected(Exception):
    code = "transcript_proof_invalid"


def _needs_proof_ok(path: str, data: bytes, files) -> None:
    assert "config/pilot.json" in files and MANIFEST not in files
    if not json.loads(data)["proof_ok"]:
        raise TranscriptRejected(f"{path}: proof does not verify")


def test_transcript_verifier_hook(world):
    seen = []
    report = verify_bundle(world.final, **world.trust(), transcript_verifier=lambda p, d, f: seen.append(p))
    assert report.check("transcripts").status == "pass"
    assert seen == ["transcripts/session-1.json", "transcripts/session-2.json"]
    rejected = verify_bundle(world.final, **world.trust(), transcript_verifier=_needs_proof_ok)
    check = rejected.check("transcripts")
    assert check.code == "transcript_proof_invalid" and check.problems == ("transcripts/session-2.json: transcripts/session-2.json: proof does not verify",)
    assert rejected.exit_code == 8


class BatchHook:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def verify_many(self, transcripts, files):
        self.calls.append(sorted(transcripts))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_batch_transcript_verifier(world):
    both = ["transcripts/session-1.json", "transcripts/session-2.json"]
    hook = BatchHook(dict.fromkeys(both))
    assert verify_bundle(world.final, **world.trust(), transcript_verifier=hook).check("transcripts").status == "pass"
    assert hook.calls == [both]  # one call for the whole run
    partial = verify_bundle(world.final, **world.trust(), transcript_verifier=BatchHook({both[0]: None}))
    assert partial.check("transcripts").code == "transcript_not_verified" and partial.exit_code == 8
    rejected = verify_bundle(world.final, **world.trust(),
                             transcript_verifier=BatchHook({both[0]: None, both[1]: TranscriptRejected("bad proof")}))
    assert rejected.check("transcripts").code == "transcript_proof_invalid"
    assert rejected.check("transcripts").problems == (f"{both[1]}: bad proof",)
    crashed = verify_bundle(world.final, **world.trust(), transcript_verifier=BatchHook(RuntimeError("boom")))
    assert len(crashed.check("transcripts").problems) == 2


def test_selector_scan_in_the_verifier(world):
    clean = verify_bundle(world.final, **world.trust(), raw_selectors=["+4915123456789", "alice@example.org"])
    assert clean.check("selector_scan").status == "pass" and clean.ok
    found = verify_bundle(world.final, **world.trust(), raw_selectors=["+4915123456789", "PILOT-2025-0007"])
    assert found.check("selector_scan").code == "raw_selector_found" and found.exit_code == 9
    assert "manifest.json" in found.check("selector_scan").problems[0]
