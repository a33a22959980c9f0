"""The demo's shared pieces: a tiny HTTP client for ``manage.py demo --check`` and the discovery of
the checks each app offers in ``<app>/demo_check.py`` (``checks(ctx) -> [(name, callable)]``), so the
command depends on no pillar."""

from __future__ import annotations

import importlib
import importlib.util
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar

# the apps that may offer demo data (``<app>/demo.py``) and demo checks (``<app>/demo_check.py``), in order;
# compliance seeds last so that it collects evidence from the others
DEMO_APPS = ("oncall", "witness", "studio", "pcq", "zktx", "compliance")


@dataclass
class CheckContext:
    url: str
    logins: dict
    token: str  # an operator admin's API token, valid for an hour
    timeout: float


def app_checks(ctx: CheckContext) -> list[tuple[str, Callable[[], str]]]:
    out: list[tuple[str, Callable[[], str]]] = []
    for app in DEMO_APPS:
        if importlib.util.find_spec(f"{app}.demo_check") is not None:
            out += importlib.import_module(f"{app}.demo_check").checks(ctx)
    return out


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
