"""zktx.bundle.bls: the proof-of-possession scheme, and the rogue-key attack it exists to stop.

py_ecc is slow (≈0.2–0.6 s per operation): keys are made once per module and the tests are few.
"""

from __future__ import annotations

import pytest
from py_ecc.bls import G2ProofOfPossession
from py_ecc.bls.g2_primitives import G1_to_pubkey, pubkey_to_G1
from py_ecc.optimized_bls12_381 import G1, add, multiply, neg

from zktx.bundle import bls

MESSAGE = b"zktx-bundle/1 acceptance\n" + bytes(range(32))


@pytest.fixture(scope="module")
def keys():
    sks = [bls.keygen(bytes([i]) * 32, b"bls-test") for i in (1, 2)]
    pks = [bls.public_key(sk) for sk in sks]
    pops = [bls.pop_prove(sk) for sk in sks]
    return sks, pks, pops


def test_keygen_is_deterministic_and_needs_a_long_seed():
    assert bls.keygen(b"\x05" * 32) == bls.keygen(b"\x05" * 32)
    assert bls.keygen(b"\x05" * 32) != bls.keygen(b"\x06" * 32)
    sk = bls.keygen(b"\x05" * 32)
    assert str(sk.value) not in repr(sk)
    with pytest.raises(bls.BlsError) as exc:
        bls.keygen(b"short")
    assert exc.value.code == "bls_seed_too_short"


def test_pop_sign_aggregate_verify(keys):
    sks, pks, pops = keys
    verified = [bls.pop_verify(pk, pop) for pk, pop in zip(pks, pops, strict=True)]
    sigs = [bls.sign(sk, MESSAGE) for sk in sks]
    assert bls.verify(verified[0], MESSAGE, sigs[0])
    agg = bls.aggregate(sigs)
    assert bls.fast_aggregate_verify(verified, MESSAGE, agg)
    assert not bls.fast_aggregate_verify(verified[:1], MESSAGE, agg)  # a missing signer
    with pytest.raises(bls.BlsError) as exc:
        bls.fast_aggregate_verify([verified[0], verified[0]], MESSAGE, agg)
    assert exc.value.code == "bls_duplicate_key"
    with pytest.raises(bls.BlsError) as exc:
        bls.aggregate([])
    assert exc.value.code == "bls_aggregate_empty"


def test_pop_of_another_key_is_refused(keys):
    _, pks, pops = keys
    with pytest.raises(bls.BlsError) as exc:
        bls.pop_verify(pks[0], pops[1])
    assert exc.value.code == "bls_pop_invalid"
    with pytest.raises(bls.BlsError) as exc:
        bls.pop_verify(b"\xc0" + b"\0" * 47, pops[0])  # the identity point
    assert exc.value.code == "bls_key_invalid"
    with pytest.raises(bls.BlsError) as exc:
        bls.pop_verify(pks[0], pops[0][:95])
    assert exc.value.code == "bls_signature_malformed"


def test_unverified_keys_cannot_be_aggregated(keys):
    _, pks, _ = keys
    with pytest.raises(bls.BlsError) as exc:
        bls.fast_aggregate_verify([pks[0]], MESSAGE, b"\0" * 96)  # raw bytes, not PopVerifiedKey
    assert exc.value.code == "bls_key_unverified"
    with pytest.raises(bls.BlsError) as exc:
        bls.PopVerifiedKey(pks[0])
    assert exc.value.code == "bls_key_unverified"


def test_rogue_key_attack_is_stopped_by_pop(keys):
    """An attacker who knows only x publishes pk_r = x·G1 − pk_victim. Then pk_r + pk_victim = x·G1,
    so the attacker alone forges an "aggregate" by both. Plain FastAggregateVerify accepts it; our
    wrapper never aggregates pk_r because nobody can prove possession of its secret."""
    _, pks, _ = keys
    victim = pks[0]
    x = bls.keygen(b"\x99" * 32)
    rogue = G1_to_pubkey(add(multiply(G1, x.value), neg(pubkey_to_G1(victim))))
    forged = bls.sign(x, MESSAGE)
    assert G2ProofOfPossession.FastAggregateVerify([victim, rogue], MESSAGE, forged)  # the attack works...
    with pytest.raises(bls.BlsError) as exc:  # ...unless keys must prove possession first
        bls.pop_verify(bytes(rogue), bls.pop_prove(x))
    assert exc.value.code == "bls_pop_invalid"
