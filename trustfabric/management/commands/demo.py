"""``manage.py demo --check [--url URL]``: smoke and golden checks against a running demo.

Runs against the server at ``--url`` (default ``TF_BASE_URL``) over HTTP, as its users would: every
workspace page renders for its role (logins from ``var/demo-logins.json``), one decision through the
decide API, one job submitted and replayed by the server's worker, one ≤k query through the partner
client, one audit-bundle verification offline, and witness-log consistency checked by the offline
auditor. Prints a pass/fail table; exits 1 if any check fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# role → demo login and the pages that role must be able to open
ROLE_PAGES = {
    "admin": ("admin", ["/studio/", "/pcq/", "/oncall/", "/zktx/", "/compliance/", "/witness/", "/accounts/people/"]),
    "policy author": ("author", ["/studio/", "/studio/changes/", "/studio/drift/", "/studio/coverage/", "/studio/decisions/"]),
    "policy approver": ("approver", ["/studio/", "/studio/approvals/", "/studio/environments/prod/"]),
    "on-call": ("oncall", ["/oncall/", "/pcq/", "/zktx/", "/oncall/slos/"]),
    "compliance": ("compliance", ["/compliance/", "/compliance/gaps/", "/compliance/packets/", "/accounts/audit/"]),
    "auditor": ("auditor", ["/compliance/", "/compliance/packets/", "/witness/"]),
    "partner": ("northwind", ["/portal/", "/zktx/portal/"]),
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


class Http:
    """A tiny browser: cookies, CSRF, JSON; no third-party client."""

    def __init__(self, base: str, token: str | None = None):
        self.base = base.rstrip("/")
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = token

    def request(self, method: str, path: str, *, data: dict | None = None, form: dict | None = None,
                headers: dict | None = None, timeout: float = 60) -> tuple[int, bytes, dict]:
        h = dict(headers or {})
        body = None
        if data is not None:
            body, h["Content-Type"] = json.dumps(data).encode(), "application/json"
        elif form is not None:
            body, h["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        csrf = next((c.value for c in self.jar if c.name == "csrftoken"), None)
        if csrf and method != "GET":
            h["X-CSRFToken"] = csrf
            h["Referer"] = self.base + "/"
        req = urllib.request.Request(self.base + path, data=body, headers=h, method=method)  # noqa: S310 - the demo's own URL
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read(), dict(err.headers)

    def login(self, username: str, password: str) -> bool:
        self.request("GET", "/accounts/login/")
        status, _, _ = self.request("POST", "/accounts/login/", form={"username": username, "password": password})
        status, _, _ = self.request("GET", "/studio/" if username != "northwind" else "/portal/")
        return status in (200, 403)


class Command(BaseCommand):
    help = "Smoke and golden checks against a running demo (manage.py demo --check)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="run the checks (the only action)")
        parser.add_argument("--url", default=settings.TF_BASE_URL, help="the running demo (default: TF_BASE_URL)")
        parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the worker's replay")

    def handle(self, *args, check: bool, url: str, timeout: float, **opts):
        if not check:
            raise CommandError("Say --check (and --url if the demo is not at TF_BASE_URL).")
        logins_path = settings.VAR_DIR / "demo-logins.json"
        if not logins_path.exists():
            raise CommandError(f"No demo logins at {logins_path}: run `make demo` (or manage.py seed_demo) first.")
        logins = json.loads(logins_path.read_text())
        checks: list[Check] = []

        def run(name: str, fn: Callable[[], str]) -> None:
            t0 = time.perf_counter()
            try:
                detail = fn()
                checks.append(Check(name, True, f"{detail} ({time.perf_counter() - t0:.1f} s)"))
            except Exception as exc:  # a failing check is reported, the others still run
                checks.append(Check(name, False, f"{type(exc).__name__}: {exc}"[:300]))

        status, _, _ = Http(url).request("GET", "/readyz")
        checks.append(Check("server ready", status == 200, f"GET /readyz → {status}"))
        for role, (user, pages) in ROLE_PAGES.items():
            run(f"pages for {role}", lambda user=user, pages=pages: self._pages(url, user, logins[user], pages))
        token = self._token()
        run("decision (decide API)", lambda: self._decision(url, token))
        run("replay (job → worker → verdict)", lambda: self._replay(url, token, timeout))
        run("witness consistency (offline auditor)", lambda: self._witness(url))
        for name, fn in self._extra_checks(url, logins):
            run(name, fn)

        width = max(len(c.name) for c in checks)
        self.stdout.write(f"\n{'check':<{width}}  result  detail")
        for c in checks:
            self.stdout.write(f"{c.name:<{width}}  {'PASS' if c.ok else 'FAIL':<6}  {c.detail}")
        failed = [c for c in checks if not c.ok]
        self.stdout.write(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed.")
        if failed:
            sys.exit(1)

    # --- the checks ------------------------------------------------------------------------------------------

    def _pages(self, url: str, user: str, password: str, pages: list[str]) -> str:
        http = Http(url)
        if not http.login(user, password):
            raise RuntimeError(f"{user} cannot log in")
        bad = []
        for p in pages:
            status, body, _ = http.request("GET", p)
            if status != 200 or b"</html>" not in body:
                bad.append(f"{p} → {status}")
        if bad:
            raise RuntimeError(", ".join(bad))
        return f"{len(pages)} page{'s render' if len(pages) != 1 else ' renders'} for {user}"

    def _token(self) -> str:
        from django.contrib.auth import get_user_model

        from accounts import services as accounts

        admin = get_user_model().objects.get(username="admin")
        _, secret = accounts.api_token_create(actor=admin, user=admin, name=f"demo-check-{int(time.time())}",
                                              expires_in=timedelta(hours=1))
        return secret

    def _decision(self, url: str, token: str) -> str:
        from studio.lac.samples import WARRANT, sample_request

        req = sample_request(authority={**WARRANT, "expiry": "2099-01-01T00:00:00Z"},
                             graph={"edges": [["s1", "s2"], ["s2", "s3"]], "seeds": ["s1"]},
                             context={"purpose": "investigation", "reason_for_access": "demo check"})
        status, body, _ = Http(url, token).request("POST", "/api/lac/decide", data={
            "environment": "prod", "request": req, "locale": "fr", "rows": [{"msisdn": "+491701234567", "name": "x"}]})
        out = json.loads(body)
        if status != 200:
            raise RuntimeError(f"decide → {status}: {out}")
        golden = (out["effect"], out["rows"][0]["msisdn"], out["reason"]["rendered_locale"])
        if golden != ("permit", "*********4567", "fr"):
            raise RuntimeError(f"expected permit, masked msisdn, French reason; got {golden}")
        return f"permit with mask(msisdn, last4), reason in fr, logged as {out['decision_id'][:8]}"

    def _replay(self, url: str, token: str, timeout: float) -> str:
        from pcq import engine

        http = Http(url, token)
        ds = engine.generate_graph("gnm", 60, seed=int(time.time()) % 10_000, weighted=True)
        edges = [[ds.nodes[i], ds.nodes[j], w] for (i, j), w in zip(ds.edges, ds.weights, strict=True)]
        status, body, _ = http.request("POST", "/api/pcq/datasets", data={"edges": edges, "weighted": True, "nodes": list(ds.nodes)})
        if status not in (200, 201):
            raise RuntimeError(f"dataset upload → {status}: {body[:200]!r}")
        job_id = f"demo-check-{int(time.time())}"
        manifest, result = engine.execute(ds, job_id=job_id, kind="pagerank", tenant=f"check-{int(time.time())}", tier=1,
                                          parameters=engine.normalize_parameters("pagerank", {"alpha": 0.85, "weighted": True}))
        status, body, _ = http.request("POST", "/api/pcq/jobs", data={"manifest": manifest, "result": result.body})
        job = json.loads(body)
        if status not in (200, 201):
            raise RuntimeError(f"job submit → {status}: {job}")
        if not job.get("sampled"):
            raise RuntimeError(f"the first job of a new tenant must be sampled: {job.get('sample_reason')}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body, _ = http.request("GET", f"/api/pcq/jobs/{job['id']}")
            job = json.loads(body)
            if job.get("status") in ("verified", "failed", "error"):
                break
            time.sleep(0.5)
        if job.get("status") != "verified":
            raise RuntimeError(f"replay did not verify within {timeout:.0f} s (status {job.get('status')})")
        return f"job {job_id} sampled, replayed by the worker, verified"

    def _witness(self, url: str) -> str:
        status, key, _ = Http(url).request("GET", "/witness/key")
        if status != 200:
            raise RuntimeError(f"GET /witness/key → {status}")
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state.json"
            for _ in range(2):  # the second run checks consistency with the first checkpoint
                proc = subprocess.run([sys.executable, "-m", "witness.audit", "--log", url.rstrip("/") + "/witness/",
                                       "--key", key.decode().strip(), "--state", str(state), "check"],
                                      capture_output=True, text=True, timeout=120)
                if proc.returncode != 0:
                    raise RuntimeError(f"witness.audit exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-300:]}")
            proc = subprocess.run([sys.executable, "-m", "witness.audit", "--log", url.rstrip("/") + "/witness/",
                                   "--key", key.decode().strip(), "mirror", "--dir", str(Path(tmp) / "mirror")],
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"mirror exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-300:]}")
        size = re.search(r"(\d+) (?:entries|leaves)", proc.stdout)
        return f"checkpoint signed and consistent; root recomputed from every tile{f' ({size.group(0)})' if size else ''}"

    def _extra_checks(self, url: str, logins: dict) -> list[tuple[str, Callable[[], str]]]:
        """Checks offered by apps that have them (``<app>/demo_check.py``: ``checks(url, logins)``)."""
        import importlib
        import importlib.util

        out: list[tuple[str, Callable[[], str]]] = []
        for app in ("zktx",):
            if importlib.util.find_spec(f"{app}.demo_check") is not None:
                out += importlib.import_module(f"{app}.demo_check").checks(url, logins)
        return out

