"""Writes the red-team corpus (``studio/corpus/*.jsonl``) from scenario templates.

    .venv/bin/python -m studio.corpus.generate

Every case states its expected decision here, written from the *intent* of the default policy pack
(docs/lac.md, the policies' comments and reasons), never by running the engine: this module imports
nothing from ``studio.lac``.  The JSONL files are the corpus; this script is how they are kept
consistent (regenerate after editing a template, review the diff).

Case format (one JSON object per line)::

    {"id", "category", "description", "locale", "request": {...},
     "expect": {"effect", "reason", "obligations"?: [...], "approvers"?: n,
                "rendered_locale"?: "fr", "fallback"?: bool},
     "schema_violations"?: ["subject.roles", ...]}   # deliberate: injection / malformed cases
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent
T = "2025-03-04T10:00:00Z"  # a Tuesday, 10:00 UTC: business hours
T2 = "2025-03-06T15:30:00Z"  # Thursday afternoon
NIGHT = "2025-03-08T23:00:00Z"  # Saturday night
WARRANT = {"warrant": "W-2025-117", "legal_basis": "warrant", "issued_by": "court-7",
           "expiry": "2025-04-01T00:00:00Z", "scope": ["intel.graph", "telecom.cdr"]}
COURT_ORDER_FIN = {"warrant": "CO-2025-9", "legal_basis": "court_order", "issued_by": "court-3",
                   "expiry": "2025-03-20T00:00:00Z", "scope": ["finance.transactions"]}

DATASETS = {
    ("intel.graph", "entities"): ("P0", ["selector", "msisdn", "name", "degree", "risk_score", "first_seen"]),
    ("intel.graph", "links"): ("P1", ["source", "target", "link_type", "weight", "observed_at"]),
    ("intel.graph", "communities"): ("P2", ["community_id", "size", "density"]),
    ("finance.transactions", "transactions"): ("P1", ["account_id", "iban", "amount", "merchant", "country",
                                                      "booked_at", "risk_score"]),
    ("finance.transactions", "sar_reports"): ("P0", ["report_id", "account_id", "narrative", "amount", "filed_at"]),
    ("finance.transactions", "merchant_stats"): ("P3", ["merchant", "volume", "txn_count"]),
    ("telecom.cdr", "call_records"): ("P1", ["caller_msisdn", "callee_msisdn", "imei", "cell_id", "duration_s",
                                              "started_at"]),
    ("telecom.cdr", "cell_sites"): ("P3", ["cell_id", "operator", "lat_e6", "lon_e6"]),
    ("hr.records", "employees"): ("P1", ["employee_id", "name", "email", "national_id", "salary", "age",
                                         "department"]),
    ("hr.records", "headcount"): ("P3", ["department", "headcount"]),
    ("marketing.audience", "profiles"): ("P2", ["customer_id", "email", "postcode", "age", "segment",
                                                "lifetime_value"]),
    ("marketing.audience", "campaign_stats"): ("P3", ["campaign", "impressions", "conversions"]),
    ("ops.telemetry", "service_metrics"): ("P3", ["service", "latency_ms", "error_rate_ppm"]),
    ("ops.telemetry", "access_logs"): ("P2", ["user_id", "ip_address", "path", "status", "bytes"]),
}
TIER = {"intel.graph": 1, "finance.transactions": 1, "telecom.cdr": 1, "hr.records": 2, "marketing.audience": 2,
        "ops.telemetry": 2}
REGION_COUNTRY = {"eu": "DE", "uk": "GB", "us": "US", "apac": "SG"}

# obligations as the pack states them (compared as a set)
OB_WARRANT_INTEL = ["mask(msisdn, last4)"]
OB_COMMUNITIES = ["top_k(100, by: size)"]
OB_INTEL_EXPORT = ["drop(name)", "mask(msisdn, hash)", "mask(selector, hash)"]
OB_FRAUD = ["mask(iban, last4)", "bucket(amount, 1000)"]
OB_FIN_EXPORT = ["mask(iban, hash)", "bucket(amount, 1000)", "top_k(10000, by: amount)"]
OB_SAR = ["drop(narrative)"]
OB_WARRANT_CDR = ["mask(imei, last4)"]
OB_NETOPS = ["drop(imei)", "mask(callee_msisdn, hash)", "mask(caller_msisdn, hash)"]
OB_INCIDENT = ["drop(imei)", "mask(callee_msisdn, full)", "mask(caller_msisdn, full)"]
OB_HR_CASE = ["mask(national_id, full)", "bucket(salary, 5000)"]
OB_MARKETING = ["drop(email)", "bucket(age, 10)", "bucket(lifetime_value, 100)"]
OB_AUD_EXPORT = ["drop(email)", "mask(customer_id, hash)", "bucket(age, 10)", "top_k(50000)"]
OB_OPS_LOGS = ["mask(ip_address, hash)", "mask(user_id, hash)"]
OB_AUDIT = ["mask(email, hash)"]
OB_HR_EXPORT = ["drop(national_id)", "mask(email, hash)", "mask(employee_id, hash)", "bucket(salary, 5000)",
                "bucket(age, 10)"]
OB_OPS_EXPORT = ["mask(ip_address, hash)", "mask(user_id, hash)", "top_k(10000)"]


def subject(uid: str, roles: list[str], clearance: str = "confidential", *, region: str = "eu",
            org: str = "acme", on_call: bool = False, mfa: bool = True, geo_region: str | None = None) -> dict:
    g = geo_region or region
    return {"id": uid, "roles": roles, "clearance": clearance, "organization": org, "on_call": on_call,
            "residency": region, "geo": {"country": REGION_COUNTRY.get(g, "DE"), "region": g}, "mfa": mfa}


def resource(domain: str, dataset: str, *, region: str = "eu", fields: list[str] | None = None, **extra) -> dict:
    dc, all_fields = DATASETS[(domain, dataset)]
    r = {"id": f"{domain}/{dataset}", "dataset": dataset, "domain": domain, "data_class": dc,
         "tier": TIER[domain], "residency": region, "fields": list(fields if fields is not None else all_fields)}
    r.update(extra)
    return r


def request(subj: dict, action: str | dict, res: dict, *, time: str = T, purpose: str = "reporting",
            authority: dict | None = None, graph: object = None, grants: list | None = None, **ctx) -> dict:
    r = {"subject": subj, "action": action if isinstance(action, dict) else {"name": action}, "resource": res,
         "context": {"time": time, "purpose": purpose, **ctx}, "authority": dict(authority or {})}
    if graph is not None:
        r["graph"] = graph
    if grants is not None:
        r["grants"] = grants
    return r


def small_graph(n: int = 3) -> dict:
    return {"edges": [["s1", "s2"], ["s2", "s3"], ["s1", "s4"]][:n], "seeds": ["s1"]}


def grant(gid: str, policy: str, expires: str, **kw) -> dict:
    return {"grant_id": gid, "policy_id": policy, "expires_at": expires, **kw}


CASES: list[dict] = []


def case(cid: str, category: str, description: str, req: dict, effect: str, reason: str, *, locale: str = "en",
         obligations: list[str] | None = None, approvers: int | None = None, violations: list[str] | None = None,
         rendered_locale: str | None = None, fallback: bool | None = None) -> None:
    expect: dict = {"effect": effect, "reason": reason}
    if obligations is not None:
        expect["obligations"] = sorted(obligations)
    if approvers is not None:
        expect["approvers"] = approvers
    if rendered_locale is not None:
        expect["rendered_locale"] = rendered_locale
    if fallback is not None:
        expect["fallback"] = fallback
    c = {"id": cid, "category": category, "description": description, "locale": locale,
         "request": copy.deepcopy(req), "expect": expect}
    if violations:
        c["schema_violations"] = violations
    CASES.append(c)


# ------------------------------------------------------------------ legitimate requests (scenarios)
# Each scenario returns (request, effect, reason, obligations); variations change who, when, where
# and how, never what the pack should decide.

def sc_intel_warranted(i: int, region: str = "eu", action: str = "query", dataset: str = "entities") -> tuple:
    s = subject(f"u-inv-{i}", ["investigator"] if i % 2 else ["senior_analyst"], "secret" if i % 3 else "top_secret",
                region=region)
    r = request(s, action, resource("intel.graph", dataset, region=region), purpose="investigation",
                authority=WARRANT, graph=small_graph(1 + i % 3), reason_for_access=f"case {4700 + i}")
    return r, "permit", "lac.permit.warranted_investigation", OB_WARRANT_INTEL


def sc_intel_communities(i: int, region: str = "eu", action: str = "query") -> tuple:
    s = subject(f"u-an-{i}", ["analyst"], ["confidential", "secret", "top_secret"][i % 3], region=region)
    r = request(s, action, resource("intel.graph", "communities", region=region), purpose="reporting")
    return r, "permit", "lac.permit.aggregate", OB_COMMUNITIES


def sc_fraud_review(i: int, region: str = "eu", action: str = "query") -> tuple:
    s = subject(f"u-fr-{i}", ["fraud_analyst"], region=region)
    r = request(s, action, resource("finance.transactions", "transactions", region=region), purpose="fraud_review",
                time=T2 if i % 2 else T)
    return r, "permit", "lac.permit.fraud_review", OB_FRAUD


def sc_merchant_stats(i: int, region: str = "eu", action: str = "query") -> tuple:
    role = ["analyst", "auditor"][i % 2]
    s = subject(f"u-ms-{i}", [role], "internal", region=region)
    r = request(s, action, resource("finance.transactions", "merchant_stats", region=region),
                purpose=["reporting", "audit"][i % 2])
    return r, "permit", "lac.permit.aggregate", []


def sc_fin_export_grant(i: int, region: str = "eu") -> tuple:
    s = subject(f"u-fx-{i}", ["fraud_analyst"], region=region)
    r = request(s, "export", resource("finance.transactions", "transactions", region=region), purpose="fraud_review",
                reason_for_access="chargeback review", ticket=f"FR-{80 + i}",
                grants=[grant(f"jit-fx-{i}", "finance.transactions-export", "2025-03-04T15:00:00Z",
                              granted_at="2025-03-04T09:30:00Z", subject_id=s["id"])])
    return r, "permit", "lac.permit.grant", OB_FIN_EXPORT


def sc_sar_grant(i: int) -> tuple:
    s = subject(f"u-sar-{i}", ["investigator"], "secret")
    r = request(s, "query", resource("finance.transactions", "sar_reports"), purpose="investigation",
                authority=COURT_ORDER_FIN, reason_for_access="money laundering case", ticket=f"AML-{i}",
                grants=[grant(f"jit-sar-{i}", "finance.sar-access", "2025-03-04T11:00:00Z",
                              granted_at="2025-03-04T09:15:00Z", subject_id=s["id"])])
    return r, "permit", "lac.permit.grant", OB_SAR


def sc_cdr_warranted(i: int, region: str = "eu") -> tuple:
    s = subject(f"u-cdr-{i}", ["investigator"], "secret", region=region)
    r = request(s, "query" if i % 2 else "view", resource("telecom.cdr", "call_records", region=region),
                purpose="investigation", authority=WARRANT, graph=small_graph(2), reason_for_access="case")
    return r, "permit", "lac.permit.warranted_investigation", OB_WARRANT_CDR


def sc_netops(i: int, region: str = "eu") -> tuple:
    s = subject(f"u-ne-{i}", ["network_engineer"], "internal", region=region)
    r = request(s, "query" if i % 2 else "view", resource("telecom.cdr", "call_records", region=region),
                purpose=["network_ops", "incident_response"][i % 2])
    return r, "permit", "lac.permit.network_ops", OB_NETOPS


def sc_incident(i: int) -> tuple:
    s = subject(f"u-sre-{i}", ["sre"], "internal", on_call=True)
    r = request(s, "query", resource("telecom.cdr", "call_records"), purpose="incident_response",
                time=[T, NIGHT][i % 2], incident_id=f"INC-{300 + i}")
    return r, "permit", "lac.permit.incident", OB_INCIDENT


def sc_cell_sites(i: int, region: str = "eu", action: str = "query") -> tuple:
    s = subject(f"u-cs-{i}", ["analyst"], "internal", region=region)
    r = request(s, action, resource("telecom.cdr", "cell_sites", region=region), purpose="reporting")
    return r, "permit", "lac.permit.aggregate", []


def sc_hr_case(i: int, region: str = "eu") -> tuple:
    s = subject(f"u-hr-{i}", ["hr_partner"], "confidential", region=region)
    r = request(s, "query" if i % 2 else "view", resource("hr.records", "employees", region=region),
                purpose="hr_case", reason_for_access="grievance", ticket=f"HR-{i}")
    return r, "permit", "lac.permit.hr_case", OB_HR_CASE


def sc_headcount(i: int, region: str = "eu", action: str = "query", **extra) -> tuple:
    s = subject(f"u-hc-{i}", ["analyst"], ["internal", "confidential", "secret"][i % 3], region=region)
    r = request(s, action, resource("hr.records", "headcount", region=region, **extra), purpose="reporting")
    return r, "permit", "lac.permit.aggregate", []


def sc_marketing(i: int, region: str = "eu", action: str = "query", **extra) -> tuple:
    s = subject(f"u-mk-{i}", ["marketing_analyst"], "internal", region=region)
    r = request(s, action, resource("marketing.audience", "profiles", region=region, **extra),
                purpose=["marketing", "reporting"][i % 2])
    return r, "permit", "lac.permit.marketing", OB_MARKETING


def sc_campaign(i: int, region: str = "eu", action: str = "query", **extra) -> tuple:
    s = subject(f"u-cp-{i}", ["analyst"], "internal", region=region)
    r = request(s, action, resource("marketing.audience", "campaign_stats", region=region, **extra),
                purpose="reporting")
    return r, "permit", "lac.permit.aggregate", []


def sc_audience_export_grant(i: int) -> tuple:
    s = subject(f"u-ax-{i}", ["marketing_analyst"], "internal")
    r = request(s, "export", resource("marketing.audience", "profiles"), purpose="marketing",
                grants=[grant(f"jit-ax-{i}", "marketing.audience-export", "2025-03-05T08:00:00Z",
                              granted_at="2025-03-04T09:00:00Z")])
    return r, "permit", "lac.permit.grant", OB_AUD_EXPORT


def sc_ops_metrics(i: int, region: str = "eu", action: str = "query") -> tuple:
    role = ["sre", "network_engineer", "analyst"][i % 3]
    s = subject(f"u-om-{i}", [role], "internal", region=region)
    r = request(s, action, resource("ops.telemetry", "service_metrics", region=region), purpose="network_ops")
    return r, "permit", "lac.permit.aggregate", []


def sc_ops_logs(i: int, region: str = "eu") -> tuple:
    on_call = bool(i % 2)
    s = subject(f"u-ol-{i}", ["sre"], "internal", region=region, on_call=on_call)
    r = request(s, "query", resource("ops.telemetry", "access_logs", region=region),
                purpose="network_ops" if on_call else "incident_response")
    return r, "permit", "lac.permit.ops_logs", OB_OPS_LOGS


def sc_audit(i: int, region: str = "eu") -> tuple:
    dom, ds = [("hr.records", "employees"), ("marketing.audience", "profiles"), ("ops.telemetry", "access_logs")][i % 3]
    s = subject(f"u-au-{i}", ["auditor"], "confidential", region=region)
    r = request(s, "query" if i % 2 else "view", resource(dom, ds, region=region), purpose="audit")
    return r, "permit", "lac.permit.audit", OB_AUDIT


def sc_hr_steward_export(i: int, region: str = "eu") -> tuple:
    """A data steward's export of employee records under an active two-approval grant (4h at most)."""
    s = subject(f"u-ds-{i}", ["data_steward"], "confidential", region=region)
    r = request(s, "export", resource("hr.records", "employees", region=region), purpose=["audit", "hr_case"][i % 2],
                reason_for_access="annual pay-equity audit" if i % 2 == 0 else "tribunal disclosure",
                ticket=f"HR-EX-{i}",
                grants=[grant(f"jit-ds-{i}", "hr.steward-export", "2025-03-04T12:00:00Z",
                              granted_at="2025-03-04T09:00:00Z", subject_id=s["id"])])
    return r, "permit", "lac.permit.grant", OB_HR_EXPORT


