"""``manage.py demo --check [--url URL]``: smoke and golden checks against a running demo.

Runs against the server at ``--url`` (default ``TF_BASE_URL``) over HTTP, as its users would: every
workspace page renders for its role (logins from ``var/demo-logins.json``), one decision through the
decide API, one job submitted and replayed by the server's worker, one ≤k query through the partner
client, one audit-bundle verification offline, and witness-log consistency checked by the offline
auditor. Prints a pass/fail table; exits 1 if any check fails.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trustfabric.demo import CheckContext, Http, app_checks

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
        ctx = CheckContext(url=url, logins=logins, token=self._token(), timeout=timeout)
        for name, fn in app_checks(ctx):
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
