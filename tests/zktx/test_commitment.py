"""Sorted-set Merkle commitment: RFC 6962 roots, multiproofs, membership and non-membership."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from witness.tlog import merkle as rfc6962
from zktx.protocol import errors
from zktx.protocol.commitment import (
    MembershipClaim,
    Multiproof,
    SortedSetTree,
    check_claims,
    check_multiproof_against,
    multiproof_root,
    prove_memberships,
)


def elements(n: int, seed: int = 0) -> list[bytes]:
    return sorted({hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(n)})


def rfc6962_root(leaves: list[bytes]) -> bytes:
    store = rfc6962.MemoryHashStore()
    for leaf in leaves:
        store.append_leaf_hash(rfc6962.leaf_hash(leaf))
    return rfc6962.tree_hash(store.size, store)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 31, 33, 100])
def test_root_is_the_rfc6962_root(n: int) -> None:
    leaves = elements(n)
    assert SortedSetTree(leaves).root == rfc6962_root(leaves)


def test_rejects_unsorted_duplicate_and_empty_sets() -> None:
    leaves = elements(5)
    with pytest.raises(errors.SetNotCanonicalError):
        SortedSetTree(leaves[::-1])
    with pytest.raises(errors.SetNotCanonicalError):
        SortedSetTree([leaves[0], leaves[0]])
    with pytest.raises(errors.CommitmentInvalidError):
        SortedSetTree([])


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 70))
def test_multiproofs_round_trip(data: st.DataObject, n: int) -> None:
    tree = SortedSetTree(elements(n, seed=n))
    idx = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8))
    proof = tree.multiproof(idx)
    assert list(proof.indices) == sorted(set(idx))
    assert multiproof_root(n, proof) == tree.root
    check_multiproof_against(tree, proof)
    # a single-leaf multiproof holds the hashes of the RFC 6962 inclusion proof (in DFS order)
    j = idx[0]
    store = rfc6962.MemoryHashStore()
    for leaf in tree.elements:
        store.append_leaf_hash(rfc6962.leaf_hash(leaf))
    audit_path = rfc6962.prove_inclusion(n, j, store)
    rfc6962.verify_inclusion(rfc6962.leaf_hash(tree.elements[j]), j, n, audit_path, tree.root)
    assert sorted(tree.multiproof([j]).siblings) == sorted(audit_path)


def test_tampered_multiproofs_are_rejected() -> None:
    tree = SortedSetTree(elements(40))
    proof = tree.multiproof([3, 17, 39])
    bad_sibling = Multiproof(proof.indices, proof.values, (os.urandom(32), *proof.siblings[1:]))
    bad_value = Multiproof(proof.indices, (os.urandom(32), *proof.values[1:]), proof.siblings)
    shifted = Multiproof((4, 17, 39), proof.values, proof.siblings)
    extra = Multiproof(proof.indices, proof.values, (*proof.siblings, os.urandom(32)))
    short = Multiproof(proof.indices, proof.values, proof.siblings[:-1])
    unsorted = Multiproof((17, 3, 39), proof.values, proof.siblings)
    for bad in (bad_sibling, bad_value, shifted):
        assert multiproof_root(tree.size, bad) != tree.root
        with pytest.raises(errors.MembershipInvalidError):
            check_multiproof_against(tree, bad)
    for bad in (extra, short, unsorted):
        with pytest.raises(errors.MembershipInvalidError):
            multiproof_root(tree.size, bad)
        with pytest.raises(errors.MembershipInvalidError):
            check_multiproof_against(tree, bad)
    with pytest.raises(errors.MembershipInvalidError):
        multiproof_root(39, proof)  # index 39 out of range for a smaller tree


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), q=st.integers(1, 12), seed=st.integers(0, 1000))
def test_membership_claims_count_the_intersection(n: int, q: int, seed: int) -> None:
    holder = elements(n, seed)
    tree = SortedSetTree(holder)
    query = sorted(set(holder[: q // 2] + elements(q, seed + 5000)))
    claims, proof = prove_memberships(tree, query)
    assert multiproof_root(n, proof) == tree.root
    count = check_claims(n, query, claims, proof.leaves())
    assert count == len(set(query) & set(holder))


def test_boundary_claims_and_lies() -> None:
    holder = [bytes([x]) * 32 for x in (10, 20, 30)]
    tree = SortedSetTree(holder)
    below, between, above, member = bytes([5]) * 32, bytes([25]) * 32, bytes([40]) * 32, bytes([20]) * 32
    claims, proof = prove_memberships(tree, [below, between, above, member])
    assert claims == [
        MembershipClaim(False, 0),
        MembershipClaim(False, 2),
        MembershipClaim(False, 3),
        MembershipClaim(True, 1),
    ]
    leaves = proof.leaves()
    assert check_claims(3, [below, between, above, member], claims, leaves) == 1
    lies = [
        ([member], [MembershipClaim(False, 1)]),  # a member claimed absent
        ([between], [MembershipClaim(True, 2)]),  # an absent element claimed present
        ([between], [MembershipClaim(False, 1)]),  # wrong insertion point
        ([above], [MembershipClaim(False, 4)]),  # out of range
    ]
    for elems, bad in lies:
        with pytest.raises(errors.MembershipInvalidError):
            check_claims(3, elems, bad, leaves)
    with pytest.raises(errors.MembershipInvalidError):  # neighbour leaf missing from the proof
        check_claims(3, [between], [MembershipClaim(False, 2)], {1: holder[1]})


def test_multiproofs_of_larger_trees() -> None:
    """The prover's bottom-up multiproof is consumed exactly by the verifier's depth-first walk."""
    import random

    rnd = random.Random(7)
    for n in (257, 1000, 4097):
        tree = SortedSetTree(elements(n, seed=n))
        for size in (1, 2, 17, 64):
            idx = rnd.sample(range(n), size)
            proof = tree.multiproof(idx)
            assert multiproof_root(n, proof) == tree.root
            check_multiproof_against(tree, proof)
    full = SortedSetTree(elements(100, seed=1)).multiproof(range(100))
    assert full.siblings == ()