def sc_ops_logs_export(i: int, region: str = "eu") -> tuple:
    """An SRE's export of access logs for an open incident under an active one-approval grant."""
    s = subject(f"u-lx-{i}", ["sre"], "internal", region=region, on_call=bool(i % 2))
    r = request(s, "export", resource("ops.telemetry", "access_logs", region=region), purpose="incident_response",
                incident_id=f"INC-{900 + i}",
                grants=[grant(f"jit-lx-{i}", "ops.access-logs-export", "2025-03-04T13:00:00Z",
                              granted_at="2025-03-04T09:30:00Z", subject_id=s["id"])])
    return r, "permit", "lac.permit.grant", OB_OPS_EXPORT


def legit(cid: str, category: str, description: str, sc: tuple, **kw) -> None:
    r, effect, reason, obs = sc
    case(cid, category, description, r, effect, reason, obligations=obs, **kw)


def build_legitimate() -> None:
    cat = "legitimate"
    n = 0

    def add(desc: str, sc: tuple, **kw) -> None:
        nonlocal n
        n += 1
        legit(f"legit-{n:03d}", cat, desc, sc, **kw)

    for i in range(8):
        ds = ["entities", "links", "communities"][i % 3]
        add(f"warranted investigator queries intel.graph {ds} with a small result graph", sc_intel_warranted(i,
            action=["query", "view"][i % 2], dataset=ds))
    for region in ("us", "uk", "apac"):
        add(f"warranted investigation where subject, location and data are all in {region}",
            sc_intel_warranted(20, region=region))
    for i in range(5):
        add("analyst with clearance >= confidential reads graph communities (top-100)",
            sc_intel_communities(i, action=["query", "view"][i % 2]))
    for i in range(7):
        add("fraud analyst reviews transactions: IBANs masked, amounts bucketed",
            sc_fraud_review(i, action=["query", "view"][i % 2], region=["eu", "eu", "us", "uk"][i % 4]))
    for i in range(7):
        add("merchant statistics (aggregates) for analysts and auditors",
            sc_merchant_stats(i, action=["query", "view", "export"][i % 3]))
    for i in range(4):
        add("transaction export under an active, correctly scoped one-approver grant", sc_fin_export_grant(i))
    for i in range(3):
        add("SAR access under court order with both approvals granted", sc_sar_grant(i))
    for i in range(5):
        add("warranted call-record query within the warrant's scope", sc_cdr_warranted(i, region=["eu", "us"][i % 2]))
    for i in range(6):
        add("network engineer reads call records for operations, numbers pseudonymised", sc_netops(i))
    for i in range(4):
        add("on-call SRE queries call records for an open incident (day or night)", sc_incident(i))
    for i in range(5):
        add("cell-site reference data (aggregate) for analysts",
            sc_cell_sites(i, action=["query", "view", "export"][i % 3]))
    for i in range(6):
        add("HR partner works a documented case", sc_hr_case(i, region=["eu", "uk"][i % 2]))
    for i in range(8):
        extra = {"min_group_size": [12, 40, 250][i % 3]} if i % 2 else {}
        add("headcount aggregates" + (" with large groups" if extra else ""),
            sc_headcount(i, action=["query", "view", "export"][i % 3], **extra))
    for i in range(8):
        extra = {"min_group_size": 1200} if i % 3 == 0 else {}
        add("marketing analyst studies audience profiles, e-mails dropped, ages bucketed",
            sc_marketing(i, action=["query", "view"][i % 2], region=["eu", "us"][i % 2], **extra))
    for i in range(6):
        add("campaign statistics for analysts", sc_campaign(i, action=["query", "view", "export"][i % 3]))
    for i in range(3):
        add("audience export under an active one-day grant", sc_audience_export_grant(i))
    for i in range(8):
        add("service metrics for SREs, network engineers and analysts",
            sc_ops_metrics(i, action=["query", "view", "export"][i % 3], region=["eu", "us", "apac"][i % 3]))
    for i in range(6):
        add("SRE on call or in incident response reads pseudonymised access logs", sc_ops_logs(i))
    for i in range(6):
        add("auditor reads tier-2 data for an audit, e-mails pseudonymised", sc_audit(i))
    # the same scenarios in other regions (subject, location and data together)
    for k, (mk, region) in enumerate([(sc_intel_communities, "us"), (sc_netops, "us"), (sc_netops, "apac"),
                                      (sc_cell_sites, "uk"), (sc_hr_case, "us"), (sc_ops_logs, "us"),
                                      (sc_ops_logs, "uk"), (sc_audit, "us"), (sc_audit, "apac"),
                                      (sc_merchant_stats, "apac"), (sc_campaign, "uk"), (sc_headcount, "apac")]):
        sc = mk(30 + k, region=region)
        add(f"{sc[0]['resource']['dataset']} read entirely within {region}", sc)
    # the subject's own organization named as owner; owner data without owner_org
    for sc in [sc_fraud_review(50), sc_hr_case(51), sc_ops_metrics(52), sc_campaign(53)]:
        r = sc[0]
        r["resource"]["owner_org"] = "acme"
        add("data owned by the subject's own organization", (r, *sc[1:]))
    # extra optional attributes that do not matter
    for i, sc in enumerate([sc_intel_warranted(60), sc_marketing(61), sc_ops_logs(62), sc_fraud_review(63)]):
        r = sc[0]
        r["subject"]["teams"] = ["blue", "ops"]
        r["resource"]["row_count"] = 250 + i
        r["context"]["ticket"] = f"T-{i}"
        add("request with optional attributes (teams, row_count, ticket)", (r, *sc[1:]))
    # business hours edges for downloads are not relevant: no permit allows download; weekend queries are fine
    for sc in [sc_fraud_review(70), sc_merchant_stats(71), sc_cell_sites(72)]:
        r = sc[0]
        r["context"]["time"] = NIGHT
        add("weekend-night query (only downloads are limited to business hours)", (r, *sc[1:]))
    # datetimes with offsets
    for sc in [sc_intel_warranted(80), sc_cdr_warranted(81)]:
        r = sc[0]
        r["context"]["time"] = "2025-03-04T11:00:00+01:00"
        r["authority"]["expiry"] = "2025-04-01T02:00:00+02:00"
        add("times with UTC offsets (same instants as in UTC)", (r, *sc[1:]))
    # graph metrics exactly at the bounds
    r, *rest = sc_intel_warranted(90)
    r["graph"] = {"edges": [["hub", f"n{i}"] for i in range(500)], "seeds": ["hub"]}
    add("hub with exactly 500 neighbours (degree <= 500 holds)", (r, *rest))
    r, *rest = sc_intel_warranted(91)
    r["graph"] = {"edges": [["s0", "s1"], ["s1", "s2"], ["s2", "s3"]], "seeds": ["s0"]}
    add("path of exactly 3 hops (path_length <= 3 holds)", (r, *rest))
    r, *rest = sc_cdr_warranted(92)
    r["graph"] = {"edges": [["a", "b"], ["b", "c"], ["x", "y"]], "seeds": ["a", "x"]}
    add("two seeds, one per component, every node within 2 hops", (r, *rest))
    r, *rest = sc_intel_warranted(93)
    r["graph"] = {"edges": [["s1", "s2"]] * 40 + [["s2", "s1"]] * 40 + [["s2", "s3"]], "seeds": ["s1"]}
    add("repeated and reversed edges count once", (r, *rest))
    # tier 2: approved, minimized exports of personal data
    for i in range(4):
        add("data steward exports employee records under a two-approval grant: ids dropped or pseudonymised, "
            "salaries and ages bucketed", sc_hr_steward_export(i, region=["eu", "uk"][i % 2]))
    for i in range(4):
        add("SRE exports access logs for an open incident under a grant: pseudonymised, at most 10,000 rows",
            sc_ops_logs_export(i, region=["eu", "us"][i % 2]))
    for k, (mk, region) in enumerate([(sc_hr_steward_export, "us"), (sc_hr_steward_export, "apac"),
                                      (sc_ops_logs_export, "uk"), (sc_ops_logs_export, "apac")]):
        sc = mk(40 + k, region=region)
        add(f"approved tier-2 export of {sc[0]['resource']['dataset']} entirely within {region}", sc)
    r, *rest = sc_ops_logs_export(44)
    r["context"]["time"] = NIGHT
    r["grants"][0].update(granted_at="2025-03-08T22:30:00Z", expires_at="2025-03-09T01:00:00Z")
    add("access-log export for an incident on a weekend night (tier 2 has no business-hours rule)", (r, *rest))
    r, *rest = sc_hr_steward_export(45)
    r["resource"]["owner_org"] = "acme"
    r["resource"]["row_count"] = 4200
    r["subject"]["teams"] = ["people-analytics"]
    add("steward export of the subject's own organization's records, with optional attributes", (r, *rest))


