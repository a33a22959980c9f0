"""Who sees what in PCQ: partners see nothing (404), producers submit but read only their own jobs,
the canary and drills are for PCQ operators."""

import pytest

from accounts import services as acc
from pcq import services
from tests.pcq.factories import graph, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(world):
    ds = graph()
    job = submit(world.users["policy_author"], ds, job_id="authz-1")
    verdict = services.canary_run(job_id=job.pk)
    run = services.drill_start(actor="t", benign=2, regressions=0, dispatch=False)
    return job, verdict, run


def test_partners_get_404_on_every_pcq_page_and_api_even_for_real_objects(world, client, objects):
    job, verdict, run = objects
    client.force_login(world.users["partner_user"])
    gets = ["/pcq/", f"/pcq/jobs/{job.pk}/", f"/pcq/canary/verdicts/{verdict.pk}/", f"/pcq/drills/{run.pk}/",
            "/api/pcq/jobs", f"/api/pcq/jobs/{job.pk}", "/api/pcq/canary", "/api/pcq/canary/verdicts", "/api/pcq/drills",
            f"/api/pcq/drills/{run.pk}", "/api/pcq/pauses"]
    for path in gets:
        assert client.get(path).status_code == 404, path
    posts = ["/pcq/canary/regression/", "/pcq/canary/configs/", "/pcq/drills/", "/pcq/pause/"]
    for path in posts:
        assert client.post(path, {"regression": "drop_edges"}).status_code == 404, path
    for path, data in (("/api/pcq/canary/regression", {"regression": "drop_edges"}), ("/api/pcq/drills", {}),
                       ("/api/pcq/jobs", {"manifest": job.manifest, "result": {}}), ("/api/pcq/datasets", {"edges": [[1, 2]]})):
        assert client.post(path, data, content_type="application/json").status_code == 404, path
    assert services.canary_config_current().regression == "none"  # nothing changed


def test_producer_tokens_submit_but_cannot_read_other_producers_jobs_or_the_canary(world, client, objects):
    job, _verdict, _run = objects
    _t, mine = acc.api_token_create(actor=world.users["policy_author"], user=world.users["policy_author"], name="producer-a")
    _t, theirs = acc.api_token_create(actor=world.users["compliance"], user=world.users["compliance"], name="producer-b")
    a, b = {"HTTP_AUTHORIZATION": f"Bearer {mine}"}, {"HTTP_AUTHORIZATION": f"Bearer {theirs}"}
    # producer B submits its own job with its token...
    from pcq import engine
    from tests.pcq.factories import CREATED_AT

    ds = graph()
    manifest, result = engine.execute(ds, job_id="b-own", kind="components", tenant="globex", created_at=CREATED_AT)
    r = client.post("/api/pcq/jobs", {"manifest": manifest, "result": result.body}, content_type="application/json", **b)
    assert r.status_code == 201, r.content
    own = r.json()["id"]
    assert client.get(f"/api/pcq/jobs/{own}", **b).status_code == 200
    # ...but cannot read producer A's, which A can
    assert client.get(f"/api/pcq/jobs/{job.pk}", **b).status_code == 404
    assert client.get(f"/api/pcq/jobs/{job.pk}", **a).status_code == 200
    assert [j["job_id"] for j in client.get("/api/pcq/jobs", **b).json()] == ["b-own"]
    assert client.get(f"/api/pcq/jobs/{own}", **a).status_code == 404
    # producers are operator staff without pcq.view: the canary, its verdicts and drills are 403
    for path in ("/api/pcq/canary", "/api/pcq/canary/verdicts", "/api/pcq/drills", f"/api/pcq/drills/{_run.pk}"):
        assert client.get(path, **b).status_code == 403, path
    assert client.get("/api/pcq/canary/verdicts", **a).status_code == 403
    assert client.post("/api/pcq/canary/regression", {"regression": "drop_edges"}, content_type="application/json",
                       **a).status_code == 403
    assert client.post("/api/pcq/drills", {}, content_type="application/json", **a).status_code == 403


def test_oncall_tokens_operate_the_canary_over_the_api(world, client, objects):
    job, verdict, run = objects
    _t, tok = acc.api_token_create(actor=world.users["oncall"], user=world.users["oncall"], name="ops")
    h = {"HTTP_AUTHORIZATION": f"Bearer {tok}"}
    r = client.post("/api/pcq/canary/regression", {"regression": "drop_edges", "regression_params": {"fraction": 0.05},
                                                   "reason": "api demo"}, content_type="application/json", **h)
    assert r.status_code == 200 and r.json()["regression"] == "drop_edges"
    r = client.post("/api/pcq/canary/regression", {"regression": "bogus"}, content_type="application/json", **h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "canary_invalid"
    body = client.get("/api/pcq/canary", **h).json()
    assert body["active"]["regression"] == "drop_edges" and {b["field"] for b in body["noise_bands"]} == {"pagerank.score"}
    listed = client.get(f"/api/pcq/canary/verdicts?job={job.pk}", **h).json()
    assert [v["id"] for v in listed] == [str(verdict.pk)]
    r = client.post("/api/pcq/canary/configs", {"name": "canary", "version": "9.9"}, content_type="application/json", **h)
    assert r.status_code == 201 and r.json()["is_active"]
    assert client.get(f"/api/pcq/drills/{run.pk}", **h).json()["status"] == "queued"
    r = client.post("/api/pcq/drills", {"benign": 2}, content_type="application/json", **h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "drill_running"
