import pytest
from playwright.sync_api import expect

from pcq import engine, services
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_and_failed_job_page_with_diff_and_log_index(world, new_page):
    ds = engine.generate_graph("ba", 120, seed=5)
    engine.store_dataset(services.data_dir(), ds)
    manifest, result = engine.execute(ds, job_id="browser-1", kind="pagerank", tenant="acme")
    body = dict(result.body)
    values = dict(body["values"])
    first = next(iter(values))
    values[first] *= 2  # a result the replay will not reproduce
    body["values"] = values
    claimed = engine.Result(body)
    manifest["output"]["digest"] = claimed.digest
    job = services.job_submit(producer=world.users["oncall"], manifest=manifest, result=claimed.body)
    services.replay_run(job_id=job.pk)
    from witness import services as witness

    witness.sequence_until_idle()

    page = new_page(world.users["oncall"])
    page.goto("/pcq/")
    expect(page.locator("[data-testid=jobs-today]")).to_have_text("1")
    expect(page.locator("[data-testid=pcq-jobs]")).to_contain_text("failed")
    screenshot(page, "pcq-dashboard")
    page.locator("[data-testid=pcq-jobs]").get_by_text("browser-1").click()
    expect(page.locator("[data-testid=verdict]")).to_have_text("fail")
    expect(page.locator("text=Largest differences")).to_be_visible()
    expect(page.locator("[data-testid=log-index]")).to_be_visible()
    screenshot(page, "pcq-job-failed")


POINTS = "() => {{ const el = document.querySelector('[data-chart={name}] .js-plotly-plot'); return el && el.data ? el.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : -1; }}"


def test_dashboard_updates_live_when_a_canary_verdict_arrives(world, new_page):
    from tests.pcq.factories import graph, rotation, submit

    rotation([world.users["oncall"]])
    canary = services.canary_config_current()
    services.canary_config_activate(actor="tests", config_id=None)  # no canary task from these submissions (a worker may run)
    ds = graph()
    quiet = submit(world.users["oncall"], ds, job_id="live-quiet", kind="pagerank")
    loud = submit(world.users["oncall"], ds, job_id="live-loud", kind="shortest_paths")
    services.canary_config_activate(actor="tests", config_id=canary.pk)

    page = new_page(world.users["oncall"])
    page.goto("/pcq/")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    page.evaluate("window.__noReload = 1")
    expect(page.locator("#canary-empty")).to_contain_text("No canary verdicts yet")
    expect(page.locator("[data-testid=canary-total]")).to_have_text("0")
    page.wait_for_function(f"() => ({POINTS.format(name='canary')})() === 0")

    v1 = services.canary_run(job_id=quiet.pk)  # a verdict within noise
    row = page.locator(f"#canary-{v1.pk}")
    expect(row).to_contain_text("live-quiet")
    expect(row.locator("[data-testid=level]")).to_have_text("within noise")
    expect(page.locator("[data-testid=canary-total]")).to_have_text("1")
    expect(page.locator("#canary-empty")).to_have_count(0)
    page.wait_for_function(f"() => ({POINTS.format(name='canary')})() === 1")  # the chart was redrawn live
    expect(page.locator("[data-testid=bands-table]")).to_contain_text("pagerank.score")

    # the operator plants a regression from the page; the next verdict pages and arrives live too
    page.select_option("#c-regression", "drop_edges")
    page.fill("#c-reason", "live demo")
    page.click("[data-testid=regression-apply]")
    expect(page.locator("[data-testid=regression-state]")).to_contain_text("Loader drops edges")
    v2 = services.canary_run(job_id=loud.pk)
    assert v2.level == "page"
    row = page.locator(f"#canary-{v2.pk}")
    expect(row.locator("[data-testid=level]")).to_have_text("page")
    expect(row).to_contain_text("drop_edges")
    expect(page.locator("[data-testid=canary-pages]")).to_have_text("1")
    page.wait_for_function(f"() => ({POINTS.format(name='canary')})() === 2")
    # plotly's layers kept their positioning: the page threshold line is drawn inside the plot area
    assert page.evaluate("() => { const c = document.querySelector('#canary-chart'); const s = c.querySelector('.shapelayer path');"
                         " const r = c.getBoundingClientRect(), b = s.getBoundingClientRect(); return b.top >= r.top && b.bottom <= r.bottom; }")
    expect(page.locator("[data-testid=canary-row]").first).to_have_attribute("data-level", "page")  # newest first
    assert page.evaluate("window.__noReload") == 1  # updated in place, never reloaded
    screenshot(page, "pcq-dashboard-canary-live")

    page.click(f"#canary-{v2.pk} a >> nth=0")
    expect(page.locator("[data-testid=canary-fields]")).to_contain_text("shortest_paths.distance")
    screenshot(page, "pcq-canary-verdict")


def test_operator_runs_a_canary_drill_from_the_dashboard_and_sees_the_result(world, new_page, celery_worker):
    from tests.pcq.factories import rotation

    rotation([world.users["oncall"]])
    page = new_page(world.users["oncall"])
    page.goto("/pcq/#drills")
    form = page.locator("[data-testid=drill-form]")
    form.locator("input[name=benign]").fill("8")
    form.locator("input[name=regressions]").fill("3")
    form.locator("input[name=seed]").fill("5")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/pcq/drills/*/")
    # the drill runs on the replay queue; the page polls its progress and shows the result when done
    expect(page.locator("[data-testid=drill-summary]")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-testid=drill-far]")).to_have_text("0.0%")
    expect(page.locator("[data-testid=drill-verdict]")).to_have_text("targets met")
    expect(page.locator("[data-testid=drill-scenarios] tbody tr")).to_have_count(11)
    screenshot(page, "pcq-drill")
    page.goto("/pcq/")
    expect(page.locator("[data-testid=drill-summary]")).to_be_visible()