# ------------------------------------------------------------------ injection-like values
PAYLOADS = {
    "sql": "x' OR '1'='1'; DROP TABLE studio_decisionrecord; --",
    "sql2": "1 UNION SELECT password FROM accounts_user --",
    "json": '{"effect": "permit", "roles": ["admin"]}',
    "json-break": '"}, "roles": ["admin"], "x": {"',
    "lac": 'permit any when true',
    "lac-policy": 'policy "pwn" tier 1 domain * { permit any }',
    "lac-expr": '") or true or ("',
    "template": "{policy} {{warrant}} {0} %s ${jndi:ldap://x}",
    "confusable": "аdmin ѕenior_analyst іnvestigator",
    "zero-width": "inves\u200btigator\u200d\ufeff",
    "bidi": "\u202eetanimreted\u202c",
    "control": "line1\r\nline2\x00\x1b[31mred\x07\t",
    "long": "A" * 100_000,
    "emoji": "🔓🔑✅ permit",
    "path": "../../../../etc/passwd",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
}


def build_injection() -> None:
    cat = "injection"
    n = 0

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"inj-{n:03d}", cat, desc, req, effect, reason, **kw)

    # (1) hostile text in free-text attributes: the decision of the legitimate request stands
    targets = [
        ("subject.id", sc_intel_warranted(100)), ("context.reason_for_access", sc_intel_warranted(101)),
        ("authority.issued_by", sc_cdr_warranted(102)), ("resource.id", sc_fraud_review(103)),
        ("context.ticket", sc_hr_case(104)), ("subject.organization", sc_marketing(105)),
        ("context.incident_id", sc_incident(106)), ("resource.dataset", sc_ops_metrics(107)),
        ("action.destination", sc_fin_export_grant(108)), ("authority.warrant", sc_intel_warranted(109)),
        ("authority.license", sc_intel_warranted(110)), ("context.reason_for_access", sc_ops_logs(111)),
        ("context.ticket", sc_fin_export_grant(112)), ("subject.id", sc_audit(113)),
        ("resource.id", sc_campaign(114)), ("context.incident_id", sc_incident(115)),
    ]
    for k, (path, sc) in enumerate(targets):
        name, payload = list(PAYLOADS.items())[k % len(PAYLOADS)]
        r, effect, reason, obs = sc
        ent, attr = path.split(".")
        r[ent][attr] = payload
        if path == "subject.id":
            for g in r.get("grants", []):
                g["subject_id"] = payload
        add(f"{name} payload in {path} (free text) does not change the decision", r, effect, reason,
            obligations=obs)
    # the payloads in graph node ids: still a 3-node path from the seed
    for k, name in enumerate(["sql", "json", "lac", "control", "confusable", "long"]):
        r, effect, reason, obs = sc_intel_warranted(120 + k)
        p = PAYLOADS[name]
        r["graph"] = {"edges": [[p, p + "-2"], [p + "-2", p + "-3"]], "seeds": [p]}
        add(f"{name} payload as graph node ids: metrics are the same", r, effect, reason, obligations=obs)
    # unknown attributes and top-level keys are ignored (they grant nothing)
    r, effect, reason, obs = sc_marketing(130)
    r["subject"]["is_admin"] = True
    r["effect"] = "permit"
    add("unknown attributes (subject.is_admin, top-level effect) are ignored", r, effect, reason, obligations=obs,
        violations=["subject.is_admin", "effect"])
    r, *_ = sc_intel_warranted(131)
    r["subject"]["mfa"] = False
    r["subject"]["override"] = "permit any when true"
    r["policies"] = [PAYLOADS["lac-policy"]]
    add("a request cannot smuggle policies: mfa off stays forbidden", r, "forbid", "lac.forbid.mfa_required",
        violations=["subject.override", "policies"])
    # (2) hostile values in attributes that decide: never more access
    r, *_ = sc_intel_warranted(140)
    r["subject"]["roles"] = ["investigator\u200b"]
    add("zero-width space in a role: not the investigator role", r, "deny", "lac.deny.no_policy",
        violations=["subject.roles"])
    r, *_ = sc_intel_warranted(141)
    r["subject"]["roles"] = ["іnvestigator"]  # Cyrillic і
    add("confusable (Cyrillic) role name: not the investigator role", r, "deny", "lac.deny.no_policy",
        violations=["subject.roles"])
    r, *_ = sc_intel_warranted(142)
    r["subject"]["roles"] = "not_an_investigator"
    add("roles given as a string containing 'investigator': malformed, never a substring match", r, "deny",
        "lac.deny.missing_attribute", violations=["subject.roles"])
    r, *_ = sc_intel_warranted(143)
    r["subject"]["roles"] = ["investigator' OR '1'='1"]
    add("SQL fragment in a role", r, "deny", "lac.deny.no_policy", violations=["subject.roles"])
    r, *_ = sc_intel_warranted(144)
    r["context"]["purpose"] = "investigation' --"
    add("SQL comment appended to the purpose", r, "deny", "lac.deny.no_policy", violations=["context.purpose"])
    r, *_ = sc_intel_warranted(145)
    r["context"]["purpose"] = "Investigation"
    add("purpose with different case is another value", r, "deny", "lac.deny.no_policy",
        violations=["context.purpose"])
    r, *_ = sc_intel_warranted(146)
    r["subject"]["clearance"] = "top_secret\x00"
    add("NUL byte in clearance: malformed, the permit cannot be evaluated", r, "deny", "lac.deny.missing_attribute",
        violations=["subject.clearance"])
    r, *_ = sc_merchant_stats(147)
    r["resource"]["data_class"] = "P3' OR '1'='1"
    add("SQL fragment in the data class", r, "deny", "lac.deny.invalid_request", violations=["resource.data_class"])
    r, *_ = sc_merchant_stats(148)
    r["resource"]["domain"] = "finance.transactions\u200b"
    add("zero-width space in the domain", r, "deny", "lac.deny.invalid_request", violations=["resource.domain"])
    r, *_ = sc_merchant_stats(149)
    r["action"] = {"name": "query; export"}
    add("two actions in one name", r, "deny", "lac.deny.invalid_request", violations=["action.name"])
    r, *_ = sc_intel_warranted(150)
    r["subject"]["mfa"] = "true"
    add("mfa given as the string 'true' is not true", r, "forbid", "lac.forbid.mfa_required",
        violations=["subject.mfa"])
    r, *_ = sc_fraud_review(151)
    r["subject"]["mfa"] = 1
    add("mfa given as 1 is not true", r, "forbid", "lac.forbid.mfa_required", violations=["subject.mfa"])
    r, *_ = sc_fraud_review(152)
    r["subject"]["residency"] = "eu "
    add("trailing space in the subject's residency: outside the region", r, "forbid", "lac.forbid.residency",
        violations=["subject.residency"])
    r, *_ = sc_fraud_review(153)
    r["resource"]["residency"] = "EU"
    add("upper-case residency on the data: not the subject's region", r, "forbid", "lac.forbid.residency",
        violations=["resource.residency"])
    r, *_ = sc_cell_sites(154, action={"name": "download"})
    r["context"]["time"] = NIGHT
    r["subject"]["on_call"] = "yes"
    add("on_call as a string does not lift the business-hours rule", r, "forbid", "lac.forbid.outside_hours",
        violations=["subject.on_call"])
    r, *_ = sc_intel_warranted(155)
    r["authority"]["expiry"] = "2099-01-01T00:00:00Z' OR 1=1"
    add("SQL fragment in the warrant expiry: malformed, not a valid warrant", r, "deny",
        "lac.deny.missing_attribute", violations=["authority.expiry"])
    r, *_ = sc_intel_warranted(156)
    r["authority"]["scope"] = "intel.graph"
    add("warrant scope as a string: malformed", r, "deny", "lac.deny.missing_attribute",
        violations=["authority.scope"])
    r, *_ = sc_intel_warranted(157)
    r["authority"]["scope"] = ["intel.graph\u200b"]
    add("zero-width space in the warrant scope: does not cover intel.graph", r, "deny", "lac.deny.no_policy",
        violations=["authority.scope"])
    r, *_ = sc_intel_warranted(158)
    r["resource"]["tier"] = 2
    r["subject"]["mfa"] = False
    add("claiming tier 2 for a tier-1 domain does not lift tier-1 rules", r, "forbid", "lac.forbid.mfa_required",
        violations=["resource.tier"])
    r, *_ = sc_fin_export_grant(159)
    r["grants"][0]["policy_id"] = "finance.transactions-export' OR '1'='1"
    add("SQL fragment in a grant's policy id: no grant", r, "require_approval", "lac.approval.export",
        obligations=OB_FIN_EXPORT, approvers=1)
    r, *_ = sc_fin_export_grant(160)
    r["action"]["row_limit"] = "50000"
    add("row limit as a string: the bulk-export rule cannot be evaluated and fails closed", r, "forbid",
        "lac.forbid.evaluation_error", violations=["action.row_limit"])
    r, *_ = sc_intel_warranted(161)
    r["context"]["time"] = "2025-03-04T10:00:00Z; DROP"
    add("malformed request time: the warrant cannot be checked", r, "deny", "lac.deny.missing_attribute",
        violations=["context.time"])
    r, effect, reason, obs = sc_marketing(162)
    r["subject"]["roles"] = ["marketing_analyst", {"$ne": None}]
    add("NoSQL operator object among the roles grants nothing beyond the real role", r, effect, reason,
        obligations=obs, violations=["subject.roles"])
    r, *_ = sc_intel_communities(163)
    r["subject"]["roles"] = [{"$in": ["analyst"]}]
    add("NoSQL operator object instead of a role (first written as no_policy; corrected: an object in a set "
        "attribute makes it malformed, so the policies reading roles cannot be evaluated and the reason is "
        "the missing/malformed-attribute one)", r, "deny", "lac.deny.missing_attribute", violations=["subject.roles"])


