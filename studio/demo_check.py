"""The Policy Studio's part of ``manage.py demo --check``: one decision through the decide API, with
its golden answer (permit, msisdn masked to the last four digits, the reason in French)."""

from __future__ import annotations

import json

from trustfabric.demo import CheckContext, Http


def checks(ctx: CheckContext):
    return [("decision (decide API)", lambda: _decision(ctx.url, ctx.token))]


def _decision(url: str, token: str) -> str:
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
