"""Fair sharing of the exchange between tenants: token buckets and weighted fair queueing.

Pure module (no Django): the service (:mod:`zktx.services`) keeps the state in the database under a
row lock and calls these functions inside the transaction, so the same rules hold across
processes (PostgreSQL row locks) and in embedded mode (SQLite IMMEDIATE transactions).

**Admission — token bucket per tenant.** A tenant may submit ``burst`` queries at once and then
``rate`` queries per second on average. :meth:`TokenBucket.take` returns the new bucket and a
:class:`Decision`; a refused request carries ``retry_after`` (seconds until a token is back),
which the API sends as HTTP 429 ``Retry-After``.

**Service order — weighted fair queueing (self-clocked, virtual finish times).** Admitted work
of every tenant waits in one queue at the exchange. Each job gets tags when it is admitted::

    start  = max(V, last_finish[tenant])
    finish = start + cost / weight[tenant]

and the exchange always serves the job with the smallest ``finish`` (ties: smallest ``start``,
then arrival). ``V``, the system's virtual time, moves to the ``start`` tag of the job taken
into service (start-time self-clocking, Goyal et al. 1996 / Golestani 1994), so it needs no
knowledge of the server's real speed. A tenant that bursts 100 jobs gets finish tags far in the
future; a light tenant arriving later starts at ``V`` and is served within one job of its
arrival: a burst or a skewed (large-query) tenant cannot starve anyone. An idle tenant does not
bank credit: its start tag is at least ``V``.

:func:`simulate` runs both mechanisms over an arrival script (tests, the pilot's fairness report
and ``bench/zktx_service.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Decision",
    "FairQueue",
    "QueuedJob",
    "SimResult",
    "TokenBucket",
    "WfqState",
    "simulate",
]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of a token bucket: allowed or not, tokens left, and when to retry."""

    allowed: bool
    remaining: float
    retry_after: float  # seconds; 0.0 when allowed

    @property
    def retry_after_header(self) -> int:
        """``Retry-After`` as HTTP wants it: whole seconds, at least 1 when refused."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after))


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """A token bucket: ``capacity`` tokens at most, refilled at ``rate`` tokens per second.

    ``updated`` is the time (seconds, any monotone clock shared by the callers: the service uses
    the Unix time) of the last refill.
    """

    capacity: float
    rate: float
    tokens: float
    updated: float

    def __post_init__(self) -> None:
        if not (self.capacity > 0 and self.rate >= 0 and math.isfinite(self.capacity) and math.isfinite(self.rate)):
            raise ValueError("a token bucket needs capacity > 0 and a finite rate >= 0")

    @classmethod
    def full(cls, capacity: float, rate: float, now: float) -> TokenBucket:
        return cls(capacity, rate, capacity, now)

    def refill(self, now: float) -> TokenBucket:
        elapsed = max(0.0, now - self.updated)  # a clock going backwards never removes tokens
        tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        return replace(self, tokens=tokens, updated=max(now, self.updated))

    def peek(self, now: float, n: float = 1.0) -> Decision:
        b = self.refill(now)
        if b.tokens + 1e-9 >= n:
            return Decision(True, b.tokens - n, 0.0)
        if n > self.capacity or self.rate == 0:
            return Decision(False, b.tokens, math.inf)
        return Decision(False, b.tokens, (n - b.tokens) / self.rate)

    def take(self, now: float, n: float = 1.0) -> tuple[TokenBucket, Decision]:
        """Take ``n`` tokens if there are enough (the bucket is refilled first)."""
        if n < 0:
            raise ValueError("cannot take a negative number of tokens")
        b = self.refill(now)
        d = b.peek(now, n)
        if d.allowed:
            return replace(b, tokens=max(0.0, b.tokens - n)), d
        return b, d


# --------------------------------------------------------------------------- WFQ


@dataclass(frozen=True, slots=True)
class WfqState:
    """The virtual clock and every tenant's last finish tag."""

    virtual_time: float = 0.0
    last_finish: Mapping[str, float] = field(default_factory=dict)

    def tags(self, tenant: str, cost: float, weight: float) -> tuple[float, float]:
        """``(start, finish)`` tags for a new job of ``tenant`` (does not change the state)."""
        if cost <= 0 or weight <= 0 or not math.isfinite(cost) or not math.isfinite(weight):
            raise ValueError("cost and weight must be positive and finite")
        start = max(self.virtual_time, self.last_finish.get(tenant, 0.0))
        return start, start + cost / weight

    def admit(self, tenant: str, cost: float, weight: float) -> tuple[WfqState, float, float]:
        start, finish = self.tags(tenant, cost, weight)
        return WfqState(self.virtual_time, {**self.last_finish, tenant: finish}), start, finish

    def serve(self, start_tag: float) -> WfqState:
        """The job with ``start_tag`` goes into service: advance the virtual clock (never back)."""
        return WfqState(max(self.virtual_time, start_tag), self.last_finish)


