"""Partner isolation and role rules in the ZK-TX API, with the partners' API tokens."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from tests.conftest import PASSWORD
from tests.zktx.test_service_support import api_for, dataset, drain, make_env, open_epoch, selectors
from zktx.client.api import ApiError
from zktx.models import AuditBundle, PilotRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider_pilot(world, tmp_path):
    """Pilot P between partner_a and a third partner C, with an epoch, a verdict, an appeal, a run and a bundle."""
    org_c = accounts.organization_create(actor="tests", name="Partner C", kind="partner", slug="partner-c")
    user_c = accounts.user_create(actor="tests", organization=org_c, username="u_partner_c", password=PASSWORD,
                                  roles=["partner_user"])
    env = make_env(world, tmp_path, name="P", querier=org_c, extra_users={org_c.pk: user_c})
    ds = dataset(61, holder_size=120, n_queries=1)
    run = env.operator.start_run("P", [env.pilot["id"]])
    eid = open_epoch(env, ds.holder, run=run["id"])
    qpk = env.querier.make_query(eid, selectors(ds.queries[0]))["id"]
    env.holder.answer_pending()
    drain()
    appeal = env.querier.appeal(qpk, "dispute")
    bundle = AuditBundle.objects.create(run=PilotRun.objects.get(pk=run["id"]), created_at=run["started_at"])
    return env, {"pilot": env.pilot["id"], "epoch": eid, "query": qpk, "appeal": appeal["id"], "run": run["id"],
                 "bundle": str(bundle.pk)}


def _paths(ids: dict) -> list[str]:
    return [
        f"pilots/{ids['pilot']}", f"pilots/{ids['pilot']}/epochs", f"runs/{ids['run']}", f"epochs/{ids['epoch']}",
        f"epochs/{ids['epoch']}/holder-set", f"queries/{ids['query']}", f"queries/{ids['query']}/verdict",
        f"appeals/{ids['appeal']}", f"bundles/{ids['bundle']}", f"bundles/{ids['bundle']}/core",
    ]


def test_a_partner_gets_404_for_another_pairs_objects(world, outsider_pilot):
    env, ids = outsider_pilot
    b = api_for(world.partner_b_user)  # partner B is not in pilot P
    for path in _paths(ids):
        with pytest.raises(ApiError) as exc:
            b.call("GET", path)
        assert exc.value.status == 404, path
    for method, path, body in [("POST", f"epochs/{ids['epoch']}/join", {"session_key": "x", "pepper_id": "y"}),
                               ("POST", "queries", {"epoch": ids["epoch"], "request": {}}),
                               ("POST", f"appeals/{ids['appeal']}/consent", {}),
                               ("POST", "appeals", {"query": ids["query"], "reason": "peek"}),
                               ("POST", f"bundles/{ids['bundle']}/acceptance", {"signature": "00" * 96})]:
        with pytest.raises(ApiError) as exc:
            b.call(method, path, body)
        assert exc.value.status == 404, path
    assert b.pilots() == [] and b.queries() == [] and b.appeals() == [] and b.bundles() == [] and b.runs() == []
    # ... while the pilot's own partners and the console see them
    for api in (env.holder.api, env.querier.api, api_for(world.users["oncall"])):
        for path in _paths(ids)[:-1]:
            api.call("GET", path)


def test_operators_without_the_console_capability_get_403(world, outsider_pilot):
    _, ids = outsider_pilot
    auditor = api_for(world.users["auditor"])
    with pytest.raises(ApiError) as exc:
        auditor.call("GET", f"queries/{ids['query']}")
    assert exc.value.status == 403
    oncall = api_for(world.users["oncall"])  # console, but not operate
    with pytest.raises(ApiError) as exc:
        oncall.start_epoch(ids["pilot"])
    assert exc.value.status == 403
    with pytest.raises(ApiError) as exc:  # operators do not act as partners
        api_for(world.users["admin"]).join(ids["epoch"], "x", "y")
    assert exc.value.status == 403


def test_partners_cannot_operate(world, outsider_pilot):
    env, ids = outsider_pilot
    for call in (lambda: env.holder.api.start_epoch(ids["pilot"]), lambda: env.holder.api.export_bundle(ids["run"]),
                 lambda: env.holder.api.resolve(ids["appeal"], "upheld", "mine"),
                 lambda: env.holder.api.transcript(ids["query"]), lambda: env.holder.api.download_bundle(ids["bundle"])):
        with pytest.raises(ApiError) as exc:
            call()
        assert exc.value.status == 404


def test_bad_input_gets_a_stable_code(world, tmp_path):
    env = make_env(world, tmp_path, register=False, share_pepper=False)
    with pytest.raises(ApiError) as exc:
        env.holder.api.register_key(identity_key="!!", bls_public_key="00", bls_pop="00", signature="x")
    assert (exc.value.status, exc.value.code) == (400, "key_format_invalid")
    with pytest.raises(ApiError) as exc:
        env.operator.call("POST", "pilots", {"name": "bad name!", "holder": world.partner_a.slug,
                                             "querier": world.partner_b.slug, "k": 1})
    assert exc.value.code == "pilot_name_invalid"
    with pytest.raises(ApiError) as exc:
        env.operator.call("POST", "pilots", {"name": "Same", "holder": world.partner_a.slug,
                                             "querier": world.partner_a.slug, "k": 1})
    assert exc.value.code == "pilot_partner_invalid"
    with pytest.raises(ApiError) as exc:
        env.operator.call("POST", "pilots", {"name": "Pol", "holder": world.partner_a.slug,
                                             "querier": world.partner_b.slug, "k": 1, "min_query": 10, "max_query": 5})
    assert exc.value.code == "pilot_policy_invalid"
    e = env.operator.start_epoch(env.pilot["id"])
    with pytest.raises(ApiError) as exc:  # keys must be registered before joining
        env.holder.api.join(e["id"], "AAAA", "AAAA")
    assert (exc.value.status, exc.value.code) == (409, "partner_key_missing")


def test_key_registration_needs_possession_of_both_keys(world, tmp_path):
    from zktx import wire
    from zktx.protocol.transcript import b64e

    env = make_env(world, tmp_path, register=False, share_pepper=False)
    h = env.holder
    seed = h.state.identity_seed()
    pk, pop = h.bls_public()
    body = wire.registration_body(organization=world.partner_a.slug, identity_key=h.identity.public,
                                  bls_public_key=pk, bls_pop=pop)
    good_sig = wire.sign_registration(seed, body)
    # signed for another organization: refused
    other = wire.registration_body(organization=world.partner_b.slug, identity_key=h.identity.public,
                                   bls_public_key=pk, bls_pop=pop)
    with pytest.raises(ApiError) as exc:
        h.api.register_key(identity_key=body["identity_key"], bls_public_key=pk.hex(), bls_pop=pop.hex(),
                           signature=wire.sign_registration(seed, other))
    assert exc.value.code == "registration_signature_invalid"
    # a BLS key without a valid proof of possession (another key's proof): refused
    _, q_pop = env.querier.bls_public()
    bad = wire.registration_body(organization=world.partner_a.slug, identity_key=h.identity.public,
                                 bls_public_key=pk, bls_pop=q_pop)
    with pytest.raises(ApiError) as exc:
        h.api.register_key(identity_key=bad["identity_key"], bls_public_key=pk.hex(), bls_pop=q_pop.hex(),
                           signature=wire.sign_registration(seed, bad))
    assert exc.value.code == "bls_pop_invalid"
    first = h.api.register_key(identity_key=body["identity_key"], bls_public_key=pk.hex(), bls_pop=pop.hex(),
                               signature=good_sig)
    again = h.api.register_key(identity_key=b64e(h.identity.public), bls_public_key=pk.hex(), bls_pop=pop.hex(),
                               signature=good_sig)  # rotation: the old key is revoked
    listed = h.api.keys()
    assert {k["id"]: k["status"] for k in listed} == {first["id"]: "revoked", again["id"]: "active"}
