"""The log as a service: appends, sequencing, checkpoints, proofs, tiles, retention, builds."""

import threading

import pytest
from django.db import connection

from accounts.models import AuditEvent
from witness import keys, services
from witness.models import Checkpoint, Entry, StoredHash
from witness.tlog import merkle, tiles
from witness.tlog.checkpoint import open_checkpoint
from witness.tlog.statement import parse_statement

pytestmark = pytest.mark.django_db


def build(i: int) -> dict:
    return {"commit": f"{i:040x}", "artifacts": [{"name": f"a{i}", "sha256": "00" * 32, "size": i}]}


def append_many(n: int, start: int = 0) -> list[Entry]:
    return [services.statement_append(stype="build", body=build(start + i), service="builds") for i in range(n)]


def test_append_is_idempotent_and_signed():
    e1 = services.statement_append(stype="build", body=build(1), service="builds", wait=True)
    e2 = services.statement_append(stype="build", body=build(1), service="builds", wait=True)
    assert e1.pk == e2.pk and e1.index == e2.index == 0
    st = parse_statement(bytes(e1.payload), trusted_signers={keys.service_signer("builds").verifier().key_string})
    assert st.type == "build" and st.body == build(1)
    assert merkle.leaf_hash(bytes(e1.payload)).hex() == e1.leaf_hash


@pytest.mark.parametrize("stype,body,code", [
    ("nonsense", {}, "statement_unknown_type"),
    ("build", {"commit": "abc"}, "statement_invalid"),
    ("build", {"commit": "abc", "artifacts": [], "x": float("nan")}, "statement_invalid"),
    ("build", {"commit": "abc", "artifacts": ["x" * 70000]}, "statement_too_large"),
])
def test_bad_statements_are_refused_and_nothing_is_appended(stype, body, code):
    with pytest.raises(services.WitnessError) as err:
        services.statement_append(stype=stype, body=body, service="builds")
    assert err.value.code == code
    assert not Entry.objects.exists()


def test_sequencing_matches_an_in_memory_tree_and_checkpoints_verify():
    entries = append_many(300)
    cp = services.sequence_until_idle()
    assert cp.size == 300
    store = merkle.MemoryHashStore()
    for e in sorted(Entry.objects.all(), key=lambda e: e.index):
        store.append(bytes(e.payload))
    assert cp.root_hash == store.root().hex()
    assert sorted(Entry.objects.values_list("index", flat=True)) == list(range(300))
    assert StoredHash.objects.count() == merkle.stored_hash_count(300)
    body, _ = open_checkpoint(cp.note.encode(), [keys.log_signer().verifier()], origin=keys.log_origin())
    assert body.size == 300 and body.root_hash == store.root()
    # a second batch extends the tree consistently
    append_many(45, start=1000)
    cp2 = services.sequence_pending()
    proof = services.consistency_proof(first=300, second=345)
    merkle.verify_consistency(300, 345, bytes.fromhex(proof["first_root"]), bytes.fromhex(proof["second_root"]),
                              [bytes.fromhex(h) for h in proof["proof"]])
    assert cp2.size == 345 and len(entries) == 300


def test_inclusion_proofs_by_index_and_leaf_hash():
    append_many(37)
    services.sequence_pending()
    e = Entry.objects.get(index=17)
    for kwargs in ({"index": 17}, {"leaf_hash": e.leaf_hash}):
        p = services.inclusion_proof(tree_size=37, **kwargs)
        merkle.verify_inclusion(bytes.fromhex(p["leaf_hash"]), 17, 37, [bytes.fromhex(h) for h in p["proof"]],
                                bytes.fromhex(p["root_hash"]))
    with pytest.raises(services.WitnessError) as err:
        services.inclusion_proof(tree_size=38, index=1)
    assert err.value.code == "tree_size_out_of_range"
    with pytest.raises(services.WitnessError) as err:
        services.inclusion_proof(tree_size=37, index=37)
    assert err.value.code == "index_out_of_range"
    with pytest.raises(services.WitnessError) as err:
        services.inclusion_proof(leaf_hash="ab" * 32)
    assert err.value.code == "leaf_unknown"