# ------------------------------------------------------------------ inference and join leakage
def build_inference() -> None:
    cat = "inference"
    n = 0

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"inf-{n:03d}", cat, desc, req, effect, reason, **kw)

    # small cells
    small = [
        ("headcount of a 3-person department", sc_headcount(200, min_group_size=3)),
        ("campaign conversions for a single customer", sc_campaign(201, min_group_size=1)),
        ("audience profile query narrowed to 4 people", sc_marketing(202, min_group_size=4)),
        ("merchant statistics for a merchant with 2 customers", sc_merchant_stats(203)),
        ("graph communities of 5 members", sc_intel_communities(204)),
        ("cell-site aggregate over 2 subscribers", sc_cell_sites(205)),
        ("service metrics of a service used by 6 people", sc_ops_metrics(206)),
        ("headcount export of a 9-person team (just below the threshold)", sc_headcount(207, action="export",
                                                                                        min_group_size=9)),
        ("campaign statistics export over 7 people", sc_campaign(208, action="export", min_group_size=7)),
        ("audience query whose smallest segment is empty", sc_marketing(209, min_group_size=0)),
    ]
    for desc, (r, *_) in small:
        r["resource"].setdefault("min_group_size", {203: 2, 204: 5, 205: 2, 206: 6}.get(int(r["subject"]["id"][-3:]), 2))
        add(f"small cell: {desc}", r, "forbid", "lac.forbid.small_cell")
    for desc, sc in [("headcount with a smallest group of exactly 10", sc_headcount(210, min_group_size=10)),
                     ("campaign statistics over large groups", sc_campaign(211, min_group_size=5000))]:
        add(f"not a small cell: {desc}", sc[0], sc[1], sc[2], obligations=sc[3])
    # identified (P0/P1) data is not subject to the aggregate threshold: small results are the point
    r, effect, reason, obs = sc_hr_case(212)
    r["resource"]["min_group_size"] = 1
    add("HR case on one employee (P1, identified by design) is not a small-cell release", r, effect, reason,
        obligations=obs)
    # joins: fields of a more sensitive dataset under a less sensitive class
    joins = [
        (sc_intel_communities(220), ["community_id", "size", "msisdn"], "communities joined with entity msisdns"),
        (sc_intel_communities(221), ["community_id", "name"], "communities joined with target names"),
        (sc_intel_communities(222), ["community_id", "source", "target"], "communities joined with links"),
        (sc_fraud_review(223), ["account_id", "amount", "narrative"], "transactions joined with SAR narratives"),
        (sc_fraud_review(224), ["iban", "report_id"], "transactions joined with SAR report ids"),
        (sc_merchant_stats(225), ["merchant", "volume", "iban"], "merchant statistics joined with IBANs"),
        (sc_merchant_stats(226), ["merchant", "account_id", "amount"], "merchant statistics joined with accounts"),
        (sc_cell_sites(227), ["cell_id", "caller_msisdn"], "cell sites joined with caller numbers"),
        (sc_cell_sites(228), ["cell_id", "imei", "started_at"], "cell sites joined with handsets and times"),
        (sc_headcount(229), ["department", "headcount", "salary"], "headcount joined with salaries"),
        (sc_headcount(230), ["department", "national_id"], "headcount joined with national ids"),
        (sc_campaign(231), ["campaign", "conversions", "email"], "campaign statistics joined with e-mails"),
        (sc_campaign(232), ["campaign", "customer_id", "segment"], "campaign statistics joined with customers"),
        (sc_ops_metrics(233), ["service", "latency_ms", "user_id"], "service metrics joined with user ids"),
        (sc_ops_metrics(234), ["service", "ip_address", "path"], "service metrics joined with IPs and paths"),
    ]
    for (r, *_), fields, desc in joins:
        r["resource"]["fields"] = fields
        add(f"join leak: {desc} (P0/P1 identity fields under a lower class)", r, "forbid", "lac.forbid.field_class")
    # the same join requested under the right class goes to the policies for that class
    r, *_ = sc_intel_communities(235)
    r["resource"].update(dataset="entities", data_class="P0", fields=["community_id", "msisdn"],
                         id="intel.graph/entities")
    add("the join declared as P0: an analyst without warrant has no policy", r, "deny", "lac.deny.no_policy")
    # repeated narrowing: the planner's effective group size shrinks with each overlapping query
    seqs = [
        ("hr", lambda i, g: sc_headcount(240 + i, min_group_size=g), [800, 120, 35, 11, 6, 2]),
        ("mk", lambda i, g: sc_marketing(250 + i, min_group_size=g), [50000, 900, 60, 10, 3, 1]),
        ("cp", lambda i, g: sc_campaign(260 + i, min_group_size=g), [2000, 150, 12, 8]),
    ]
    for tag, mk, sizes in seqs:
        for step, g in enumerate(sizes, 1):
            sc = mk(step, g)
            if g >= 10:
                add(f"narrowing {tag} step {step}/{len(sizes)}: effective group {g} (still released)", sc[0], sc[1],
                    sc[2], obligations=sc[3])
            else:
                add(f"narrowing {tag} step {step}/{len(sizes)}: effective group {g} after differencing",
                    sc[0], "forbid", "lac.forbid.small_cell")


