"""The committed LAC editor bundle (studio/static/studio/vendor/lac-editor.js), in Debian's chromium.

A small http.server in a thread serves a page with a <textarea>, the built asset read from disk, and
fake lint/format endpoints with the Studio's contract; no Django, no node.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.browser

ASSET = REPO_ROOT / "studio" / "static" / "studio" / "vendor" / "lac-editor.js"
APP_CSS = REPO_ROOT / "static" / "css" / "app.css"
CSRF = "csrf-test-token-123"

SCHEMA = {
    "entities": {
        "subject": {
            "clearance": {"type": "clearance", "values": ["public", "internal", "confidential", "secret", "top_secret"]},
            "roles": {"type": "set<role>", "values": ["analyst", "investigator", "auditor"]},
            "mfa": {"type": "bool"},
            "geo": {"type": "record", "attributes": {"country": {"type": "string"}, "region": {"type": "region"}}},
            "teams": {"type": "set<string>", "optional": True},
        },
        "resource": {
            "data_class": {"type": "data_class", "values": ["P0", "P1", "P2", "P3"]},
            "domain": {"type": "domain", "values": ["hr.records", "intel.graph"]},
            "owner_org": {"type": "string", "optional": True},
        },
        "action": {"name": {"type": "action", "values": ["query", "view", "export"]}},
        "context": {"time": {"type": "datetime"}, "purpose": {"type": "purpose", "values": ["audit", "hr_case"]}},
        "authority": {"warrant": {"type": "string", "optional": True}},
    },
    "keywords": ["policy", "tier", "domain", "permit", "forbid", "require_approval", "when", "unless", "and", "or"],
    "functions": [{"name": "hour", "detail": "hour(t) — hour of day 0..23 (UTC) of a datetime"}],
    "domains": {"hr.records": {"tier": 2, "description": "Employee records"}},
    "actions": {"query": "run an analytics query", "view": "open a saved view", "export": "export a result"},
}

SOURCE = """// HR records
policy "hr.case-access" tier 2 domain hr.records {
  permit query, view
  when subject.roles contains "auditor" and context.purpose == "hr_case"
  obligations mask(email, last4), bucket(salary, 10000)
  reason "lac.permit.hr_case"
}
"""

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>LAC editor</title>
<link rel="stylesheet" href="/app.css">
<style>body{padding:24px;max-width:980px}</style></head>
<body>
<div class="card">
  <h2>Policy source</h2>
  <form id="f" method="post" action="/save">
    <label for="src">Source</label>
    <textarea id="src" name="source" rows="14">__SOURCE__</textarea>
  </form>
</div>
<script src="/lac-editor.js"></script>
<script>
  window.__events = {input: 0, preview: null, diagnostics: null};
  const ta = document.getElementById("src");
  ta.addEventListener("input", () => window.__events.input++);
  document.getElementById("f").addEventListener("lac:preview", (e) => { window.__events.preview = e.detail.source; });
  window.editor = LacEditor.create(ta, {
    lintUrl: "/lint", formatUrl: "/format", debounceMs: 150, schema: __SCHEMA__,
    onDiagnostics: (list) => { window.__events.diagnostics = list; },
  });
</script>
</body></html>
"""


def _diagnostics_for(source: str) -> list[dict]:
    out = []
    for i, text in enumerate(source.split("\n"), start=1):
        for m in re.finditer(r"resource\.dataclass\b", text):
            out.append({
                "code": "LAC-T001", "severity": "error", "message": "unknown attribute `resource.dataclass`",
                "line": i, "column": m.start() + 1, "end_line": i, "end_column": m.end() + 1,
                "hint": "did you mean `resource.data_class`?", "file": None,
            })
    return out


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/":
            page = PAGE.replace("__SOURCE__", SOURCE).replace("__SCHEMA__", json.dumps(SCHEMA))
            self._send(200, page.encode(), "text/html; charset=utf-8")
        elif self.path == "/lac-editor.js":
            self._send(200, ASSET.read_bytes(), "text/javascript; charset=utf-8")
        elif self.path == "/app.css":
            self._send(200, APP_CSS.read_bytes() if APP_CSS.exists() else b"", "text/css")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        source = form.get("source", [""])[0]
        self.server.requests.append({"path": self.path, "csrf": self.headers.get("X-CSRFToken"), "source": source})
        if self.path == "/lint":
            body = {"diagnostics": _diagnostics_for(source)}
        elif self.path == "/format":
            body = {"source": "\n".join(line.rstrip() for line in source.split("\n"))}
        else:
            self._send(404, b"{}", "application/json")
            return
        self._send(200, json.dumps(body).encode(), "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[dict]


@pytest.fixture(scope="module")
def site():
    assert ASSET.exists(), f"{ASSET} is missing: cd frontend/lac-editor && npm ci && npm run build"
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser, site):
    site.requests.clear()
    url = f"http://127.0.0.1:{site.server_address[1]}"
    ctx = browser.new_context(base_url=url, viewport={"width": 1100, "height": 720})
    ctx.set_default_timeout(10000)
    ctx.add_cookies([{"name": "csrftoken", "value": CSRF, "url": url}])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/")
    expect(page.locator(".cm-editor")).to_be_visible()
    yield page
    ctx.close()
    assert not errors, errors


def _textarea_value(page) -> str:
    return page.eval_on_selector("#src", "e => e.value")


def _go_to_line_end(page, line: int) -> None:
    page.evaluate(f"editor.goTo({line}, 1000)")