def admit_tags(virtual_time: float, last_finish: float, cost: float, weight: float) -> tuple[float, float]:
    """Tags for one tenant without building a :class:`WfqState` (what the service stores per row)."""
    return WfqState(virtual_time, {"t": last_finish}).tags("t", cost, weight)


@dataclass(frozen=True, slots=True, order=True)
class QueuedJob:
    """A job in the fair queue; ordering = service order (finish, start, arrival sequence)."""

    finish: float
    start: float
    seq: int
    tenant: str = field(compare=False)
    cost: float = field(compare=False)
    ref: Any = field(default=None, compare=False)


class FairQueue:
    """An in-memory WFQ queue (the service keeps the same tags in database rows instead)."""

    def __init__(self, weights: Mapping[str, float] | None = None, default_weight: float = 1.0) -> None:
        self.state = WfqState()
        self.weights = dict(weights or {})
        self.default_weight = default_weight
        self._jobs: list[QueuedJob] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def push(self, tenant: str, cost: float, ref: Any = None) -> QueuedJob:
        self.state, start, finish = self.state.admit(tenant, cost, self.weights.get(tenant, self.default_weight))
        job = QueuedJob(finish, start, self._seq, tenant, cost, ref)
        self._seq += 1
        self._jobs.append(job)
        return job

    def pop(self) -> QueuedJob:
        if not self._jobs:
            raise IndexError("the queue is empty")
        job = min(self._jobs)
        self._jobs.remove(job)
        self.state = self.state.serve(job.start)
        return job

    def backlog(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self._jobs:
            out[j.tenant] = out.get(j.tenant, 0) + 1
        return out


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True, slots=True)
class SimResult:
    """What :func:`simulate` observed, per tenant."""

    served: Mapping[str, list[float]]  # completion times per tenant
    throttled: Mapping[str, int]
    admitted: Mapping[str, int]
    order: Sequence[str]  # tenants in service order

    def throughput(self, tenant: str, start: float, end: float) -> float:
        """Jobs of ``tenant`` completed per second in ``[start, end)``."""
        if end <= start:
            raise ValueError("empty window")
        return sum(1 for t in self.served.get(tenant, []) if start <= t < end) / (end - start)

    def first_completion(self, tenant: str) -> float | None:
        times = self.served.get(tenant) or []
        return min(times) if times else None


def simulate(
    arrivals: Iterable[tuple[float, str, float]],
    *,
    service_rate: float,
    weights: Mapping[str, float] | None = None,
    buckets: Mapping[str, tuple[float, float]] | None = None,
    fair: bool = True,
) -> SimResult:
    """Discrete-event run of one server doing ``service_rate`` cost units per second.

    ``arrivals``: ``(time, tenant, cost)``; ``buckets``: tenant → ``(capacity, rate)`` (no bucket:
    unlimited admission); ``fair=False`` serves in arrival order (FIFO) for comparison.
    """
    if service_rate <= 0:
        raise ValueError("service_rate must be positive")
    events = sorted(arrivals, key=lambda a: a[0])
    bucket_state: dict[str, TokenBucket] = {}
    queue = FairQueue(weights)
    fifo: list[QueuedJob] = []
    served: dict[str, list[float]] = {}
    throttled: dict[str, int] = {}
    admitted: dict[str, int] = {}
    order: list[str] = []
    now = 0.0
    busy_until = 0.0
    i = 0
    seq = 0

    def pending() -> int:
        return len(queue) if fair else len(fifo)

    while i < len(events) or pending():
        # admit everything that has arrived by the time the server is free
        horizon = max(now, busy_until)
        while i < len(events) and (events[i][0] <= horizon or not pending()):
            t, tenant, cost = events[i]
            i += 1
            now = max(now, t)
            if buckets and tenant in buckets:
                cap, rate = buckets[tenant]
                b = bucket_state.get(tenant) or TokenBucket.full(cap, rate, t)
                b, d = b.take(t)
                bucket_state[tenant] = b
                if not d.allowed:
                    throttled[tenant] = throttled.get(tenant, 0) + 1
                    continue
            admitted[tenant] = admitted.get(tenant, 0) + 1
            if fair:
                queue.push(tenant, cost)
            else:
                fifo.append(QueuedJob(0.0, 0.0, seq, tenant, cost))
                seq += 1
            horizon = max(now, busy_until)
        if not pending():
            continue
        job = queue.pop() if fair else fifo.pop(0)
        start_time = max(busy_until, now)
        busy_until = start_time + job.cost / service_rate
        served.setdefault(job.tenant, []).append(busy_until)
        order.append(job.tenant)
        now = start_time
    return SimResult(served, throttled, admitted, order)