# ------------------------------------------------------------------ graph leaks
def tree(branching: list[int], root: str = "s") -> list[list[str]]:
    edges, level = [], [root]
    for b in branching:
        nxt = []
        for p in level:
            for k in range(b):
                c = f"{p}.{k}"
                edges.append([p, c])
                nxt.append(c)
        level = nxt
    return edges


def build_graph() -> None:
    cat = "graph"
    n = 0

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"graph-{n:03d}", cat, desc, req, effect, reason, **kw)

    lim = "lac.deny.graph_limit"
    cases = [
        ("hub with 600 neighbours (degree > 500)", {"edges": [["hub", f"n{i}"] for i in range(600)], "seeds": ["hub"]}),
        ("hub with 501 neighbours", {"edges": [["hub", f"n{i}"] for i in range(501)], "seeds": ["hub"]}),
        ("hub with 499 neighbours and a self-loop (counts twice: 501)",
         {"edges": [["hub", f"n{i}"] for i in range(499)] + [["hub", "hub"]], "seeds": ["hub"]}),
        ("hub reached at one hop from the seed", {"edges": [["s", "hub"]] + [["hub", f"n{i}"] for i in range(700)],
                                                  "seeds": ["s"]}),
        ("chain of 4 hops", {"edges": [[f"c{i}", f"c{i + 1}"] for i in range(4)], "seeds": ["c0"]}),
        ("chain of 10 hops", {"edges": [[f"c{i}", f"c{i + 1}"] for i in range(10)], "seeds": ["c0"]}),
        ("chain of 50 hops", {"edges": [[f"c{i}", f"c{i + 1}"] for i in range(50)], "seeds": ["c0"]}),
        ("component of 6421 nodes within 3 hops", {"edges": tree([20, 20, 15]), "seeds": ["s"]}),
        ("component of 5002 nodes", {"edges": [*tree([50, 99]), ["s", "extra"]], "seeds": ["s"]}),
        ("a second component the seed does not reach", {"edges": [["s1", "s2"], ["x1", "x2"]], "seeds": ["s1"]}),
        ("seed absent from the result graph", {"edges": [["a", "b"], ["b", "c"]], "seeds": ["zz"]}),
        ("large far component next to a small seeded one",
         {"edges": [["s1", "s2"]] + [[f"f{i}", f"f{i + 1}"] for i in range(300)], "seeds": ["s1"]}),
        ("cycle of 10 (5 hops to the far side)", {"edges": [[f"r{i}", f"r{(i + 1) % 10}"] for i in range(10)],
                                                  "seeds": ["r0"]}),
    ]
    for k, (desc, g) in enumerate(cases):
        r, *_ = sc_intel_warranted(300 + k)
        r["graph"] = g
        add(f"intel.graph warranted query: {desc}", r, "deny", lim)
    # telecom: component <= 2000, path <= 2, degree <= 500
    tcases = [
        ("chain of 3 hops", {"edges": [["a", "b"], ["b", "c"], ["c", "d"]], "seeds": ["a"]}),
        ("component of 2101 nodes within 2 hops", {"edges": tree([30, 69]), "seeds": ["s"]}),
        ("call-centre hub with 700 contacts", {"edges": [["s", f"n{i}"] for i in range(700)], "seeds": ["s"]}),
        ("unreached second component", {"edges": [["a", "b"], ["c", "d"]], "seeds": ["a"]}),
    ]
    for k, (desc, g) in enumerate(tcases):
        r, *_ = sc_cdr_warranted(320 + k)
        r["graph"] = g
        add(f"telecom.cdr warranted query: {desc}", r, "deny", lim)
    # exports are bounded like queries (even with both approvals granted)
    for k, (desc, g) in enumerate([("hub of 900", {"edges": [["s", f"n{i}"] for i in range(900)], "seeds": ["s"]}),
                                   ("chain of 6", {"edges": [[f"c{i}", f"c{i + 1}"] for i in range(6)],
                                                   "seeds": ["c0"]})]):
        s = subject(f"u-gx-{k}", ["investigator"], "secret")
        r = request(s, "export", resource("intel.graph", "entities"), purpose="investigation", authority=WARRANT,
                    graph=g, grants=[grant(f"jit-gx-{k}", "intel.graph.export", "2025-03-04T12:00:00Z",
                                           subject_id=s["id"])])
        add(f"intel.graph export under a grant: {desc}", r, "deny", lim)
    # the metrics cannot be computed: nothing is permitted
    for desc, g, v in [("no result graph", None, []), ("no seeds: path length unknown", {"edges": [["a", "b"]]}, []),
                       ("edges that are not pairs", {"edges": [["a", "b", "c"]], "seeds": ["a"]}, ["graph"]),
                       ("unhashable node ids", {"edges": [[["a"], "b"]], "seeds": ["b"]}, ["graph"])]:
        r, *_ = sc_intel_warranted(340 + n)
        if g is None:
            r.pop("graph")
        else:
            r["graph"] = g
        add(f"intel.graph warranted query: {desc}", r, "deny", "lac.deny.missing_attribute", violations=v)
    # within bounds
    for k, (desc, g) in enumerate([
        ("tree of 4002 nodes within 2 hops", {"edges": [*tree([40, 99]), ["s", "t"]], "seeds": ["s"]}),
        ("component of exactly 5000 nodes", {"edges": [*tree([49, 101]), ["s.0", "s.0.x"]],
                                             "seeds": ["s"]}),
        ("many duplicate edges around a 300-neighbour hub", {"edges": [["hub", f"n{i}"] for i in range(300)] * 3,
                                                             "seeds": ["hub"]}),
    ]):
        r, effect, reason, obs = sc_intel_warranted(360 + k)
        r["graph"] = g
        add(f"intel.graph warranted query within bounds: {desc}", r, effect, reason, obligations=obs)


