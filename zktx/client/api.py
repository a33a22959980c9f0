"""The exchange's HTTP API seen from a partner (or an auditor): transport and calls. No Django.

A :class:`Transport` sends one request and returns ``(status, headers, body)``;
:class:`UrllibTransport` does it over HTTP(S) with the standard library. The pilot command plugs
in a transport that calls the same views in-process (``zktx.inprocess``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

PREFIX = "/api/zktx/"


class Transport(Protocol):
    def request(self, method: str, path: str, *, body: bytes | None, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]: ...


class UrllibTransport:
    """HTTP(S) with ``urllib`` (no dependency); ``base_url`` like ``https://exchange.example``."""

    def __init__(self, base_url: str, *, timeout: float = 120.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the exchange URL must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, *, body: bytes | None, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=dict(headers))  # noqa: S310 (http/https checked)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


class ApiError(Exception):
    """A 4xx/5xx answer: ``status``, the stable ``code``, ``message``, ``details``, ``retry_after`` (429)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, retry_after: int | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details, self.retry_after = status, code, message, details, retry_after


class ExchangeApi:
    """One method per API call; JSON in, JSON out; errors raise :class:`ApiError`."""

    def __init__(self, transport: Transport, token: str) -> None:
        if not token:
            raise ValueError("an API token is required (ZKTX_TOKEN or --token-file)")
        self.transport = transport
        self._token = token

    def __repr__(self) -> str:
        return f"ExchangeApi({self.transport!r}, token=<hidden>)"

    def call(self, method: str, path: str, body: Any = None, *, params: Mapping[str, Any] | None = None,
             raw: bool = False) -> Any:
        url = PREFIX + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        status, resp_headers, payload = self.transport.request(method, url, body=data, headers=headers)
        if status >= 400:
            code, message, details = "http_error", payload[:200].decode("utf-8", "replace"), None
            try:
                err = json.loads(payload)["error"]
                code, message, details = err.get("code", code), err.get("message", message), err.get("details")
            except (ValueError, KeyError, TypeError):
                pass
            retry = resp_headers.get("retry-after")
            raise ApiError(status, code, message, details, int(retry) if retry and retry.isdigit() else None)
        if raw:
            return payload
        return json.loads(payload) if payload else None

    # --- exchange and keys
    def exchange(self) -> dict:
        return self.call("GET", "exchange")

    def keys(self) -> list:
        return self.call("GET", "keys")

    def register_key(self, **body: str) -> dict:
        return self.call("POST", "keys", body)

    # --- pilots, runs, epochs
    def pilots(self) -> list:
        return self.call("GET", "pilots")

    def pilot(self, pilot_id: str) -> dict:
        return self.call("GET", f"pilots/{pilot_id}")

    def epochs(self, pilot_id: str) -> list:
        return self.call("GET", f"pilots/{pilot_id}/epochs")

    def start_epoch(self, pilot_id: str, run: str | None = None) -> dict:
        return self.call("POST", f"pilots/{pilot_id}/epochs", {"run": run})

    def runs(self) -> list:
        return self.call("GET", "runs")

    def run(self, run_id: str) -> dict:
        return self.call("GET", f"runs/{run_id}")

    def start_run(self, name: str, pilots: list[str], config: dict | None = None) -> dict:
        return self.call("POST", "runs", {"name": name, "pilots": pilots, "config": config or {}})

    def export_bundle(self, run_id: str) -> dict:
        return self.call("POST", f"runs/{run_id}/bundles", {})

    def epoch(self, epoch_id: str) -> dict:
        return self.call("GET", f"epochs/{epoch_id}")

    def join(self, epoch_id: str, session_key: str, pepper_id: str) -> dict:
        return self.call("POST", f"epochs/{epoch_id}/join", {"session_key": session_key, "pepper_id": pepper_id})

    def sign(self, epoch_id: str, signature: str) -> dict:
        return self.call("POST", f"epochs/{epoch_id}/sign", {"signature": signature})

    def holder_set(self, epoch_id: str) -> dict:
        return self.call("GET", f"epochs/{epoch_id}/holder-set")

    def upload_holder_set(self, epoch_id: str, message: dict) -> dict:
        return self.call("POST", f"epochs/{epoch_id}/holder-set", message)

    def submit_epoch_evaluation(self, epoch_id: str, message: dict) -> dict:
        return self.call("POST", f"epochs/{epoch_id}/evaluation", message)

    def epoch_transcript(self, epoch_id: str) -> dict:
        return self.call("GET", f"epochs/{epoch_id}/transcript")

    def pending(self, limit: int = 50) -> list:
        return self.call("GET", "evaluations/pending", params={"limit": limit})

    # --- queries
    def queries(self, **filters: str) -> list:
        return self.call("GET", "queries", params=filters)

    def submit_query(self, epoch_id: str, request: dict, rerun_of: str | None = None) -> dict:
        return self.call("POST", "queries", {"epoch": epoch_id, "request": request, "rerun_of": rerun_of})

    def query(self, query_pk: str) -> dict:
        return self.call("GET", f"queries/{query_pk}")

    def submit_query_evaluation(self, query_pk: str, message: dict) -> dict:
        return self.call("POST", f"queries/{query_pk}/evaluation", message)

    def verdict(self, query_pk: str) -> dict:
        return self.call("GET", f"queries/{query_pk}/verdict")

    def transcript(self, query_pk: str) -> dict:
        return self.call("GET", f"queries/{query_pk}/transcript")

    def quotas(self) -> list:
        return self.call("GET", "quotas")

    # --- appeals
    def appeals(self) -> list:
        return self.call("GET", "appeals")

    def appeal(self, appeal_id: str) -> dict:
        return self.call("GET", f"appeals/{appeal_id}")

    def file_appeal(self, query_pk: str, reason: str) -> dict:
        return self.call("POST", "appeals", {"query": query_pk, "reason": reason})

    def consent(self, appeal_id: str) -> dict:
        return self.call("POST", f"appeals/{appeal_id}/consent", {})

    def reverify(self, appeal_id: str) -> dict:
        return self.call("POST", f"appeals/{appeal_id}/reverify", {})

    def rerun(self, appeal_id: str) -> dict:
        return self.call("POST", f"appeals/{appeal_id}/rerun", {})

    def resolve(self, appeal_id: str, resolution: str, reason: str) -> dict:
        return self.call("POST", f"appeals/{appeal_id}/resolve", {"resolution": resolution, "reason": reason})

    # --- bundles
    def bundles(self) -> list:
        return self.call("GET", "bundles")

    def bundle(self, bundle_id: str) -> dict:
        return self.call("GET", f"bundles/{bundle_id}")

    def bundle_core(self, bundle_id: str) -> bytes:
        return self.call("GET", f"bundles/{bundle_id}/core", raw=True)

    def accept_bundle(self, bundle_id: str, signature: str) -> dict:
        return self.call("POST", f"bundles/{bundle_id}/acceptance", {"signature": signature})

    def download_bundle(self, bundle_id: str) -> bytes:
        return self.call("GET", f"bundles/{bundle_id}/download", raw=True)
