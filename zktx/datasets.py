"""Deterministic synthetic pilot datasets with ground truth (pure: no Django).

The same seed gives the same selectors. Both partners write the shared selectors in different
raw forms (``+44 20 7946 0018`` vs ``0044-20-7946-0018``; ``Ana.Ruiz@Example.org`` vs
``ana.ruiz@example.org``) so that the pilots exercise normalisation too. The ground truth of each
query (its true overlap with the holder set) is known here and only here: the exchange never sees
it, and it is never written to a bundle (the seed is not in the run's config either).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from zktx.protocol.selectors import normalize

_COUNTRIES = ("44", "49", "33", "34", "39", "31", "46", "48", "351", "353")
_FIRST = ("ana", "ben", "chloe", "dev", "eli", "fay", "gus", "hana", "ivo", "jun", "kai", "lea", "milo", "nia",
          "oren", "pia", "quin", "rosa", "sven", "tara", "uma", "vik", "wen", "xia", "yara", "zeno")
_LAST = ("ruiz", "okafor", "schmidt", "dubois", "rossi", "jansen", "nowak", "silva", "murphy", "berg", "kowal",
         "moreau", "costa", "novak", "larsen", "meyer", "brown", "tanaka", "haddad", "ivanova")
_DOMAINS = ("example.org", "example.com", "mail.example.net", "post.example.eu", "corp.example.io")


def _phone(rng: random.Random) -> str:
    cc = rng.choice(_COUNTRIES)
    n = 12 - len(cc)
    return "+" + cc + str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def _email(rng: random.Random, i: int) -> str:
    return f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{i}@{rng.choice(_DOMAINS)}"


def _raw_phone(canonical: str, style: int) -> str:
    digits = canonical[1:]
    if style == 0:
        return canonical
    if style == 1:
        return "00" + "-".join(digits[i : i + 3] for i in range(0, len(digits), 3))
    return "+" + " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _raw_email(canonical: str, style: int) -> str:
    if style == 0:
        return canonical
    local, domain = canonical.split("@")
    return f"{local.title()}@{domain.upper()}" if style == 1 else f"  {canonical}  "


def _raw(kind: str, canonical: str, style: int) -> str:
    return _raw_phone(canonical, style) if kind == "phone" else _raw_email(canonical, style)


@dataclass
class Dataset:
    """Raw selectors for the holder and for each query, and each query's true overlap."""

    kind: str
    k: int
    holder: list[str]
    queries: list[list[str]]
    overlaps: list[int]
    _all: set[str] = field(default_factory=set, repr=False)

    def expected(self, i: int) -> str:
        return "exceeds" if self.overlaps[i] > self.k else "within"

    def raw_selectors(self) -> list[str]:
        """Every raw form of every selector (for the raw-selector scans of logs and bundles)."""
        return sorted(self._all)


def overlap_plan(n: int, k: int, query_size: int, rng: random.Random) -> list[int]:
    """A mix of overlaps around the threshold: 0, k, k+1, small, large (bounded by the query size)."""
    base = [0, k, k + 1, max(0, k - 1), 2 * k + 2, 1, k + 2, query_size // 2]
    plan = [min(query_size, base[i % len(base)]) for i in range(n)]
    rng.shuffle(plan)
    return plan


def make_dataset(
    *, seed: int, holder_size: int, n_queries: int, query_size: int, k: int, kind: str = "phone",
    overlaps: list[int] | None = None,
) -> Dataset:
    """``holder_size`` distinct selectors; ``n_queries`` queries of ``query_size`` distinct selectors
    each, query ``i`` sharing exactly ``overlaps[i]`` selectors with the holder set (default: a mix
    around ``k``). Queries never repeat a selector of an earlier query (novelty rule)."""
    if kind not in ("phone", "email"):
        raise ValueError("kind is 'phone' or 'email'")
    rng = random.Random(seed)
    plan = overlaps if overlaps is not None else overlap_plan(n_queries, k, query_size, rng)
    if len(plan) != n_queries or any(not 0 <= o <= query_size for o in plan):
        raise ValueError("one overlap per query, each between 0 and the query size")
    need_members = sum(plan)
    if need_members > holder_size:
        raise ValueError("the queries need more distinct holder members than the holder set has")
    seen: set[str] = set()
    pool: list[str] = []
    i = 0
    total = holder_size + sum(query_size - o for o in plan)
    while len(pool) < total:
        value = _phone(rng) if kind == "phone" else _email(rng, i)
        i += 1
        canon = normalize(kind, value).value
        if canon not in seen:
            seen.add(canon)
            pool.append(canon)
    holder_canon = pool[:holder_size]
    outsiders = iter(pool[holder_size:])
    members = rng.sample(holder_canon, need_members)
    all_raw: set[str] = set()
    holder = []
    for j, c in enumerate(holder_canon):
        raw = _raw(kind, c, j % 3)
        holder.append(raw)
        all_raw.update({raw.strip(), c})
    queries = []
    cursor = 0
    for o in plan:
        chosen = members[cursor : cursor + o] + [next(outsiders) for _ in range(query_size - o)]
        cursor += o
        rng.shuffle(chosen)
        raws = [_raw(kind, c, (j + 1) % 3) for j, c in enumerate(chosen)]
        queries.append(raws)
        all_raw.update(r.strip() for r in raws)
        all_raw.update(chosen)
    return Dataset(kind, k, holder, queries, list(plan), all_raw)