def test_tiles_reproduce_the_tree():
    append_many(600)
    cp = services.sequence_until_idle()

    class Reader:
        def read_tiles(self, wanted):
            return [services.tile_data(t) for t in wanted]

    reader = tiles.TileHashReader(cp.size, bytes.fromhex(cp.root_hash), Reader())
    proof = merkle.prove_inclusion(cp.size, 513, reader)
    leaf = bytes.fromhex(Entry.objects.get(index=513).leaf_hash)
    merkle.verify_inclusion(leaf, 513, cp.size, proof, bytes.fromhex(cp.root_hash))
    with pytest.raises(services.WitnessError):
        services.tile_data(tiles.Tile(0, 3, 256))  # beyond the tree
    bundle = services.entry_bundle(tiles.Tile(0, 2, 88))
    assert [merkle.leaf_hash(x).hex() for x in tiles.decode_entry_bundle(bundle)] == list(
        Entry.objects.filter(index__gte=512).order_by("index").values_list("leaf_hash", flat=True)
    )


def test_every_audit_event_is_chained_into_the_log(world, django_capture_on_commit_callbacks):
    from accounts import services as accounts_services

    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.api_token_create(actor=world.users["oncall"], user=world.users["oncall"], name="t")
    event = AuditEvent.objects.get(action="accounts.token.create")
    statements = [parse_statement(bytes(e.payload)).body for e in Entry.objects.filter(stype="audit.event")]
    mine = [s for s in statements if s["id"] == str(event.pk)]
    assert len(mine) == 1
    assert mine[0]["action"] == "accounts.token.create" and mine[0]["actor"] == "u_oncall"
    assert mine[0]["details_sha256"] is not None  # details are committed to, not published


def test_retention_prunes_payloads_but_proofs_still_verify():
    from datetime import timedelta

    from django.utils import timezone

    append_many(10)
    cp = services.sequence_until_idle()
    later = timezone.now() + timedelta(days=40)
    statement = services.prune(actor="test", now=later, policy={"build": 30})
    assert Entry.objects.filter(stype="build", payload__isnull=True).count() == 10
    body = parse_statement(bytes(statement.payload)).body
    assert body["types"] == {"build": 10} and body["before_index"] == 10
    p = services.inclusion_proof(tree_size=cp.size, index=3)
    merkle.verify_inclusion(bytes.fromhex(p["leaf_hash"]), 3, cp.size, [bytes.fromhex(h) for h in p["proof"]],
                            bytes.fromhex(p["root_hash"]))
    with pytest.raises(services.WitnessError) as err:
        services.entry_bundle(tiles.Tile(0, 0, 10))
    assert err.value.code == "entries_pruned" and err.value.status == 410
    assert services.self_audit().ok


def test_record_build(tmp_path):
    art = tmp_path / "app.whl"
    art.write_bytes(b"wheel bytes")
    entry = services.record_build(commit="a" * 40, artifacts=[str(art)])
    body = parse_statement(bytes(entry.payload)).body
    assert body["artifacts"] == [{"name": "app.whl", "sha256": __import__("hashlib").sha256(b"wheel bytes").hexdigest(), "size": 11}]
    assert entry.index is not None
    with pytest.raises(services.WitnessError) as err:
        services.record_build(commit="not-a-sha", artifacts=[str(art)])
    assert err.value.code == "build_commit_invalid"
    with pytest.raises(services.WitnessError) as err:
        services.record_build(commit="b" * 40, artifacts=[str(tmp_path / "missing")])
    assert err.value.code == "build_artifact_missing"


def test_empty_log_serves_the_empty_tree_checkpoint():
    cp = services.ensure_checkpoint()
    assert cp.size == 0
    assert "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" in cp.note


@pytest.mark.django_db(transaction=True)
def test_concurrent_sequencers_leave_no_gaps_or_duplicates():
    append_many(400)
    errors = []

    def run():
        try:
            while services.sequence_pending(limit=37):
                pass
        except Exception as exc:  # collect for the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # worker processes of the suite may append statements meanwhile: every entry is sequenced exactly once
    indexes = sorted(Entry.objects.filter(index__isnull=False).values_list("index", flat=True))
    assert len(indexes) >= 400 and indexes == list(range(len(indexes)))
    assert not Entry.objects.filter(stype="build", index__isnull=True).exists()
    assert Checkpoint.objects.order_by("-size").first().size == 400
    assert services.self_audit().ok


def test_batch_append_skips_duplicates_and_sequences_like_single_appends():
    services.statement_append(stype="build", body=build(3), service="builds")
    n = services.statement_append_batch(stype="build", bodies=[build(i) for i in range(10)] + [build(4)], service="builds")
    assert n == 9  # build(3) existed, build(4) repeated
    cp = services.sequence_until_idle()
    assert cp.size == 10
    with pytest.raises(services.WitnessError):
        services.statement_append_batch(stype="build", bodies=[{"commit": "x"}], service="builds")
