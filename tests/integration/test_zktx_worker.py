"""ZK-TX on real workers: the ``zktx`` queue commits epochs, serves the fair queue and exports bundles;
the partner CLI talks HTTP to a live server. Both runtime modes."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_celery_channels import wait_for
from tests.zktx.test_service_support import dataset, make_env, selectors, start_epoch
from trustfabric.celery import app
from zktx.client.__main__ import main as client_main
from zktx.client.api import ExchangeApi, UrllibTransport
from zktx.models import AuditBundle, Epoch, Query

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_exchange_work_and_the_export_task_run_on_the_zktx_worker(world, tmp_path, celery_worker):
    for task in ("zktx.tasks.export_bundle", "zktx.tasks.epoch_commit", "zktx.tasks.process_queue"):
        assert app.amqp.router.route({}, task)["queue"].name == "zktx"
    env = make_env(world, tmp_path, k=2)
    ds = dataset(81, holder_size=120, n_queries=2, query_size=16, k=2)
    run = env.operator.start_run("W", [env.pilot["id"]])
    eid = start_epoch(env, run["id"])
    env.holder.upload_holder_set(eid, selectors(ds.holder))
    env.querier.answer_pending()  # the evaluation dispatches zktx.tasks.epoch_commit
    wait_for(lambda: Epoch.objects.filter(pk=eid, status="open").exists(), timeout=60)
    for raw in ds.queries:
        env.querier.make_query(eid, selectors(raw))
    env.holder.answer_pending()  # each evaluation dispatches zktx.tasks.process_queue
    wait_for(lambda: Query.objects.filter(status="verdict").count() == 2, timeout=60)
    b = env.operator.export_bundle(run["id"])  # dispatches zktx.tasks.export_bundle
    wait_for(lambda: AuditBundle.objects.filter(pk=b["id"], status="awaiting_acceptance").exists(), timeout=60)
    env.holder.sign_acceptance(b["id"])
    env.querier.sign_acceptance(b["id"])  # the last acceptance dispatches the sealing step
    bundle = wait_for(lambda: AuditBundle.objects.filter(pk=b["id"], status="ready").first(), timeout=120)
    assert bundle.progress["stage"] == "ready" and bundle.bundle_digest and bundle.witness_leaf_hash
    for i, q in enumerate(Query.objects.order_by("submitted_at")):
        assert env.querier.verdict(str(q.pk)).verdict == ds.expected(i)


def test_partner_cli_over_http(world, tmp_path, asgi_server, celery_worker, capsys, monkeypatch):
    env = make_env(world, tmp_path, k=3)  # keys registered and the pepper shared (in-process set-up)
    ds = dataset(82, holder_size=100, n_queries=1, query_size=16, k=3)
    (tmp_path / "holder.txt").write_text("\n".join(ds.holder))
    (tmp_path / "query.txt").write_text("\n".join(ds.queries[0]))
    eid = env.operator.start_epoch(env.pilot["id"])["id"]
    h, q = str(env.holder.state.root), str(env.querier.state.root)

    def cli(state, token_api: ExchangeApi, *args):
        monkeypatch.setenv("ZKTX_TOKEN", token_api._token)
        code = client_main(["--state", state, "--url", asgi_server.url, "--workers", "1", *args])
        return code, capsys.readouterr()

    assert cli(h, env.holder.api, "epoch-setup", eid)[0] == 0
    assert cli(q, env.querier.api, "epoch-setup", eid)[0] == 0
    assert cli(h, env.holder.api, "epoch-setup", eid)[0] == 0
    code, out = cli(h, env.holder.api, "upload-set", eid, str(tmp_path / "holder.txt"), "--type", "phone")
    assert code == 0 and f"uploaded {len(ds.holder)} blinded elements" in out.out
    assert cli(q, env.querier.api, "answer")[0] == 0
    wait_for(lambda: Epoch.objects.filter(pk=eid, status="open").exists(), timeout=60)
    code, out = cli(q, env.querier.api, "--json", "query", eid, str(tmp_path / "query.txt"), "--type", "phone")
    assert code == 0
    qpk = json.loads(out.out)["id"]
    assert cli(h, env.holder.api, "answer")[0] == 0
    wait_for(lambda: Query.objects.filter(pk=qpk, status="verdict").exists(), timeout=60)
    http = ExchangeApi(UrllibTransport(asgi_server.url), env.querier.api._token)
    wait_for(lambda: (http.verdict(qpk)["witness"] or {}).get("inclusion"), timeout=30)
    code, out = cli(q, env.querier.api, "verdict", qpk)
    assert code == 0 and ds.expected(0) in out.out and "receipt ok" in out.out
    # the exchange refuses the same query again (novelty): exit 3 with the stable code
    code, out = cli(q, env.querier.api, "query", eid, str(tmp_path / "query.txt"), "--type", "phone")
    assert code == 3 and "query_not_novel" in out.err
    # a local refusal (the querier has no holder set to upload) never reaches the exchange: exit 2
    code, out = cli(q, env.querier.api, "upload-set", eid, str(tmp_path / "holder.txt"), "--type", "phone")
    assert code == 2 and "only the holder" in out.err
