"""A client transport that calls the real API in-process through Django's test ``Client``.

Same URL routing, middleware, authentication (the partner's bearer token) and views as over HTTP;
used by ``manage.py zktx pilot run`` (without ``--url``) and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.test import Client


class DjangoClientTransport:
    def __init__(self) -> None:
        hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h and h != "*"]
        self.client = Client(HTTP_HOST=hosts[0] if hosts else "localhost")

    def __repr__(self) -> str:
        return "DjangoClientTransport()"

    def request(self, method: str, path: str, *, body: bytes | None, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.lower() != "content-type"}
        resp = self.client.generic(method, path, data=body or b"",
                                   content_type=headers.get("Content-Type", "application/octet-stream"), **extra)
        return resp.status_code, {k.lower(): v for k, v in resp.items()}, resp.content
