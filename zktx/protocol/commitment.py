"""Commitment to a sorted set of group elements: an RFC 6962 Merkle tree with multiproofs.

The leaves are the 32-byte encodings of the doubly-blinded holder elements, **sorted
bytewise and distinct**. Hashing is RFC 6962 / RFC 9162 §2.1.1 (domain-separated):
``leaf = SHA-256(0x00 || element)``, ``node = SHA-256(0x01 || left || right)``, the tree of
``n`` leaves split at the largest power of two below ``n``. Because the leaves are sorted,
one proof shows both kinds of claim about a query element ``e``:

* **in at j** — leaf ``j`` equals ``e``;
* **out at j** (``0 ≤ j ≤ n``) — leaf ``j-1 < e < `` leaf ``j`` (bytewise), where a missing
  neighbour (``j = 0`` or ``j = n``) is the boundary.

A :class:`Multiproof` proves several leaves at once: their indices and values, and the
*siblings* — the hashes of the maximal subtrees that contain no proven leaf — listed in the
order a depth-first, left-to-right walk of the RFC 6962 tree meets them
(:func:`multiproof_root` is that walk; ``docs/zktx-protocol.md`` §6 gives it as pseudocode).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from zktx.protocol.errors import CommitmentInvalidError, MembershipInvalidError, SetNotCanonicalError

HASH_BYTES: Final = 32
ELEMENT_BYTES: Final = 32

_sha256 = hashlib.sha256


def leaf_hash(element: bytes) -> bytes:
    """``SHA-256(0x00 || element)`` (RFC 9162 §2.1.1)."""
    return _sha256(b"\x00" + element).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return _sha256(b"\x01" + left + right).digest()


def check_sorted_distinct(elements: Sequence[bytes], what: str = "elements") -> None:
    """Raise ``set_not_canonical`` unless ``elements`` is strictly increasing (bytewise)."""
    for i in range(1, len(elements)):
        if not elements[i - 1] < elements[i]:
            raise SetNotCanonicalError(
                f"{what} must be strictly increasing: position {i} is "
                + ("a duplicate" if elements[i - 1] == elements[i] else "out of order")
            )


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class SortedSetTree:
    """The Merkle tree over a sorted, distinct list of element encodings (all levels kept).

    Levels are built bottom-up; an unpaired last node is carried up unchanged, which gives
    exactly the RFC 6962 tree. ``levels[h][j]`` covers leaves ``[j·2^h, min((j+1)·2^h, n))``.
    """

    __slots__ = ("elements", "levels")

    def __init__(self, elements: Sequence[bytes], *, check: bool = True) -> None:
        elems = list(elements)
        if not elems:
            raise CommitmentInvalidError("a committed set must not be empty")
        if check:
            check_sorted_distinct(elems)
        self.elements: list[bytes] = elems
        level = [_sha256(b"\x00" + e).digest() for e in elems]
        levels = [level]
        while len(level) > 1:
            nxt = [_sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            levels.append(nxt)
            level = nxt
        self.levels: list[list[bytes]] = levels

    @property
    def size(self) -> int:
        return len(self.elements)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def subtree_hash(self, lo: int, hi: int) -> bytes:
        """Hash of the RFC 6962 subtree over leaves ``[lo, hi)`` (a node of the split tree)."""
        h = (hi - lo - 1).bit_length()
        return self.levels[h][lo >> h]

    def locate(self, element: bytes) -> tuple[bool, int]:
        """``(True, j)`` if leaf ``j`` is ``element``, else ``(False, j)`` with ``j`` its insertion point."""
        j = bisect.bisect_left(self.elements, element)
        return (j < len(self.elements) and self.elements[j] == element), j

    def multiproof(self, indices: Sequence[int]) -> Multiproof:
        """A proof for the leaves at ``indices`` (any order, duplicates ignored).

        Computed bottom-up: at each level, the sibling of every node on a proven path that is
        not itself on one; a sibling subtree starting at leaf ``s·2^h`` is met by the
        depth-first walk of :func:`multiproof_root` in the order of those starts, so sorting by
        start gives the walk's order (the tests check both agree).
        """
        wanted = sorted(set(indices))
        n = self.size
        if wanted and not (wanted[0] >= 0 and wanted[-1] < n):
            raise MembershipInvalidError("multiproof index out of range")
        found: list[tuple[int, bytes]] = []
        known = wanted
        for h, level in enumerate(self.levels[:-1]):
            width = len(level)
            on_path = set(known)
            for j in known:
                sib = j ^ 1
                if sib < width and sib not in on_path:
                    found.append((sib << h, level[sib]))
            parents: list[int] = []
            for j in known:
                if not parents or parents[-1] != j >> 1:
                    parents.append(j >> 1)
            known = parents
        found.sort()
        return Multiproof(tuple(wanted), tuple(self.elements[i] for i in wanted), tuple(h for _, h in found))


@dataclass(frozen=True, slots=True)
class Multiproof:
    """Leaves ``values[i]`` at ``indices[i]`` (strictly increasing) and the sibling hashes."""

    indices: tuple[int, ...]
    values: tuple[bytes, ...]
    siblings: tuple[bytes, ...]

    def leaves(self) -> dict[int, bytes]:
        return dict(zip(self.indices, self.values, strict=True))


def multiproof_root(size: int, proof: Multiproof) -> bytes:
    """Recompute the root of a tree of ``size`` leaves from a multiproof.

    Raises ``membership_invalid`` if the proof is inconsistent with ``size`` (an index out
    of range, indices not strictly increasing, too few or too many siblings).
    """
    idx, vals, sibs = proof.indices, proof.values, proof.siblings
    if size < 1:
        raise MembershipInvalidError("tree size must be positive")
    if not idx or len(idx) != len(vals):
        raise MembershipInvalidError("a multiproof needs at least one leaf, with one value per index")
    for i in range(len(idx)):
        if not 0 <= idx[i] < size or (i and idx[i] <= idx[i - 1]):
            raise MembershipInvalidError("multiproof indices must be strictly increasing and in range")
    for v in vals:
        if not isinstance(v, bytes) or len(v) != ELEMENT_BYTES:
            raise MembershipInvalidError("multiproof leaf values must be 32-byte encodings")
    for s in sibs:
        if not isinstance(s, bytes) or len(s) != HASH_BYTES:
            raise MembershipInvalidError("multiproof siblings must be 32-byte hashes")
    pos = 0
    nsib = len(sibs)

    def walk(lo: int, hi: int, a: int, b: int) -> bytes:
        nonlocal pos
        if a == b:
            if pos >= nsib:
                raise MembershipInvalidError("multiproof has too few sibling hashes")
            pos += 1
            return sibs[pos - 1]
        if hi - lo == 1:
            return _sha256(b"\x00" + vals[a]).digest()
        mid = lo + _split(hi - lo)
        m = bisect.bisect_left(idx, mid, a, b)
        left = walk(lo, mid, a, m)
        return _sha256(b"\x01" + left + walk(mid, hi, m, b)).digest()

    root = walk(0, size, 0, len(idx))
    if pos != nsib:
        raise MembershipInvalidError("multiproof has unused sibling hashes")
    return root


def check_multiproof_against(tree: SortedSetTree, proof: Multiproof) -> None:
    """Check a multiproof against a tree already verified (per-epoch cache): no hashing.

    Equivalent to ``multiproof_root(tree.size, proof) == tree.root`` (a proof's leaves and
    siblings are unique for a given tree and index set), but only compares stored values.
    """
    if not proof.indices or list(proof.indices) != sorted(set(proof.indices)):
        raise MembershipInvalidError("multiproof indices must be strictly increasing and non-empty")
    if len(proof.values) != len(proof.indices):
        raise MembershipInvalidError("a multiproof needs one value per index")
    expected = tree.multiproof(proof.indices)
    if expected.values != tuple(proof.values):
        raise MembershipInvalidError("multiproof leaf values differ from the committed set")
    if expected.siblings != tuple(proof.siblings):
        raise MembershipInvalidError("multiproof sibling hashes differ from the committed tree")


@dataclass(frozen=True, slots=True)
class MembershipClaim:
    """``member`` True: leaf ``index`` equals the element; False: it falls before leaf ``index``."""

    member: bool
    index: int


def prove_memberships(
    tree: SortedSetTree, elements: Sequence[bytes]
) -> tuple[list[MembershipClaim], Multiproof]:
    """Claims for each element (in or out of the committed set) and one multiproof covering them."""
    claims: list[MembershipClaim] = []
    needed: set[int] = set()
    n = tree.size
    for e in elements:
        found, j = tree.locate(e)
        claims.append(MembershipClaim(found, j))
        if found:
            needed.add(j)
        else:
            if j > 0:
                needed.add(j - 1)
            if j < n:
                needed.add(j)
    return claims, tree.multiproof(sorted(needed))


def check_claims(
    size: int, elements: Sequence[bytes], claims: Sequence[MembershipClaim], leaves: Mapping[int, bytes]
) -> int:
    """Check every claim against the proven ``leaves``; return how many elements are members.

    Raises ``membership_invalid`` naming the first element whose claim does not hold.
    """
    if len(claims) != len(elements):
        raise MembershipInvalidError("one membership claim per query element is required")
    count = 0
    for i, (e, claim) in enumerate(zip(elements, claims, strict=True)):
        j = claim.index
        if claim.member:
            if leaves.get(j) != e:
                raise MembershipInvalidError(f"element {i}: claimed member at leaf {j}, but the leaf differs")
            count += 1
        else:
            if not 0 <= j <= size:
                raise MembershipInvalidError(f"element {i}: insertion point {j} out of range")
            lower = leaves.get(j - 1) if j > 0 else None
            upper = leaves.get(j) if j < size else None
            if (j > 0 and lower is None) or (j < size and upper is None):
                raise MembershipInvalidError(f"element {i}: the neighbouring leaves are not in the proof")
            if (lower is not None and not lower < e) or (upper is not None and not e < upper):
                raise MembershipInvalidError(f"element {i}: not between the claimed neighbouring leaves")
    return count


__all__ = [
    "HASH_BYTES",
    "MembershipClaim",
    "Multiproof",
    "SortedSetTree",
    "check_claims",
    "check_multiproof_against",
    "check_sorted_distinct",
    "leaf_hash",
    "multiproof_root",
    "node_hash",
    "prove_memberships",
]
