"""The coverage map: the pure map of a bundle (studio/lac/coverage.py), the service that joins it with
an environment's modes and decision log (studio/coverage_service.py), and the page."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

from studio import coverage_service, services, views_coverage
from studio.lac.bundle import DEFAULT_MESSAGES, DEFAULT_SCHEMA, Bundle
from studio.lac.catalog import load_catalog_dir
from studio.lac.coverage import DEFAULT_DENY_REASON, coverage_map
from studio.lac.samples import sample_request
from studio.lac.schema import load_schema
from studio.models import Environment
from trustfabric.errors import ServiceError

B = Bundle.default()
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday, business hours
URL = "/studio/coverage/"

# The page under its final path, whether or not studio/urls.py routes it yet (the real route is
# `studio:coverage`); everything else as in the project.
urlpatterns = [path("studio/coverage/", views_coverage.coverage), path("", include("trustfabric.urls"))]


# ---------------------------------------------------------------- the pure map


def test_default_pack_covers_every_tier_one_and_tier_two_cell():
    m = coverage_map(B)
    assert len(m.cells) == 6 * 5 * 4  # domains x actions x data classes
    tiers = m.tiers()
    assert {t: (s.cells, s.covered, s.percent) for t, s in tiers.items()} == {1: (40, 40, 100.0), 2: (30, 30, 100.0)}
    assert m.uncovered() == []
    # only the classes a domain's datasets hold count; the others are shown but not scored
    assert not m.cell("hr.records", "query", "P0").in_schema
    assert m.cell("hr.records", "query", "P1").datasets == ("employees",)


def test_the_tier_two_cells_the_pack_now_decides():
    m = coverage_map(B)
    logs_export = m.cell("ops.telemetry", "export", "P2")
    assert logs_export.approval_ids == ("ops.access-logs-export",) and logs_export.permit_path
    assert set(logs_export.obligations) == {"mask(ip_address, hash)", "mask(user_id, hash)", "top_k(10000)"}
    for action in ("download", "share"):
        c = m.cell("ops.telemetry", action, "P2")
        assert c.covered and not c.permit_path and "ops.no-log-egress" in c.forbid_ids
    assert m.cell("marketing.audience", "download", "P2").domain_policy_ids == ("marketing.no-profile-download",)
    hr_export = m.cell("hr.records", "export", "P1")
    assert hr_export.approval_ids == ("hr.steward-export",)
    assert "drop(national_id)" in hr_export.obligations and "bucket(salary, 5000)" in hr_export.obligations
    assert "telecom.cdr.no-raw-egress" in m.cell("telecom.cdr", "export", "P1").forbid_ids


def test_tier_wide_policies_are_listed_but_do_not_cover():
    m = coverage_map(B)
    c = m.cell("hr.records", "query", "P1")
    assert set(c.tier_policy_ids) >= {"global.t2.cross-tenant", "global.t2.audit"}
    assert not any(p.startswith("global.t1.") for p in c.tier_policy_ids)
    assert c.domain_policy_ids == ("hr.case-access",)
    assert c.policy_ids == c.forbid_ids + c.approval_ids + c.permit_ids
    assert set(c.policy_ids) == set(c.tier_policy_ids) | set(c.domain_policy_ids)


def test_every_permit_path_on_personal_data_minimizes():
    m = coverage_map(B)
    personal = [c for c in m.in_schema() if c.personal and c.permit_path]
    assert personal and all(c.obligations for c in personal)
    assert [c.key for c in personal if c.unminimized_ids] == []
    assert not m.cell("hr.records", "export", "P3").personal  # P3: aggregates, no personal data


LAB_POLICIES = {
    "lab.lac": """
policy "lab.query" tier 2 domain lab.samples {
  permit query
  when subject.roles contains "analyst"
  obligations mask(sample_id, hash)
  reason "lac.permit.aggregate"
}

policy "lab.query-auditor" tier 2 domain lab.samples {
  permit query
  when subject.roles contains "auditor"
  reason "lac.permit.audit"
}