# ------------------------------------------------------------------ authority
def build_authority() -> None:
    cat = "authority"
    n = 0

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"auth-{n:03d}", cat, desc, req, effect, reason, **kw)

    nopol = "lac.deny.no_policy"
    variants = [
        ("no authority at all", lambda a: {}),
        ("warrant expired last month", lambda a: {**a, "expiry": "2025-02-01T00:00:00Z"}),
        ("warrant expires exactly now", lambda a: {**a, "expiry": T}),
        ("warrant expired an hour ago (expiry with +02:00 offset)", lambda a: {**a, "expiry": "2025-03-04T11:00:00+02:00"}),
        ("warrant without an expiry", lambda a: {k: v for k, v in a.items() if k != "expiry"}),
        ("warrant scoped to another domain only", lambda a: {**a, "scope": ["finance.transactions"]}),
        ("warrant without a scope", lambda a: {k: v for k, v in a.items() if k != "scope"}),
        ("warrant number with a consent legal basis", lambda a: {**a, "legal_basis": "consent"}),
        ("warrant number with a legitimate-interest basis", lambda a: {**a, "legal_basis": "legitimate_interest"}),
        ("licence instead of a warrant", lambda a: {"license": "L-88", "legal_basis": "contract",
                                                     "expiry": "2026-01-01T00:00:00Z", "scope": ["intel.graph"]}),
        ("expired licence", lambda a: {"license": "L-12", "expiry": "2024-12-31T00:00:00Z"}),
        ("legal basis only (court order) without a warrant", lambda a: {"legal_basis": "court_order",
                                                                         "expiry": "2025-06-01T00:00:00Z",
                                                                         "scope": ["intel.graph"]}),
    ]
    for k, (desc, f) in enumerate(variants):
        r, *_ = sc_intel_warranted(400 + k)
        r["authority"] = f(WARRANT)
        add(f"intel.graph query: {desc}", r, "deny", nopol)
    for k, (desc, f) in enumerate(variants[:8]):
        r, *_ = sc_cdr_warranted(420 + k)
        r["authority"] = f(WARRANT)
        add(f"telecom.cdr query: {desc}", r, "deny", nopol)
    sar = [
        ("court order expired", {**COURT_ORDER_FIN, "expiry": "2025-03-01T00:00:00Z"}),
        ("legal basis is legitimate interest", {**COURT_ORDER_FIN, "legal_basis": "legitimate_interest"}),
        ("court order scoped to telecom only", {**COURT_ORDER_FIN, "scope": ["telecom.cdr"]}),
        ("no authority", {}),
        ("consent instead of a court order", {**COURT_ORDER_FIN, "legal_basis": "consent"}),
    ]
    for k, (desc, a) in enumerate(sar):
        r, *_ = sc_sar_grant(440 + k)
        r["authority"] = a
        add(f"SAR access (grant held): {desc}", r, "deny", nopol)
    r, *_ = sc_sar_grant(446)
    del r["context"]["ticket"]
    add("SAR access without a ticket (undocumented)", r, "deny", nopol)
    r, *_ = sc_sar_grant(447)
    r["grants"] = []
    add("SAR access, everything in order, no grant yet: two approvals needed", r, "require_approval",
        "lac.approval.sar", obligations=OB_SAR, approvers=2)
    # residency exception needs a valid, matching court order
    for k, (desc, a, effect, reason) in enumerate([
        ("warrant covering intel.graph lifts the residency rule", WARRANT, "permit",
         "lac.permit.warranted_investigation"),
        ("expired warrant does not", {**WARRANT, "expiry": "2025-03-01T00:00:00Z"}, "forbid", "lac.forbid.residency"),
        ("consent basis does not", {**WARRANT, "legal_basis": "consent"}, "forbid", "lac.forbid.residency"),
        ("court order for another domain does not", {**WARRANT, "scope": ["finance.transactions"]}, "forbid",
         "lac.forbid.residency"),
    ]):
        r, *_ = sc_intel_warranted(450 + k, region="eu")
        r["subject"]["residency"] = "us"
        r["subject"]["geo"] = {"country": "US", "region": "us"}
        r["authority"] = a
        add(f"US investigator, EU graph data: {desc}", r, effect, reason,
            obligations=OB_WARRANT_INTEL if effect == "permit" else None)
    # exports need the warrant too
    s = subject("u-ex-1", ["investigator"], "secret")
    r = request(s, "export", resource("intel.graph", "entities"), purpose="investigation", authority={},
                graph=small_graph())
    add("intel.graph export without a warrant", r, "deny", nopol)
    r = request(s, "export", resource("intel.graph", "entities"), purpose="investigation",
                authority={**WARRANT, "expiry": "2025-01-01T00:00:00Z"}, graph=small_graph())
    add("intel.graph export with an expired warrant", r, "deny", nopol)


def build_egress() -> None:
    """Tier-2 (and call-record) rows leaving the platform: only the approved, minimized exports."""
    cat = "authority"
    n = 100  # auth-101...: after build_authority's cases
    egress, hr_out, nopol = "lac.forbid.personal_egress", "lac.forbid.personal_export", "lac.deny.no_policy"

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"auth-{n:03d}", cat, desc, req, effect, reason, **kw)

    # a warrant authorises queries, not taking call records off the platform
    for k, action in enumerate(["export", "share", "download"]):
        r, *_ = sc_cdr_warranted(1000 + k)
        r["action"] = {"name": action}
        add(f"warranted investigator tries to {action} raw call records", r, "forbid", egress)
    r, *_ = sc_netops(1003)
    r["action"] = {"name": "download"}
    add("network engineer downloads call records in business hours", r, "forbid", egress)
    # employee records: never downloaded or shared; exported only by a data steward with approvals
    for k, (roles, action) in enumerate([(["hr_partner"], "download"), (["data_steward"], "download"),
                                         (["data_steward"], "share"), (["hr_partner"], "share")]):
        r, *_ = sc_hr_case(1010 + k)
        r["subject"]["roles"] = roles
        r["action"] = {"name": action}
        add(f"{roles[0]} tries to {action} employee records", r, "forbid", hr_out)
    r, *_ = sc_hr_steward_export(1020)
    del r["grants"]
    del r["context"]["ticket"]
    add("data steward export without a ticket: no approval path (undocumented access)", r, "deny", nopol)
    r, *_ = sc_hr_steward_export(1021)
    del r["grants"]
    r["context"]["purpose"] = "marketing"
    add("data steward export for marketing: not an audit or HR case", r, "deny", nopol)
    r, *_ = sc_hr_steward_export(1022)
    del r["grants"]
    r["subject"]["roles"] = ["hr_partner"]
    add("HR partner (not a data steward) exports employee records", r, "forbid", hr_out)
    # audience profiles: never downloaded
    for k, roles in enumerate([["marketing_analyst"], ["auditor"], ["data_steward"]]):
        r, *_ = sc_marketing(1030 + k)
        r["subject"]["roles"] = roles
        r["action"] = {"name": "download"}
        add(f"{roles[0]} downloads raw audience profiles", r, "forbid", egress)
    # access logs: never downloaded or shared; exported only for an incident
    for k, action in enumerate(["download", "share"]):
        r, *_ = sc_ops_logs(1040 + k)
        r["action"] = {"name": action}
        add(f"SRE tries to {action} raw access logs", r, "forbid", egress)
    r, *_ = sc_ops_logs_export(1042)
    del r["grants"]
    del r["context"]["incident_id"]
    add("SRE exports access logs without naming an incident", r, "deny", nopol)
    r, *_ = sc_ops_logs_export(1043)
    del r["grants"]
    r["context"]["purpose"] = "reporting"
    add("SRE exports access logs for reporting, not incident response", r, "deny", nopol)
    r, *_ = sc_ops_logs_export(1044)
    del r["grants"]
    r["subject"]["roles"] = ["network_engineer"]
    add("network engineer (not an SRE) exports access logs for an incident", r, "deny", nopol)


