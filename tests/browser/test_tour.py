"""The README's guided tour, one role at a time, over the demo data (``<app>/demo.py``): each stop must
show what the tour says it shows. The screenshots (test-artifacts/screenshots/tour-*.png) are the
README's pictures (copied to docs/screenshots/)."""

import re

import pytest
from playwright.sync_api import expect

from accounts import services as accounts
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from trustfabric.management.commands.seed_demo import seed_pillars

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(world):
    for slug, name in (("northwind", "Northwind Bank"), ("contoso", "Contoso Telecom")):  # the pilots' partners
        org = accounts.organization_create(actor="tests", name=name, kind="partner", slug=slug)
        accounts.user_create(actor="tests", organization=org, username=slug, password=PASSWORD, roles=["partner_user"])
    users = {"author": world.users["policy_author"], "approver": world.users["policy_approver"],
             "oncall": world.users["oncall"], "compliance": world.users["compliance"], "admin": world.users["admin"],
             "northwind": world.users["partner_user"], "contoso": world.partner_b_user,
             "approver2": accounts.user_create(actor="tests", organization=world.operator, username="u_approver2",
                                               password=PASSWORD, roles=["policy_approver"])}
    done = seed_pillars(users)
    assert any(line.startswith("studio:") for line in done) and any(line.startswith("zktx:") for line in done)
    return world


def test_guided_tour(demo, new_page):
    """One seeding, every role in turn (seeding the demo takes a while)."""
    tour_policy_author(demo, new_page)
    tour_oncall(demo, new_page)
    tour_compliance(demo, new_page)
    tour_partner(demo, new_page)
    tour_zktx(demo, new_page)


def tour_policy_author(demo, new_page):
    page = new_page(demo.users["policy_author"])
    page.goto("/studio/")
    expect(page.locator("[data-testid=env-stage]")).to_contain_text("1.1.0")
    screenshot(page, "tour-author-studio")
    page.goto("/studio/coverage/")
    expect(page.locator("h1")).to_have_text("Coverage map")
    screenshot(page, "tour-author-coverage")
    page.goto("/studio/drift/")
    expect(page.locator("[data-testid=drift-block]")).to_contain_text("gw-prod-eu-1")
    screenshot(page, "tour-author-drift")


def tour_oncall(demo, new_page):
    page = new_page(demo.users["oncall"])
    page.goto("/oncall/")
    expect(page.get_by_text("Replay queue lag above target for globex").first).to_be_visible()
    screenshot(page, "tour-oncall-dashboard")
    page.goto("/pcq/")
    expect(page.get_by_text("demo-00-").first).to_be_visible()
    screenshot(page, "tour-oncall-pcq")


def tour_compliance(demo, new_page):
    page = new_page(demo.users["compliance"])
    page.goto("/compliance/")
    expect(page.locator("h1")).to_be_visible()
    screenshot(page, "tour-compliance-home")
    page.goto("/compliance/packets/")
    expect(page.get_by_text("SOC 2 readiness, last 30 days").first).to_be_visible()
    screenshot(page, "tour-compliance-packets")


def tour_partner(demo, new_page):
    page = new_page(demo.users["partner_user"])
    page.goto("/portal/")
    expect(page.locator("h1")).to_be_visible()
    screenshot(page, "tour-partner-portal")


def tour_zktx(demo, new_page):
    from django.contrib.auth import get_user_model

    page = new_page(demo.users["admin"])
    page.goto("/zktx/")
    expect(page.locator("[data-testid=pilots]")).to_contain_text("Northwind Bank")
    screenshot(page, "tour-oncall-zktx-console")
    page.get_by_role("link", name=re.compile(r"^A-")).first.click()
    expect(page.locator("[data-testid=checklist]")).to_contain_text("partners accepted the bundle")
    expect(page.locator("[data-testid=bundle-ready]")).to_be_visible()
    screenshot(page, "tour-oncall-zktx-run")
    partner = new_page(get_user_model().objects.get(username="northwind"))
    partner.goto("/portal/")
    partner.click("[data-testid=open-zk]")
    expect(partner.locator("[data-testid=portal-queries]")).to_contain_text("within")
    assert "count" not in partner.locator("[data-testid=portal-queries]").inner_text().lower()  # partners never see counts
    screenshot(partner, "tour-partner-zktx")
