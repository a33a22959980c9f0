"""Demo data for the Policy Studio (called by ``manage.py seed_demo``; idempotent).

Three environments with history (a merged Tier-2 change in dev, promoted to stage), an open draft,
a decision log with every effect and a pending access request, decision points reporting in every
environment, and one drift example: a prod gateway running a hand-edited bundle.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from studio import services
from studio.lac import Bundle
from studio.lac.samples import WARRANT, sample_request
from studio.models import ChangeRequest, DecisionPoint, DecisionRecord

DEMO_POLICY = """
// Site-reliability engineers read service metrics during an incident, whatever their usual purpose.
policy "ops.incident-metrics" tier 2 domain ops.telemetry {
  permit query, view
  when resource.data_class == "P3"
    and subject.roles contains "sre"
    and context.purpose == "incident_response"
  reason "lac.permit.aggregate"
}
"""


def seed(users: dict[str, Any]) -> list[str]:
    """Returns what it did, one line each (nothing when the demo data is already there)."""
    done: list[str] = []
    services.environments_bootstrap(actor="seed_demo")
    author, approver = users["author"], users["approver"]
    if not ChangeRequest.objects.exists():
        draft = services.draft_create(actor=author, environment_name="dev", title="Incident metrics for SREs")
        services.draft_save(actor=author, draft=draft, file="ops.telemetry.lac",
                            source=draft.sources["ops.telemetry.lac"] + DEMO_POLICY)
        cr = services.change_submit(actor=author, draft=draft, title="Incident metrics for SREs",
                                    description="SREs need service metrics during incidents, whatever the ticket says.")
        services.change_comment(actor=approver, change=cr, body="Limited to P3 metrics: fine for Tier 2.")
        services.change_review(actor=approver, change=cr, approve=True, comment="LGTM")
        services.change_merge(actor=author, change=cr)
        services.promote(actor=approver, source="dev", target="stage", note="demo: incident metrics")
        services.draft_create(actor=author, environment_name="dev", title="Working draft")
        done.append(f"studio: {cr.ref} merged into dev and promoted to stage; a working draft for the author")
    if not DecisionRecord.objects.exists():
        n = _decisions(users)
        done.append(f"studio: {n} logged decisions across dev, stage and prod")
    if not DecisionPoint.objects.filter(builtin=False).exists():
        _points(users)
        done.append("studio: decision points report in every environment; gw-prod-eu-1 drifts (hand-edited bundle)")
    return done


def _decisions(users: dict[str, Any]) -> int:
    rng = random.Random(11)
    now = timezone.now()
    t = now.replace(year=2025, month=3, day=4)  # inside the sample warrant's validity
    graph = {"edges": [["s1", "s2"], ["s2", "s3"]], "seeds": ["s1"]}
    kinds = [
        lambda: sample_request(authority=WARRANT, graph=graph, context={"purpose": "investigation", "reason_for_access": "case 4711"}),
        lambda: sample_request(action="download", authority=WARRANT, context={"purpose": "investigation", "reason_for_access": "case 4712"}),
        lambda: sample_request(domain="ops.telemetry", data_class="P3", roles=["sre"], resource={"fields": ["service"]},
                               context={"purpose": "network_ops"}),
        lambda: sample_request(domain="marketing.audience", data_class="P2", roles=["marketing_analyst"],
                               context={"purpose": "marketing"}),
        lambda: sample_request(action="export", domain="finance.transactions", data_class="P1", roles=["fraud_analyst"],
                               context={"purpose": "fraud_review", "reason_for_access": "chargeback 77", "ticket": "FR-88"}),
        lambda: sample_request(domain="hr.records", data_class="P1", roles=["analyst"], context={"purpose": "reporting",
                                                                                             "reason_for_access": "headcount"}),
    ]
    n = 0
    for env, count in (("prod", 240), ("stage", 60), ("dev", 30)):
        items = []
        for i in range(count):
            req = rng.choice(kinds)()
            req["subject"]["id"] = f"u-{rng.randint(1000, 1040)}"
            items.append({"request": req, "locale": rng.choice(["en", "en", "es", "fr"])})
            if len(items) == 50 or i == count - 1:
                services.decide_batch(environment_name=env, items=items, caller=users["oncall"],
                                      now=t + timedelta(minutes=n))
                n += len(items)
                items = []
    # one access request waiting for approvers now
    services.decide(environment_name="prod", caller=users["oncall"], request=sample_request(
        action="export", domain="finance.transactions", data_class="P1", roles=["fraud_analyst"], subject={"id": "u-1042"},
        context={"purpose": "fraud_review", "reason_for_access": "chargeback case 77", "ticket": "FR-88"}))
    n += 1
    # the decisions above carry the sample clock; move them into the last week so the Studio's log,
    # coverage map and simulator show them as recent
    for i, rec in enumerate(DecisionRecord.objects.order_by("at")):
        DecisionRecord.objects.filter(pk=rec.pk).update(at=now - timedelta(minutes=25 * i % (7 * 24 * 60)))
    return n


def _points(users: dict[str, Any]) -> None:
    oncall = users["oncall"]
    for env in ("dev", "stage", "prod"):
        digest = services.environment(env, fresh=True).bundle.digest
        services.status_report(actor=oncall, point_id=f"gw-{env}-us-1", environment_name=env, digest=digest,
                               meta={"kind": "query gateway", "version": "2.4.1"})
    prod = services.environment("prod", fresh=True).bundle
    sources = dict(prod.sources)
    sources["intel.graph.lac"] = sources["intel.graph.lac"].replace("path_length <= 3", "path_length <= 2", 1)
    live = Bundle.build(policies=sources, schema=prod.schema, catalogs=prod.catalogs, lint_config=prod.lint_config or None)
    services.status_report(actor=oncall, point_id="gw-prod-eu-1", environment_name="prod", digest=live.digest,
                           bundle={"policies": sources, "schema": prod.schema, "catalogs": prod.catalogs,
                                   "lint": prod.lint_config or {}},
                           meta={"kind": "export service", "version": "2.4.0-hotfix"})