# ------------------------------------------------------------------ cross-tenant
def build_cross_tenant() -> None:
    cat = "cross_tenant"
    n = 0
    scs = [sc_intel_warranted(500), sc_intel_communities(501), sc_fraud_review(502), sc_merchant_stats(503),
           sc_fin_export_grant(504), sc_cdr_warranted(505), sc_netops(506), sc_cell_sites(507), sc_hr_case(508),
           sc_headcount(509), sc_marketing(510), sc_campaign(511), sc_audience_export_grant(512), sc_ops_metrics(513),
           sc_ops_logs(514), sc_audit(515), sc_incident(516), sc_sar_grant(517)]
    owners = ["globex", "initech", "umbrella", "ACME", "acme ", "acme-partner"]
    for k, (r, *_) in enumerate(scs):
        n += 1
        owner = owners[k % len(owners)]
        r["resource"]["owner_org"] = owner
        case(f"xt-{n:03d}", cat, f"subject of acme reads data owned by {owner!r}", r, "forbid",
             "lac.forbid.cross_tenant")
    for r, *_ in [sc_intel_warranted(520), sc_hr_case(521)]:
        n += 1
        r["subject"]["organization"] = "globex"
        r["resource"]["owner_org"] = "acme"
        case(f"xt-{n:03d}", cat, "partner organization's analyst reads the operator's data", r, "forbid",
             "lac.forbid.cross_tenant")
    n += 1
    r, effect, reason, obs = sc_campaign(522)
    r["subject"]["organization"] = "globex"
    r["resource"]["owner_org"] = "globex"
    case(f"xt-{n:03d}", cat, "partner analyst reads the partner's own data", r, effect, reason, obligations=obs)
    # approved tier-2 exports: a grant does not open another organization's data
    for r, *_ in [sc_hr_steward_export(518), sc_ops_logs_export(519)]:
        n += 1
        r["resource"]["owner_org"] = "globex"
        case(f"xt-{n:03d}", cat, f"approved export of {r['resource']['dataset']} owned by 'globex'", r, "forbid",
             "lac.forbid.cross_tenant")


# ------------------------------------------------------------------ residency
def build_residency() -> None:
    cat = "residency"
    n = 0

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"res-{n:03d}", cat, desc, req, effect, reason, **kw)

    res = "lac.forbid.residency"
    # subject resident outside the data's region
    for k, (mk, region) in enumerate([(sc_intel_communities, "us"), (sc_fraud_review, "us"), (sc_merchant_stats, "uk"),
                                      (sc_netops, "apac"), (sc_cell_sites, "us"), (sc_incident, "uk")]):
        r, *_ = mk(600 + k)
        r["subject"]["residency"] = region
        r["subject"]["geo"] = {"country": REGION_COUNTRY[region], "region": region}
        add(f"EU tier-1 data to a subject resident in {region}", r, "forbid", res)
    # resident in the EU but working from elsewhere
    for k, (mk, region) in enumerate([(sc_fraud_review, "us"), (sc_intel_communities, "apac"), (sc_netops, "uk"),
                                      (sc_marketing, "us"), (sc_hr_case, "us"), (sc_ops_logs, "apac")]):
        r, *_ = mk(620 + k)
        r["subject"]["geo"] = {"country": REGION_COUNTRY[region], "region": region}
        add(f"EU resident subject connecting from {region}: EU data would leave the region", r, "forbid", res)
    # tier 2 exports and personal data
    for k, (mk, region) in enumerate([(sc_audience_export_grant, "us"), (sc_marketing, "us"), (sc_hr_case, "uk"),
                                      (sc_ops_logs, "us"), (sc_audit, "apac")]):
        r, *_ = mk(640 + k)
        r["subject"]["residency"] = region
        r["subject"]["geo"] = {"country": REGION_COUNTRY[region], "region": region}
        add(f"tier-2 personal data ({r['resource']['dataset']}) to a subject in {region}", r, "forbid", res)
    for k, (mk, action) in enumerate([(sc_headcount, "export"), (sc_campaign, "export"), (sc_ops_metrics, "export")]):
        r, *_ = mk(650 + k, action=action)
        r["subject"]["residency"] = "us"
        r["subject"]["geo"] = {"country": "US", "region": "us"}
        add(f"tier-2 aggregate export ({r['resource']['dataset']}) leaves the region", r, "forbid", res)
    # aggregates of tier 2 may be viewed from anywhere
    for k, mk in enumerate([sc_headcount, sc_campaign, sc_ops_metrics]):
        r, effect, reason, obs = mk(660 + k)
        r["subject"]["residency"] = "us"
        r["subject"]["geo"] = {"country": "US", "region": "us"}
        add(f"tier-2 aggregate ({r['resource']['dataset']}) viewed from the US (no personal data)", r, effect,
            reason, obligations=obs)
    # US data in the US, EU subject
    r, *_ = sc_fraud_review(670, region="us")
    r["subject"]["residency"] = "eu"
    r["subject"]["geo"] = {"country": "DE", "region": "eu"}
    add("US transactions to an EU analyst", r, "forbid", res)
    # location missing: fail closed
    r, *_ = sc_fraud_review(671)
    del r["subject"]["geo"]
    add("subject location missing: the residency rule cannot be evaluated (fail closed)", r, "forbid",
        "lac.forbid.evaluation_error", violations=["subject.geo"])
    for k, (mk, region) in enumerate([(sc_hr_steward_export, "us"), (sc_ops_logs_export, "apac")]):
        r, *_ = mk(655 + k)
        r["subject"]["geo"] = {"country": REGION_COUNTRY[region], "region": region}
        add(f"approved tier-2 export ({r['resource']['dataset']}) requested from {region}: residency still forbids",
            r, "forbid", res)


