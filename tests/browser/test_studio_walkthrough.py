"""A new policy author's walk through the Studio, end to end in Debian's chromium:

write a policy with a type error, see it inline, fix it, preview, run the diff simulator, submit a
change request, approve it as two other users, merge, promote to stage, see a promotion to prod
blocked by injected drift, accept the remediation, and promote to prod.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts import services as accounts
from studio import services
from studio.lac import Bundle
from studio.models import ChangeRequest, Deployment, Draft
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_POLICY = """
// Site-reliability engineers may read merchant statistics (aggregates) during an incident.
policy "finance.incident-stats" tier 1 domain finance.transactions {
  permit query
  when resource.{attr} == "P3"
    and subject.roles contains "sre"
    and context.purpose == "incident_response"
  reason "lac.permit.aggregate"
}
"""


def _editor_set(page, text: str) -> None:
    page.evaluate("t => LacEditor.get(document.getElementById('lac-source')).setValue(t)", text)


def _switch(page, user) -> None:
    page.context.clear_cookies()
    login(page, user.username)


def test_a_new_author_takes_a_policy_from_draft_to_prod(world, new_page, celery_worker):
    approver2 = accounts.user_create(actor="tests", organization=world.operator, username="u_approver2", password=PASSWORD,
                                     roles=["policy_approver"])
    author, approver = world.users["policy_author"], world.users["policy_approver"]
    services.environments_bootstrap()
    steps = []

    def step(name: str) -> None:
        steps.append(name)

    # 1. open the Studio and start a draft
    page = new_page(author)
    page.goto("/studio/")
    expect(page.locator("[data-testid=env-prod]")).to_contain_text("1.0.0")
    page.click("[data-testid=new-draft]")
    step("open the Studio and start a draft from dev")
    page.get_by_role("link", name="finance.transactions.lac").click()
    expect(page.locator(".cm-editor")).to_be_visible()
    original = page.evaluate("() => LacEditor.get(document.getElementById('lac-source')).getValue()")

    # 2. write a policy with a type error and see it inline, with the suggestion
    _editor_set(page, original + NEW_POLICY.replace("{attr}", "dataclass"))
    step("write a new policy (with a typo in an attribute)")
    expect(page.locator(".cm-lintRange-error").first).to_be_visible()
    expect(page.locator("[data-testid=problems]")).to_contain_text("resource.dataclass")
    expect(page.locator("[data-testid=problems]")).to_contain_text("data_class")
    expect(page.locator("[data-testid=check-state]")).to_contain_text("error")
    screenshot(page, "studio-walkthrough-type-error")
    step("see the type error inline and in the problems panel")

    # 3. fix it: the problems clear and the draft compiles
    _editor_set(page, original + NEW_POLICY.replace("{attr}", "data_class"))
    expect(page.locator("[data-testid=check-state]")).to_contain_text("compiles")
    expect(page.locator("#save-state")).to_contain_text("Saved")
    step("fix the typo")

    # 4. preview on an incident-response request
    page.reload()
    page.fill("#preview-request", """{"subject": {"id": "sre-1", "roles": ["sre"], "clearance": "internal", "organization": "ops",
      "on_call": true, "residency": "eu", "geo": {"country": "DE", "region": "eu"}, "mfa": true},
     "action": {"name": "query"},
     "resource": {"id": "finance.transactions/merchant_stats", "dataset": "merchant_stats", "domain": "finance.transactions",
                  "data_class": "P3", "tier": 1, "residency": "eu", "fields": ["merchant"]},
     "context": {"purpose": "incident_response", "reason_for_access": "INC-12", "time": "2025-03-04T10:00:00Z"},
     "authority": {}}""")
    page.fill("#preview-rows", "")
    page.click("[data-testid=run-preview]")
    expect(page.locator("[data-testid=preview-effect]")).to_have_text("permit")
    expect(page.locator("[data-testid=preview-trace]")).to_contain_text("decision: permit")
    expect(page.locator("[data-testid=reason-fr]")).not_to_be_empty()
    step("preview the draft's decision, trace and reasons")

    # 5. the diff simulator (a Celery task with a progress bar)
    page.select_option("#sim-env", "prod")
    page.click("[data-testid=run-simulation]")
    expect(page.locator("[data-testid=simulation-summary]")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=simulation-csv]")).to_be_visible()
    screenshot(page, "studio-walkthrough-simulation")
    step("run the diff simulator against prod")

    # 6. submit a change request
    page.goto(f"/studio/drafts/{Draft.objects.get(author=author).pk}/")
    page.fill("#cr-title", "Incident statistics for SREs")
    page.fill("#cr-desc", "SREs need merchant statistics during payment incidents.")
    page.click("[data-testid=submit-change]")
    expect(page.locator("h1")).to_contain_text("Incident statistics for SREs")
    expect(page.locator("[data-testid=approval-count]")).to_contain_text("0 / 2")  # Tier-1: two approvers
    assert page.get_by_test_id("approve-change").count() == 0  # the author cannot approve
    cr = ChangeRequest.objects.get(title="Incident statistics for SREs")
    step("submit the change request")

    # 7. two other users review the diff and approve (Tier-1)
    _switch(page, approver)
    page.goto(f"/studio/changes/{cr.pk}/")
    expect(page.locator(".diff")).to_contain_text("finance.incident-stats")
    page.fill("textarea[name=body]", "Looks right; limited to P3 aggregates.")
    page.get_by_role("button", name="Comment").click()
    page.click("[data-testid=approve-change]")
    expect(page.locator("[data-testid=change-status]")).to_have_text("Open")
    step("first approver reviews the diff, comments and approves")
    _switch(page, approver2)
    page.goto(f"/studio/changes/{cr.pk}/")
    page.click("[data-testid=approve-change]")
    expect(page.locator("[data-testid=change-status]")).to_have_text("Approved")
    step("second approver approves")
    page.click("[data-testid=merge-change]")
    expect(page.locator(".msg-success")).to_contain_text("dev now runs")
    step("merge into dev")

    # 8. promote dev → stage
    page.goto("/studio/environments/stage/")
    expect(page.locator("[data-testid=gate-checks]")).to_have_class(re.compile(r"\bok\b"))
    page.click("[data-testid=promote]")
    expect(page.locator(".msg-success")).to_contain_text("stage now runs")
    step("promote to stage")
    assert services.environment("stage", fresh=True).bundle == cr.bundle

    # 9. a decision point in prod runs a hand-edited bundle: the promotion is blocked with the way out
    prod = services.environment("prod", fresh=True).bundle
    sources = dict(prod.sources)
    sources["intel.graph.lac"] = sources["intel.graph.lac"].replace("path_length <= 3", "path_length <= 2", 1)
    live = Bundle.build(policies=sources, schema=prod.schema, catalogs=prod.catalogs)
    services.status_report(actor=world.users["oncall"], point_id="gw-prod-7", environment_name="prod", digest=live.digest,
                           bundle={"policies": sources, "schema": prod.schema, "catalogs": prod.catalogs, "lint": {}})
    page.goto("/studio/environments/prod/")
    expect(page.locator("[data-testid=drift-block]")).to_contain_text("gw-prod-7")
    expect(page.locator("[data-testid=gate-drift\\:prod]")).to_have_class(re.compile(r"\bfail\b"))
    expect(page.locator("[data-testid=promote]")).to_be_disabled()
    screenshot(page, "studio-walkthrough-drift-blocked")
    step("see the promotion to prod blocked by drift")

    # 10. the author accepts the adopt remediation; two approvers approve it (prod changes need two)
    _switch(page, author)
    page.goto("/studio/environments/prod/")
    page.click("[data-testid=remediate-adopt]")
    expect(page.locator("h1")).to_contain_text("Adopt the live bundle of gw-prod-7")
    remediation = ChangeRequest.objects.get(kind="adopt")
    step("accept the remediation (adopt the live change)")
    for reviewer in (approver, approver2):
        _switch(page, reviewer)
        page.goto(f"/studio/changes/{remediation.pk}/")
        page.click("[data-testid=approve-change]")
    expect(page.locator("[data-testid=change-status]")).to_have_text("Approved")
    step("two approvers approve the remediation")
    page.click("[data-testid=merge-change]")
    expect(page.locator(".msg-success")).to_contain_text("prod now runs")
    step("merge the remediation into prod")

    # 11. promote stage → prod
    page.goto("/studio/environments/prod/")
    expect(page.locator("[data-testid=gate-drift\\:prod]")).to_have_class(re.compile(r"\bok\b"))
    page.click("[data-testid=promote]")
    expect(page.locator(".msg-success")).to_contain_text("prod now runs")
    screenshot(page, "studio-walkthrough-promoted")
    step("promote to prod")
    assert services.environment("prod", fresh=True).bundle == cr.bundle
    assert list(Deployment.objects.filter(environment="prod").values_list("kind", flat=True)[:3]) == ["promote", "remediate", "bootstrap"]
    print(f"\nStudio walk-through: {len(steps)} steps")
    for n, s in enumerate(steps, 1):
        print(f"  {n:2}. {s}")
