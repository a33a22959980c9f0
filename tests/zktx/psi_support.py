"""Shared builders for the PSI tests: small deterministic sessions and tampering helpers."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from zktx.protocol.selectors import Selector, normalize
from zktx.protocol.simulate import Scenario, new_scenario
from zktx.protocol.transcript import Policy, b64d, b64e


def phones(indices: range | list[int]) -> list[Selector]:
    return [normalize("phone", f"+3361{i:07d}") for i in indices]


def scenario(*, k: int = 3, seed: bytes = b"psi-tests", min_holder_set: int = 4, **policy: int) -> Scenario:
    return new_scenario(Policy(k=k, min_holder_set=min_holder_set, **policy), seed=seed)


def mutate(obj: dict[str, Any], path: tuple[str | int, ...], fn: Callable[[Any], Any]) -> dict[str, Any]:
    """A deep copy of ``obj`` with the value at ``path`` replaced by ``fn(value)``."""
    out = copy.deepcopy(obj)
    cur: Any = out
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = fn(cur[path[-1]])
    return out


def flip_b64(text: str, byte: int = 0, mask: int = 0x01) -> str:
    raw = bytearray(b64d(text))
    raw[byte] ^= mask
    return b64e(bytes(raw))


def replace_element(text: str, index: int, new: bytes) -> str:
    raw = bytearray(b64d(text))
    raw[32 * index : 32 * index + 32] = new
    return b64e(bytes(raw))


def rng(seed: int) -> random.Random:
    return random.Random(seed)
