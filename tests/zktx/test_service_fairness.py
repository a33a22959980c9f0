"""Fairness at the exchange: token buckets (429 + Retry-After), weighted fair queueing across tenants,
quotas visible to partners, and per-epoch query budgets and novelty."""

from __future__ import annotations

import time

import pytest

from tests.zktx.test_service_support import dataset, drain, make_env, open_epoch, raw_request, selectors
from zktx import services
from zktx.client.api import ApiError
from zktx.models import FairnessClock, Query, TenantQuota

pytestmark = pytest.mark.django_db


def test_burst_beyond_the_bucket_gets_429_with_retry_after_and_writes_nothing(world, tmp_path):
    env = make_env(world, tmp_path)
    services.quota_set(actor=world.users["admin"], organization=world.partner_b, burst=2, rate_per_minute=6)
    ds = dataset(41, n_queries=3)
    eid = open_epoch(env, ds.holder)
    for raw in ds.queries[:2]:
        env.querier.make_query(eid, selectors(raw))
    request = raw_request(env, eid, ds.queries[2], query_id="third")
    status, headers, body = env.querier.api.transport.request(
        "POST", "/api/zktx/queries", body=__import__("json").dumps({"epoch": eid, "request": request}).encode(),
        headers={"Authorization": f"Bearer {env.querier.api._token}", "Content-Type": "application/json"})
    assert status == 429
    assert b'"rate_limited"' in body
    retry = int(headers["retry-after"])
    assert 1 <= retry <= 10  # one token at 6/min: at most 10 s
    assert Query.objects.count() == 2
    quota = env.querier.api.quotas()[0]
    assert quota["organization"] == world.partner_b.slug and quota["burst"] == 2 and quota["throttled"] == 1
    assert quota["tokens_available"] < 1 and quota["retry_after"] >= 1
    assert quota["budgets"][0]["used"] == 2
    # time passes (the bucket's clock moves back by the advertised wait): the same request is admitted
    TenantQuota.objects.filter(pk=world.partner_b.pk).update(tokens_at=time.time() - retry)
    env.querier.api.submit_query(eid, request)
    assert Query.objects.count() == 3


def test_partners_see_only_their_own_quota_and_operators_see_all(world, tmp_path):
    env = make_env(world, tmp_path, register=False, share_pepper=False)
    assert [q["organization"] for q in env.holder.api.quotas()] == [world.partner_a.slug]
    assert {q["organization"] for q in env.operator.quotas()} == {world.partner_a.slug, world.partner_b.slug}


def test_per_epoch_budget_is_enforced(world, tmp_path):
    env = make_env(world, tmp_path, query_budget=2)
    ds = dataset(42, n_queries=3)
    eid = open_epoch(env, ds.holder)
    for raw in ds.queries[:2]:
        env.querier.make_query(eid, selectors(raw))
    with pytest.raises(ApiError) as exc:
        env.querier.make_query(eid, selectors(ds.queries[2]))
    assert (exc.value.status, exc.value.code) == (429, "query_budget_exhausted")
    assert exc.value.retry_after > 60  # until the epoch rotates (1 h here)
    assert Query.objects.count() == 2
    # the next epoch brings a fresh budget
    eid2 = open_epoch(env, ds.holder)
    env.querier.make_query(eid2, selectors(ds.queries[2]))


def test_repeating_a_query_with_one_new_selector_is_refused(world, tmp_path):
    env = make_env(world, tmp_path, min_novel=4)
    ds = dataset(43, n_queries=2)
    eid = open_epoch(env, ds.holder)
    env.querier.make_query(eid, selectors(ds.queries[0]))
    probe = ds.queries[0][:15] + ds.queries[1][:1]  # "same set plus one": 1 novel element < 4
    with pytest.raises(ApiError) as exc:
        env.querier.make_query(eid, selectors(probe))
    assert (exc.value.status, exc.value.code) == (400, "query_not_novel")
    env.querier.make_query(eid, selectors(ds.queries[1]))  # a genuinely new query is fine


def test_a_bursting_tenant_does_not_starve_a_light_one(world, tmp_path):
    """Two tenants share the exchange: partner_b bursts 8 large queries (pilot H), then partner_a asks
    2 small ones (pilot L). With capacity for 2 queries per round, the light tenant is served at once."""
    heavy = make_env(world, tmp_path, name="H", holder=world.partner_a, querier=world.partner_b, max_query=256)
    light = make_env(world, tmp_path, name="L", holder=world.partner_b, querier=world.partner_a, register=False)
    services.quota_set(actor=world.users["admin"], organization=world.partner_b, burst=50, rate_per_minute=600)
    ds_h = dataset(44, holder_size=300, n_queries=8, query_size=64, k=3)
    ds_l = dataset(45, holder_size=120, n_queries=2, query_size=16, k=3)
    e_h = open_epoch(heavy, ds_h.holder)
    e_l = open_epoch(light, ds_l.holder)
    heavy_q = [heavy.querier.make_query(e_h, selectors(raw))["id"] for raw in ds_h.queries]
    light_q = [light.querier.make_query(e_l, selectors(raw))["id"] for raw in ds_l.queries]
    heavy.holder.answer_pending()  # partner_a answers the heavy tenant's queries
    light.holder.answer_pending()  # partner_b answers the light tenant's
    assert Query.objects.filter(status="evaluated").count() == 10
    assert drain(capacity=2) == 2
    served = set(Query.objects.filter(status="verdict").values_list("id", flat=True))
    assert {str(x) for x in served} == set(light_q), "weighted fair queueing serves the light tenant first"
    assert drain(capacity=3) == 3
    assert Query.objects.filter(status="verdict", tenant=world.partner_b).count() == 3
    drain()
    assert Query.objects.filter(status="verdict").count() == 10
    assert FairnessClock.objects.get().virtual_time > 0
    # FIFO (submission order) would have served all 8 heavy queries first
    fifo = list(Query.objects.order_by("submitted_at").values_list("id", flat=True))
    assert {str(x) for x in fifo[:2]} <= set(heavy_q)


def test_the_heavier_weight_gets_the_larger_share(world, tmp_path):
    heavy = make_env(world, tmp_path, name="H", holder=world.partner_a, querier=world.partner_b)
    light = make_env(world, tmp_path, name="L", holder=world.partner_b, querier=world.partner_a, register=False)
    services.quota_set(actor=world.users["admin"], organization=world.partner_a, weight=3.0)
    ds_b = dataset(46, holder_size=120, n_queries=6, query_size=16)
    ds_a = dataset(47, holder_size=120, n_queries=6, query_size=16)
    e_b, e_a = open_epoch(heavy, ds_b.holder), open_epoch(light, ds_a.holder)
    for raw in ds_b.queries:
        heavy.querier.make_query(e_b, selectors(raw))
    for raw in ds_a.queries:
        light.querier.make_query(e_a, selectors(raw))
    heavy.holder.answer_pending()
    light.holder.answer_pending()
    drain(capacity=4)
    served = list(Query.objects.filter(status="verdict").values_list("tenant__slug", flat=True))
    assert served.count(world.partner_a.slug) == 3 and served.count(world.partner_b.slug) == 1  # 3:1 by weight
