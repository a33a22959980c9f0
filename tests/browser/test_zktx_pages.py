"""The pilot console and the partner portal in Debian's chromium, over a real pilot run (pilot A,
both partners' clients through the API): a partner files an appeal on a verdict in the portal, the
other partner organization cannot open it (404), and an operator re-verifies it in the console."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts import services as accounts
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from zktx.models import Appeal, Query
from zktx.pilot import run_pilot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pilot(world, tmp_path):
    orgs = {}
    for slug, name in (("northwind", "Northwind Bank"), ("contoso", "Contoso Telecom"), ("fabrikam", "Fabrikam")):
        orgs[slug] = accounts.organization_create(actor="tests", name=name, kind="partner", slug=slug)
        accounts.user_create(actor="tests", organization=orgs[slug], username=slug, password=PASSWORD, roles=["partner_user"])
    rep = run_pilot("A", state_root=tmp_path, out=lambda *_a, **_k: None, bundle=False, holder_size=150, queries=3)
    assert rep.total == 3 and rep.correct == 3
    return orgs


def test_partner_appeals_in_the_portal_and_the_operator_reverifies(world, pilot, new_page):
    users = get_user_model().objects
    query = Query.objects.filter(tenant=pilot["contoso"]).exclude(verdict="").first()
    page = new_page(users.get(username="contoso"))
    page.goto("/zktx/portal/")
    expect(page.locator("[data-testid=portal-pilots]")).to_contain_text("querier")
    page.goto(f"/zktx/portal/queries/{query.pk}/")
    expect(page.locator("[data-testid=verdict]")).to_have_text(query.verdict)
    page.fill("#reason", "Our own count suggests fewer matches.")
    page.click("[data-testid=file-appeal]")
    expect(page.locator(".msg-success")).to_contain_text("Appeal filed")
    screenshot(page, "zktx-portal-appeal")
    appeal = Appeal.objects.get(query=query)
    assert appeal.organization == pilot["contoso"] and appeal.reverify_ok is not None  # filing re-verifies at once

    outsider = new_page(users.get(username="fabrikam"))
    response = outsider.goto(f"/zktx/portal/queries/{query.pk}/")
    assert response.status == 404  # another organization's query does not exist for them

    console = new_page(world.users["admin"])
    console.goto(f"/zktx/appeals/{appeal.pk}/")
    expect(console.locator("h1")).to_contain_text("Contoso Telecom")
    console.get_by_role("button", name="Re-verify the transcript").click()
    expect(console.locator(".msg-success")).to_contain_text("Transcript re-verified: valid")
    console.select_option("#res", "upheld")
    console.fill("#why", "The transcript verifies; the count is proven member by member.")
    console.get_by_role("button", name="Resolve").click()
    expect(console.locator(".badge-ok")).to_contain_text("upheld")
    appeal.refresh_from_db()
    assert appeal.status == "resolved" and appeal.resolution == "upheld"