# ------------------------------------------------------------------ expired / foreign approvals
def build_approvals() -> None:
    cat = "approvals"
    n = 0

    def add(desc, req, effect, reason, **kw):
        nonlocal n
        n += 1
        case(f"jit-{n:03d}", cat, desc, req, effect, reason, **kw)

    fx = ("lac.approval.export", OB_FIN_EXPORT, 1)
    variants = [
        ("grant expired an hour ago", lambda g, s: {**g, "expires_at": "2025-03-04T09:00:00Z",
                                                     "granted_at": "2025-03-04T02:00:00Z"}),
        ("grant expires exactly now", lambda g, s: {**g, "expires_at": T}),
        ("grant for another policy", lambda g, s: {**g, "policy_id": "marketing.audience-export"}),
        ("grant for another subject", lambda g, s: {**g, "subject_id": "u-someone-else"}),
        ("grant issued in the future", lambda g, s: {**g, "granted_at": "2025-03-04T11:00:00Z"}),
        ("grant longer than the policy allows (8h)", lambda g, s: {**g, "granted_at": "2025-03-04T00:00:00Z",
                                                                    "expires_at": "2025-03-04T12:00:00Z"}),
        ("grant without a start, expiring beyond 8h from now", lambda g, s: {k: v for k, v in
                                                                              {**g, "expires_at": "2025-03-05T10:00:00Z"}.items()
                                                                              if k != "granted_at"}),
        ("grant without an expiry", lambda g, s: {k: v for k, v in g.items() if k != "expires_at"}),
        ("grant with a malformed expiry", lambda g, s: {**g, "expires_at": "tomorrow"}),
        ("grant for a policy id with different case", lambda g, s: {**g, "policy_id": "Finance.Transactions-Export"}),
    ]
    for k, (desc, f) in enumerate(variants):
        r, *_ = sc_fin_export_grant(700 + k)
        r["grants"] = [f(r["grants"][0], r["subject"])]
        reason, obs, appr = fx
        add(f"transaction export: {desc}", r, "require_approval", reason, obligations=obs, approvers=appr)
    r, *_ = sc_fin_export_grant(720)
    r["grants"] = {"grant_id": "g", "policy_id": "finance.transactions-export", "expires_at": "2025-03-04T12:00:00Z"}
    add("transaction export: grants given as an object, not a list", r, "require_approval", fx[0],
        obligations=fx[1], approvers=1, violations=["grants"])
    r, *_ = sc_fin_export_grant(721)
    r["grants"] = []
    add("transaction export: no grant", r, "require_approval", fx[0], obligations=fx[1], approvers=1)
    # intel export: two approvers, 4h
    s = subject("u-ie-1", ["investigator"], "secret")
    for desc, g in [
        ("expired grant", grant("g1", "intel.graph.export", "2025-03-04T09:59:59Z")),
        ("grant for the SAR policy", grant("g2", "finance.sar-access", "2025-03-04T11:00:00Z")),
        ("grant lasting 6h (policy allows 4h)", grant("g3", "intel.graph.export", "2025-03-04T14:00:00Z",
                                                      granted_at="2025-03-04T08:00:00Z")),
        ("grant for another investigator", grant("g4", "intel.graph.export", "2025-03-04T11:00:00Z",
                                                 subject_id="u-ie-2")),
    ]:
        r = request(s, "export", resource("intel.graph", "entities"), purpose="investigation", authority=WARRANT,
                    graph=small_graph(), grants=[g])
        add(f"intel.graph export: {desc}", r, "require_approval", "lac.approval.sensitive_export",
            obligations=OB_INTEL_EXPORT, approvers=2)
    r = request(s, "export", resource("intel.graph", "entities"), purpose="investigation", authority=WARRANT,
                graph=small_graph(), grants=[grant("g5", "intel.graph.export", "2025-03-04T12:00:00Z",
                                                   granted_at="2025-03-04T09:00:00Z", subject_id="u-ie-1")])
    add("intel.graph export: active grant for this investigator", r, "permit", "lac.permit.grant",
        obligations=OB_INTEL_EXPORT)
    # SAR: two approvers, 2h
    for k, (desc, f) in enumerate([
        ("grant expired", lambda g: {**g, "expires_at": "2025-03-04T09:00:00Z", "granted_at": "2025-03-04T08:00:00Z"}),
        ("grant for another subject", lambda g: {**g, "subject_id": "u-other"}),
        ("grant lasting 3h (policy allows 2h)", lambda g: {**g, "granted_at": "2025-03-04T08:30:00Z",
                                                          "expires_at": "2025-03-04T11:30:00Z"}),
    ]):
        r, *_ = sc_sar_grant(730 + k)
        r["grants"] = [f(r["grants"][0])]
        add(f"SAR access: {desc}", r, "require_approval", "lac.approval.sar", obligations=OB_SAR, approvers=2)
    # audience export: one approver, 1 day
    for k, (desc, f) in enumerate([
        ("grant expired yesterday", lambda g: {**g, "expires_at": "2025-03-03T18:00:00Z",
                                               "granted_at": "2025-03-03T09:00:00Z"}),
        ("grant of two days", lambda g: {**g, "expires_at": "2025-03-06T09:00:00Z"}),
        ("grant for the transactions export", lambda g: {**g, "policy_id": "finance.transactions-export"}),
    ]):
        r, *_ = sc_audience_export_grant(740 + k)
        r["grants"] = [f(r["grants"][0])]
        add(f"audience export: {desc}", r, "require_approval", "lac.approval.audience_export",
            obligations=OB_AUD_EXPORT, approvers=1)
    # a valid grant does not lift a forbid
    r, *_ = sc_fin_export_grant(750)
    r["action"]["row_limit"] = 50000
    add("transaction export of 50,000 rows with a valid grant: bulk exports stay forbidden", r, "forbid",
        "lac.forbid.bulk_export")
    r, *_ = sc_audience_export_grant(751)
    r["subject"]["residency"] = "us"
    r["subject"]["geo"] = {"country": "US", "region": "us"}
    add("audience export with a valid grant to a US subject: residency still forbids", r, "forbid",
        "lac.forbid.residency")
    # employee-record export by a data steward: two approvers, 4h
    hx = ("lac.approval.hr_export", OB_HR_EXPORT, 2)
    for k, (desc, f) in enumerate([
        ("no grant", lambda g: None),
        ("grant lasting 6h (policy allows 4h)", lambda g: {**g, "granted_at": "2025-03-04T06:00:00Z"}),
        ("grant for another subject", lambda g: {**g, "subject_id": "u-other-steward"}),
        ("grant for the HR case policy", lambda g: {**g, "policy_id": "hr.case-access"}),
    ]):
        r, *_ = sc_hr_steward_export(760 + k)
        g = f(r["grants"][0])
        r["grants"] = [g] if g else []
        add(f"employee-record export: {desc}", r, "require_approval", hx[0], obligations=hx[1], approvers=hx[2])
    # access-log export for an incident: one approver, 4h
    for k, (desc, f) in enumerate([
        ("no grant", lambda g: None),
        ("grant expired", lambda g: {**g, "granted_at": "2025-03-04T05:00:00Z", "expires_at": "2025-03-04T09:00:00Z"}),
        ("grant for the audience export", lambda g: {**g, "policy_id": "marketing.audience-export"}),
    ]):
        r, *_ = sc_ops_logs_export(770 + k)
        g = f(r["grants"][0])
        r["grants"] = [g] if g else []
        add(f"access-log export: {desc}", r, "require_approval", "lac.approval.ops_logs_export",
            obligations=OB_OPS_EXPORT, approvers=1)
    # an export grant is not a download or share grant
    for k, (mk, action, reason) in enumerate([(sc_hr_steward_export, "download", "lac.forbid.personal_export"),
                                              (sc_ops_logs_export, "share", "lac.forbid.personal_egress"),
                                              (sc_ops_logs_export, "download", "lac.forbid.personal_egress"),
                                              (sc_audience_export_grant, "download", "lac.forbid.personal_egress")]):
        r, *_ = mk(780 + k)
        r["action"] = {"name": action}
        add(f"a valid export grant used to {action} {r['resource']['dataset']}: forbidden", r, "forbid", reason)


# ------------------------------------------------------------------ locales
def build_locale() -> None:
    cat = "locale"
    n = 0

    def add(desc, sc, locale, rendered, fallback, **kw):
        nonlocal n
        n += 1
        r, effect, reason, obs = sc
        case(f"loc-{n:03d}", cat, desc, r, effect, reason, locale=locale, obligations=obs, rendered_locale=rendered,
             fallback=fallback, **kw)

    for k, (loc, rendered, fb, note) in enumerate([
        ("es", "es", False, "Spanish"), ("fr", "fr", False, "French"), ("en", "en", False, "English"),
        ("fr-CA", "fr", False, "Canadian French falls back to French"),
        ("es-MX", "es", False, "Mexican Spanish falls back to Spanish"),
        ("fr_FR", "fr", False, "underscore form"), ("en-GB", "en", False, "British English"),
        ("de", "en", True, "German: no catalog, English marked [en]"),
        ("pt-BR", "en", True, "Brazilian Portuguese: no catalog"),
        ("ja", "en", True, "Japanese: no catalog"),
        ("", "en", True, "empty locale"),
        ("zz-ZZ", "en", True, "unknown locale"),
        ("../../etc/passwd", "en", True, "path-like locale"),
        ("fr\u0000", "en", True, "NUL in the locale"),
        ("x" * 5000, "en", True, "very long locale"),
    ]):
        mk = [sc_fraud_review, sc_hr_case, sc_marketing, sc_intel_warranted, sc_ops_logs][k % 5]
        add(f"permit rendered for locale {loc[:20]!r}: {note}", mk(800 + k), loc, rendered, fb)
    # refusals are localized too
    forb = []
    r, *_ = sc_fraud_review(830)
    r["subject"]["mfa"] = False
    forb.append((r, "forbid", "lac.forbid.mfa_required", None))
    r, *_ = sc_fraud_review(831)
    r["subject"]["residency"] = "us"
    forb.append((r, "forbid", "lac.forbid.residency", None))
    r, *_ = sc_headcount(832, min_group_size=2)
    forb.append((r, "forbid", "lac.forbid.small_cell", None))
    r, *_ = sc_intel_warranted(833)
    r["graph"] = {"edges": [["hub", f"n{i}"] for i in range(600)], "seeds": ["hub"]}
    forb.append((r, "deny", "lac.deny.graph_limit", None))
    r, *_ = sc_fin_export_grant(834)
    r["grants"] = []
    forb.append((r, "require_approval", "lac.approval.export", OB_FIN_EXPORT))
    r, *_ = sc_campaign(835)
    r["resource"]["owner_org"] = "globex"
    forb.append((r, "forbid", "lac.forbid.cross_tenant", None))
    for r, effect, reason, obs in forb:
        for loc, rendered, fb in (("es", "es", False), ("fr-BE", "fr", False), ("it", "en", True)):
            add(f"{effect} ({reason}) rendered for {loc}", (r, effect, reason, obs), loc, rendered, fb)
    r, *_ = sc_merchant_stats(840)
    r["resource"]["domain"] = "weather.forecasts"
    add("unknown domain rendered in French", (r, "deny", "lac.deny.invalid_request", None), "fr", "fr", False,
        violations=["resource.domain"])
    # the tier-2 egress and export reasons
    r, *_ = sc_marketing(836)
    r["action"] = {"name": "download"}
    t2 = [(r, "forbid", "lac.forbid.personal_egress", None)]
    r, *_ = sc_hr_steward_export(837)
    r["grants"] = []
    t2.append((r, "require_approval", "lac.approval.hr_export", OB_HR_EXPORT))
    r, *_ = sc_ops_logs_export(838)
    r["grants"] = []
    t2.append((r, "require_approval", "lac.approval.ops_logs_export", OB_OPS_EXPORT))
    for r, effect, reason, obs in t2:
        for loc, rendered, fb in (("es", "es", False), ("fr-BE", "fr", False), ("pt", "en", True)):
            add(f"{effect} ({reason}) rendered for {loc}", (r, effect, reason, obs), loc, rendered, fb)


def build_cases() -> list[dict]:
    """Every case, as the JSONL files hold them (JSON round-tripped)."""
    CASES.clear()
    for build in (build_legitimate, build_injection, build_inference, build_graph, build_authority, build_egress,
                  build_cross_tenant, build_residency, build_approvals, build_locale):
        build()
    return [json.loads(json.dumps(c, ensure_ascii=False, sort_keys=True)) for c in CASES]


def main() -> None:
    cases = build_cases()
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    by_cat: dict[str, list[dict]] = {}
    for c in cases:
        by_cat.setdefault(c["category"], []).append(c)
    for old in OUT.glob("*.jsonl"):
        old.unlink()
    for cat, items in by_cat.items():
        with (OUT / f"{cat}.jsonl").open("w", encoding="utf-8") as f:
            for c in items:
                f.write(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n")
    print({k: len(v) for k, v in by_cat.items()}, "total", len(cases))


if __name__ == "__main__":
    main()
