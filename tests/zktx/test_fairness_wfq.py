"""The pure scheduling logic (zktx/fairness.py): token buckets and weighted fair queueing."""

from __future__ import annotations

import math
import random

import pytest

from zktx.fairness import FairQueue, TokenBucket, WfqState, admit_tags, simulate


def test_bucket_allows_a_burst_then_refuses_with_the_wait_for_one_token():
    b = TokenBucket.full(capacity=3, rate=0.5, now=100.0)
    for _ in range(3):
        b, d = b.take(100.0)
        assert d.allowed
    b, d = b.take(100.0)
    assert not d.allowed and d.retry_after == pytest.approx(2.0) and d.retry_after_header == 2
    b, d = b.take(101.0)  # half a token back: still no
    assert not d.allowed and d.retry_after == pytest.approx(1.0)
    b, d = b.take(102.0)
    assert d.allowed and d.remaining == pytest.approx(0.0)


def test_bucket_never_exceeds_its_capacity_and_ignores_a_clock_going_back():
    b = TokenBucket(capacity=5, rate=10, tokens=0, updated=50.0)
    assert b.refill(1e6).tokens == 5
    assert b.refill(40.0).tokens == 0 and b.refill(40.0).updated == 50.0


def test_retry_after_header_is_whole_seconds_at_least_one():
    b = TokenBucket(capacity=1, rate=100, tokens=0.99, updated=0.0)
    _, d = b.take(0.0)
    assert not d.allowed and 0 < d.retry_after < 1 and d.retry_after_header == 1
    _, never = TokenBucket(capacity=1, rate=0, tokens=0, updated=0).take(5.0)
    assert never.retry_after == math.inf


def test_wfq_tags_and_no_banked_credit_for_idle_tenants():
    s = WfqState()
    s, start, finish = s.admit("a", cost=10, weight=1)
    assert (start, finish) == (0, 10)
    s, start, finish = s.admit("a", cost=10, weight=2)
    assert (start, finish) == (10, 15)
    s = s.serve(100.0)  # a long time later, virtual time has moved on
    s, start, _ = s.admit("b", cost=1, weight=1)
    assert start == 100.0  # an idle tenant starts at V, not at 0
    assert s.serve(5.0).virtual_time == 100.0  # the clock never goes back
    assert admit_tags(3.0, 7.0, 4.0, 2.0) == (7.0, 9.0)
    with pytest.raises(ValueError):
        WfqState().tags("a", cost=0, weight=1)


def test_light_tenant_arriving_behind_a_burst_is_served_next():
    q = FairQueue()
    for _ in range(100):
        q.push("heavy", 64)
    q.push("light", 16)
    assert q.pop().tenant == "light"  # F = 16 < 64
    order = [q.pop().tenant for _ in range(5)]
    assert order == ["heavy"] * 5
    q.push("light", 16)  # arriving now, it starts at V (the heavy job in service), ahead of the backlog
    assert q.pop().tenant == "light"


def test_weights_give_proportional_shares_under_backlog():
    q = FairQueue(weights={"a": 3, "b": 1})
    for _ in range(400):
        q.push("a", 1)
        q.push("b", 1)
    served = [q.pop().tenant for _ in range(400)]
    assert served.count("a") / served.count("b") == pytest.approx(3, rel=0.02)


def test_simulation_skewed_tenant_vs_fifo():
    rng = random.Random(5)
    arrivals = [(0.0, "heavy", 64.0) for _ in range(60)]  # a burst at t=0
    arrivals += [(0.1 + i * 0.5 + rng.random() * 0.01, "light", 16.0) for i in range(10)]
    fair = simulate(arrivals, service_rate=128.0)
    fifo = simulate(arrivals, service_rate=128.0, fair=False)
    # with WFQ, every light query is done within ~one heavy job of arriving; with FIFO it waits for the burst
    assert fair.first_completion("light") < 0.8
    assert fifo.first_completion("light") > 25
    light_fair = sorted(fair.served["light"])
    assert all(done - arr[0] < 1.0 for done, arr in zip(light_fair, sorted(a for a in arrivals if a[1] == "light"), strict=True))
    assert len(fair.served["heavy"]) == len(fifo.served["heavy"]) == 60  # nobody loses work, only order changes


def test_simulation_bucket_throttles_the_burst():
    arrivals = [(0.0, "heavy", 1.0) for _ in range(30)] + [(0.0, "light", 1.0)]
    res = simulate(arrivals, service_rate=1000.0, buckets={"heavy": (10, 1.0)})
    assert res.admitted["heavy"] == 10 and res.throttled["heavy"] == 20 and res.admitted["light"] == 1
    assert res.throughput("heavy", 0, 1) == 10