def test_renders_with_highlighting_and_replaces_the_textarea(page):
    assert page.locator("#src").is_hidden()
    content = page.locator(".cm-editor .cm-content")
    expect(content.locator(".cm-lac-keyword", has_text="policy")).to_have_count(1)
    expect(content.locator(".cm-lac-permit")).to_have_text("permit")
    expect(content.locator(".cm-lac-entity").first).to_have_text("subject")
    expect(content.locator(".cm-lac-comment")).to_have_text("// HR records")
    expect(content.locator(".cm-lac-obligation").first).to_have_text("mask")
    expect(content.locator(".cm-lac-domain").first).to_have_text("hr")
    expect(page.locator(".cm-lineNumbers .cm-gutterElement", has_text="7")).to_have_count(1)
    assert page.evaluate("editor.getValue()") == SOURCE


def test_typing_updates_the_textarea_and_fires_input(page):
    _go_to_line_end(page, 3)
    page.keyboard.type(", export")
    assert "permit query, view, export\n" in _textarea_value(page)
    page.wait_for_function("window.__events.input > 0")
    page.evaluate("editor.insertAtCursor(' // checked')")
    assert "export // checked\n" in _textarea_value(page)
    page.evaluate("editor.setValue('def x = true;')")
    assert _textarea_value(page) == "def x = true;"


def test_server_diagnostics_show_inline_with_hint(page, site):
    _go_to_line_end(page, 4)
    page.keyboard.type(' and resource.dataclass == "P1"')
    rng = page.locator(".cm-lintRange-error")
    expect(rng).to_have_count(1)
    expect(rng).to_have_text("resource.dataclass")
    expect(page.locator(".cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)
    page.wait_for_function("window.__events.diagnostics && window.__events.diagnostics.length === 1")
    assert page.evaluate("window.__events.diagnostics[0].code") == "LAC-T001"
    lints = [r for r in site.requests if r["path"] == "/lint"]
    assert lints and all(r["csrf"] == CSRF for r in lints)
    assert "resource.dataclass" in lints[-1]["source"]

    rng.hover()
    tip = page.locator(".cm-tooltip-lint")
    expect(tip).to_contain_text("unknown attribute")
    expect(tip).to_contain_text("did you mean `resource.data_class`?")
    expect(tip).to_contain_text("LAC-T001")
    # the hint's quick fix replaces the range and the next lint clears the marker
    tip.locator("button.cm-diagnosticAction").click()
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    assert 'resource.data_class == "P1"' in _textarea_value(page)


def test_autocomplete_offers_schema_attributes_and_enum_values(page, site):
    _go_to_line_end(page, 4)
    page.keyboard.type(" and subject.")
    options = page.locator(".cm-tooltip-autocomplete li")
    expect(options.filter(has_text="clearance")).to_have_count(1)
    expect(options.filter(has_text="clearance").locator(".cm-completionDetail")).to_have_text("clearance")
    expect(options.filter(has_text="roles")).to_have_count(1)
    page.keyboard.type("clea")
    page.keyboard.press("Enter")
    page.keyboard.type(" >= ")
    expect(options.filter(has_text='"top_secret"')).to_have_count(1)
    # a typed prefix narrows the values
    page.keyboard.type('"s')
    expect(options.filter(has_text='"secret"')).to_have_count(1)
    expect(options.filter(has_text='"public"')).to_have_count(0)
    page.keyboard.press("Enter")
    assert 'subject.clearance >= "secret"' in _textarea_value(page)
    assert 'subject.clearance >= "secret""' not in _textarea_value(page)

    # for the record: diagnostics and the completion list together
    page.keyboard.type(' and resource.dataclass == "P1"')
    expect(page.locator(".cm-lintRange-error")).to_have_count(1)
    page.keyboard.type(" and resource.data_class <= ")
    expect(options.filter(has_text='"P0"')).to_have_count(1)
    expect(options).to_have_count(4)
    screenshot(page, "lac-editor")


def test_autocomplete_follows_the_clause(page):
    page.evaluate("editor.setValue('')")
    page.evaluate("editor.focus()")
    labels = page.locator(".cm-tooltip-autocomplete li .cm-completionLabel")
    steps = [
        ('policy "x" tier 2 domain ', ["*", "hr.records"]),
        ("hr.records {\npermit ", ["any", "export", "query", "view"]),
        ("query\nwhen authority has ", ["warrant"]),
        ("warrant\nobligations ", ["bucket", "drop", "mask", "top_k"]),
    ]
    for text, expected in steps:
        page.keyboard.type(text)
        expect(labels).to_have_text(expected)
        page.keyboard.press("Escape")
    assert _textarea_value(page).startswith('policy "x" tier 2 domain hr.records {\n  permit query\n')


def test_format_and_preview_shortcuts(page, site):
    _go_to_line_end(page, 3)
    page.keyboard.type("    ")
    assert "permit query, view    \n" in _textarea_value(page)
    page.keyboard.press("Control+s")
    page.wait_for_function("!document.getElementById('src').value.includes('view    ')")
    assert _textarea_value(page) == SOURCE
    assert any(r["path"] == "/format" and r["csrf"] == CSRF for r in site.requests)
    page.keyboard.type("X")  # the cursor stayed on line 3
    assert "permit query, viewX\n" in _textarea_value(page)

    page.keyboard.press("Control+Enter")
    page.wait_for_function("window.__events.preview !== null")
    assert "viewX" in page.evaluate("window.__events.preview")
    assert page.evaluate("editor.getValue()") == _textarea_value(page)  # Mod-Enter inserted nothing


def test_destroy_restores_the_textarea(page):
    _go_to_line_end(page, 1)
    page.keyboard.type("!")
    page.evaluate("editor.destroy()")
    expect(page.locator(".cm-editor")).to_have_count(0)
    expect(page.locator("#src")).to_be_visible()
    assert _textarea_value(page).startswith("// HR records!\n")