policy "t2.mfa" tier 2 domain * {
  forbid any
  when not subject.mfa
  reason "lac.forbid.mfa_required"
}
""",
}


def lab_schema(extra_domain: bool = False) -> dict:
    schema = json.loads(DEFAULT_SCHEMA.read_text())
    schema["actions"] = {"query": "run a query", "export": "export a result"}
    schema["domains"] = {"lab.samples": {"tier": 2, "description": "lab samples", "datasets": {
        "samples": {"data_class": "P2", "fields": {"sample_id": "string", "value": "int"}}}}}
    if extra_domain:
        schema["domains"]["lab.archive"] = {"tier": 1, "description": "archive", "datasets": {
            "boxes": {"data_class": "P3", "fields": {"box": "string"}}}}
    return schema


def lab_bundle() -> Bundle:
    b = Bundle.build(policies=LAB_POLICIES, schema=lab_schema(), catalogs=load_catalog_dir(DEFAULT_MESSAGES))
    assert b.ok, b.report()
    return b


def test_a_hand_made_bundle_with_one_uncovered_cell():
    b = lab_bundle()
    m = coverage_map(b)
    assert len(m.cells) == 2 * 4 and len(m.in_schema()) == 2
    query, export = m.cell("lab.samples", "query", "P2"), m.cell("lab.samples", "export", "P2")
    assert query.covered and query.permit_path and query.domain_policy_ids == ("lab.query", "lab.query-auditor")
    assert query.unminimized_ids == ("lab.query-auditor",)  # personal data, permitted without minimization
    # the tier-wide forbid reaches the export cell, but no lab.samples policy does
    assert export.tier_policy_ids == ("t2.mfa",) and not export.covered and not export.permit_path
    s = m.tiers()[2]
    assert (s.cells, s.covered, s.percent, s.uncovered) == (2, 1, 50.0, (("lab.samples", "export", "P2"),))
    assert [c.key for c in m.uncovered()] == [("lab.samples", "export", "P2")]
    # what "uncovered" means for a request: whatever the tier-wide rules let through is denied by default
    req = sample_request(action="export", domain="lab.samples", data_class="P2", roles=["analyst"],
                         resource={"fields": ["sample_id"], "tier": 2})
    assert b.decide(req).reason.message_id == DEFAULT_DENY_REASON
    assert b.decide({**req, "action": {"name": "query"}}).deciding_policy_ids == ("lab.query",)


def test_cells_of_a_schema_the_bundle_was_not_compiled_for_are_uncovered():
    b = lab_bundle()
    wider, diags = load_schema(lab_schema(extra_domain=True))
    assert wider is not None, diags
    m = coverage_map(b, wider)
    archive = m.cell("lab.archive", "query", "P3")
    assert archive.in_schema and archive.tier == 1 and archive.policy_ids == () and not archive.covered
    assert m.tiers()[1].percent == 0.0
    assert m.cell("lab.samples", "query", "P2").covered


# ---------------------------------------------------------------- the service


def fraud_review():
    return sample_request(domain="finance.transactions", data_class="P1", roles=["fraud_analyst"],
                          context={"purpose": "fraud_review", "reason_for_access": "case 12"})


def cell_download():  # telecom.cdr download of P3: no permit, so the default deny
    return sample_request(action="download", domain="telecom.cdr", data_class="P3", roles=["sre"],
                          subject={"on_call": True}, context={"purpose": "incident_response"})


def hr_export():
    return sample_request(action="export", domain="hr.records", data_class="P1", roles=["hr_partner"],
                          context={"purpose": "hr_case", "reason_for_access": "grievance", "ticket": "HR-7"})


def cell(data: dict, domain: str, action: str, data_class: str) -> dict:
    for t in data["tiers"]:
        for d in t["domains"]:
            for c in d["cells"]:
                if (c["domain"], c["action"], c["data_class"]) == (domain, action, data_class):
                    return c
    raise KeyError((domain, action, data_class))


def tier(data: dict, n: int) -> dict:
    return next(t for t in data["tiers"] if t["tier"] == n)


@pytest.mark.django_db
def test_decision_counts_per_cell_and_default_deny_hits():
    for _ in range(2):
        assert services.decide(environment_name="prod", request=fraud_review(), now=NOW)["effect"] == "permit"
    for minutes in (0, 5, 9):
        out = services.decide(environment_name="prod", request=cell_download(), now=NOW - timedelta(minutes=minutes))
        assert out["reason"]["message_id"] == DEFAULT_DENY_REASON
    assert services.decide(environment_name="prod", request=hr_export(), now=NOW)["effect"] == "forbid"
    invalid = sample_request(domain="weather.forecasts", data_class="P3")
    assert services.decide(environment_name="prod", request=invalid, now=NOW)["effect"] == "deny"
    services.decide(environment_name="prod", request=cell_download(), now=NOW - timedelta(days=30))  # before the window
    services.decide(environment_name="dev", request=cell_download(), now=NOW)  # another environment

    data = coverage_service.coverage_map("prod", since=NOW - timedelta(days=7))
    fr = cell(data, "finance.transactions", "query", "P1")
    assert fr["counts"] == {"permit": 2, "require_approval": 0, "forbid": 0, "deny": 0}
    assert fr["decisions"] == 2 and fr["default_deny"] == 0 and fr["state"] == "enforced"
    dl = cell(data, "telecom.cdr", "download", "P3")
    assert dl["counts"]["deny"] == 3 and dl["default_deny"] == 3 and dl["last_default_deny"] == NOW
    assert dl["state"] == "deny_hits" and dl["covered"]
    assert cell(data, "hr.records", "export", "P1")["counts"]["forbid"] == 1
    assert [(g["domain"], g["action"], g["data_class"]) for g in data["gaps"]] == [("telecom.cdr", "download", "P3")]
    assert data["totals"] == {"decisions": 7, "default_deny": 3, "outside_schema": 1}
    assert tier(data, 1)["decisions"] == 5 and tier(data, 1)["default_deny"] == 3 and tier(data, 2)["decisions"] == 1

    everything = coverage_service.coverage_map("prod")
    assert cell(everything, "telecom.cdr", "download", "P3")["default_deny"] == 4
    assert everything["totals"]["decisions"] == 8
    dev = coverage_service.coverage_map("dev", since=NOW - timedelta(days=7))
    assert dev["totals"]["decisions"] == 1 and cell(dev, "telecom.cdr", "download", "P3")["default_deny"] == 1


@pytest.mark.django_db
def test_the_log_is_read_with_one_aggregated_query():
    for _ in range(3):
        services.decide(environment_name="prod", request=cell_download(), now=NOW)
    services.decide(environment_name="prod", request=fraud_review(), now=NOW)
    coverage_service.coverage_map("prod")  # environment and bundle cached
    with CaptureQueriesContext(connection) as ctx:
        data = coverage_service.coverage_map("prod", since=NOW - timedelta(days=1))
    reads = [q["sql"] for q in ctx.captured_queries if "studio_decisionrecord" in q["sql"]]
    assert len(reads) == 1 and "GROUP BY" in reads[0].upper()
    assert data["totals"]["decisions"] == 4


@pytest.mark.django_db
def test_default_pack_meets_the_goal_and_domains_are_enforced_by_default():
    for name in Environment.Name.values:
        data = coverage_service.coverage_map(name)
        assert data["goal_met"] and data["gaps"] == []
        for n, cells in ((1, 40), (2, 30)):
            t = tier(data, n)
            assert (t["cells"], t["covered_enforced"], t["percent"]) == (cells, cells, 100.0)
        assert all(d["mode"] == "enforce" for t in data["tiers"] for d in t["domains"])


@pytest.mark.django_db
def test_monitor_mode_lowers_the_enforced_share():
    services.environment("dev")
    Environment.objects.filter(name="dev").update(modes={"hr.records": "monitor", "telecom.cdr": "monitor",
                                                         "ops.telemetry": "enforce"})
    services.clear_caches()
    data = coverage_service.coverage_map("dev")
    t1, t2 = tier(data, 1), tier(data, 2)
    assert (t1["covered"], t1["covered_enforced"], t1["percent"]) == (40, 30, 75.0)
    assert (t2["covered"], t2["covered_enforced"], t2["percent"]) == (30, 20, 66.7)
    assert t1["monitor_domains"] == ["telecom.cdr"] and t2["monitor_domains"] == ["hr.records"]
    assert not data["goal_met"] and not t2["goal_met"]
    assert cell(data, "hr.records", "query", "P1")["state"] == "monitor"
    assert cell(data, "ops.telemetry", "query", "P2")["state"] == "enforced"
    assert coverage_service.coverage_map("prod")["goal_met"]  # other environments are not affected


@pytest.mark.django_db
def test_unknown_environment_is_a_404():
    with pytest.raises(ServiceError) as err:
        coverage_service.coverage_map("qa")
    assert err.value.status == 404 and err.value.code == "environment_unknown"


# ---------------------------------------------------------------- the page


@pytest.mark.urls(__name__)
def test_page_renders_the_goal_grid_and_gaps_for_studio_users(client, world):
    services.decide(environment_name="dev", request=cell_download())  # now: inside the page's window
    client.force_login(world.users["policy_author"])
    r = client.get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    assert r.context["cov"]["environment"] == "prod" and r.context["days"] == 7
    assert "Tier-1: 100% covered and enforced (40/40 cells)" in html
    assert "Tier-2: 100% covered and enforced (30/30 cells)" in html
    assert 'data-testid="coverage-grid"' in html and html.count('class="cov-cell ') == 120
    assert "ops.access-logs-export" in html and "Default-deny hits: 0" in html
    assert "No gaps" in html and 'data-testid="gap-row"' not in html  # prod has no decisions
    for env in ("dev", "stage", "prod"):
        assert f'href="?env={env}&amp;days=7"' in html

    r = client.get(URL, {"env": "dev", "days": "30"})
    html = r.content.decode()
    assert r.status_code == 200 and r.context["days"] == 30
    assert 'data-cell="telecom.cdr/download/P3"' in html and 'data-testid="gap-row"' in html
    assert html.count('data-testid="gap-row"') == 1 and "default-deny hits</span>" in html


@pytest.mark.urls(__name__)
def test_page_shows_monitor_mode_and_uncovered_share(client, world):
    services.environment("stage")
    Environment.objects.filter(name="stage").update(modes={"marketing.audience": "monitor"})
    services.clear_caches()
    client.force_login(world.users["policy_approver"])
    html = client.get(URL, {"env": "stage"}).content.decode()
    assert "Tier-2: 66.7% covered and enforced (20/30 cells)" in html
    assert "monitor: marketing.audience" in html and "not met in stage yet" in html


@pytest.mark.urls(__name__)
def test_page_is_refused_to_partners_and_staff_without_the_capability(client, world):
    client.force_login(world.users["partner_user"])
    assert client.get(URL).status_code == 404
    client.force_login(world.users["oncall"])
    assert client.get(URL).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302


@pytest.mark.urls(__name__)
def test_page_rejects_bad_parameters(client, world):
    client.force_login(world.users["admin"])
    assert client.get(URL, {"env": "qa"}).status_code == 404
    for days in ("0", "-3", "abc", "366"):
        assert client.get(URL, {"days": days}).status_code == 400
