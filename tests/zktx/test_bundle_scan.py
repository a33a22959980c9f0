"""zktx.bundle.scan: raw selectors are found in every encoding we claim, clean content passes.

Also: the builder refuses to draft a bundle holding a raw selector, and findings never echo the
selector itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from urllib.parse import quote

import pytest

from zktx.bundle import RawSelectorError, draft_bundle
from zktx.bundle.errors import BundleError
from zktx.bundle.format import PartnerKey
from zktx.bundle.scan import Selector, SelectorScanner, detect_kind

PHONE = "+4915123456789"
EMAIL = "Alice.Liddell@Example.org"
ACCOUNT = "DE89 3704 0044 0532 0130 00"
SELECTORS = [PHONE, EMAIL, ACCOUNT]


def _envelope(value: str) -> bytes:
    return json.dumps({"request": "r-1", "note": value}).encode()


def _b64_inside_blob(raw: bytes, lead: int) -> bytes:
    """The selector's bytes inside a larger binary blob, at byte offset ``lead``, base64-encoded."""
    blob = bytes(range(7, 7 + lead)) + raw + b"\x00\xff trailing context"
    return _envelope(base64.b64encode(blob).decode())


PLANTED = {
    # name: (selector index, bytes to plant, encoding expected)
    "phone raw": (0, _envelope(PHONE), "text"),
    "phone digits only": (0, _envelope("4915123456789"), "text"),
    "phone formatted": (0, _envelope("+49 (151) 2345-6789"), "digits"),
    "phone 00 prefix": (0, _envelope("00 49 151 23456789"), "digits"),
    "phone hex": (0, _envelope(PHONE.encode().hex()), "hex"),
    "phone base64": (0, _envelope(base64.b64encode(PHONE.encode()).decode()), "base64"),
    "phone url-encoded": (0, b"GET /lookup?msisdn=%2B4915123456789 HTTP/1.1", "url"),
    "phone sha256": (0, _envelope(hashlib.sha256(PHONE.encode()).hexdigest()), "sha256-hex"),
    "email lower": (1, _envelope(EMAIL.lower()), "text"),
    "email upper": (1, _envelope(EMAIL.upper()), "text"),
    "email hex upper": (1, _envelope(EMAIL.lower().encode().hex().upper()), "hex"),
    "email base64 offset 1": (1, _b64_inside_blob(EMAIL.lower().encode(), 1), "base64"),
    "email base64 offset 2": (1, _b64_inside_blob(EMAIL.encode(), 2), "base64"),
    "email url-encoded": (1, _envelope(quote(EMAIL, safe="")), "url"),
    "email sha256 base64": (1, _envelope(base64.b64encode(hashlib.sha256(EMAIL.lower().encode()).digest()).decode()),
                            "sha256-base64"),
    "account raw": (2, _envelope(ACCOUNT), "text"),
    "account compact lower": (2, _envelope("de89370400440532013000"), "text"),
    "account base64": (2, _envelope(base64.b64encode(b"DE89370400440532013000").decode()), "base64"),
}


@pytest.fixture(scope="module")
def scanner() -> SelectorScanner:
    return SelectorScanner(SELECTORS)


def test_kinds_are_detected():
    assert [detect_kind(s) for s in SELECTORS] == ["phone", "email", "account"]
    assert detect_kind("acct-000123") == "account"


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_selector_is_found(scanner, name):
    index, data, encoding = PLANTED[name]
    findings = scanner.scan(b'{"log":"prefix"}\n' + data + b"\n", path="logs/run.jsonl")
    assert findings, name
    assert {f.selector for f in findings} == {index}
    assert encoding in {f.encoding for f in findings}
    assert all(f.path == "logs/run.jsonl" for f in findings)


def test_base64url_alphabet():
    selector = "cust>>id??~~0042"
    std = base64.b64encode(selector.encode())
    assert b"+" in std or b"/" in std  # so the URL-safe alphabet differs
    urlsafe = base64.urlsafe_b64encode(b"\x01" + selector.encode()).decode()
    findings = SelectorScanner([selector]).scan(_envelope(urlsafe))
    assert {f.encoding for f in findings} == {"base64url"}


def test_findings_do_not_echo_the_selector(scanner):
    findings = scanner.scan(_envelope(EMAIL))
    text = " ".join(str(f) for f in findings) + repr(findings)
    assert findings
    for form in (EMAIL, EMAIL.lower(), "liddell"):
        assert form.lower() not in text.lower()


def _clean_run_logs(n: int = 200) -> dict[str, bytes]:
    """What the exchange logs for a pilot run: peppered HMACs, blinded points, sizes — no raw selector."""
    rng = random.Random(7)
    pepper = bytes(rng.randrange(256) for _ in range(32))
    lines, envelopes = [], {}
    for i in range(n):
        sel = SELECTORS[i % 3].encode()
        blinded = hmac.new(pepper, sel, hashlib.sha256).digest()
        lines.append(json.dumps({"i": i, "ts": 1_700_000_000 + i, "blinded": base64.b64encode(blinded).decode(),
                                 "element": bytes(rng.randrange(256) for _ in range(32)).hex(), "status": 200}))
        envelopes[f"envelopes/req-{i}.json"] = json.dumps({"id": i, "points": [blinded.hex()], "size": 10_000}).encode()
    return {"logs/exchange.jsonl": "\n".join(lines).encode(), **envelopes}


def test_clean_content_passes(scanner):
    files = _clean_run_logs()
    assert scanner.scan_files(files) == []
    # and planting one selector anywhere in that content is caught
    files["logs/exchange.jsonl"] += b'\n{"debug":"' + EMAIL.lower().encode() + b'"}'
    findings = scanner.scan_files(files)
    assert [(f.path, f.selector) for f in findings] == [("logs/exchange.jsonl", 1)]


def test_large_selector_sets_use_the_index_and_agree():
    rng = random.Random(11)
    many = [f"+49151{rng.randrange(10**8):08d}" for _ in range(300)] + SELECTORS
    big = SelectorScanner(many)
    assert big._index  # the prefix-index path is used
    small = SelectorScanner(SELECTORS)
    for name, (index, data, _) in PLANTED.items():
        got = {(f.selector - 300, f.encoding, f.form) for f in big.scan(data) if f.selector >= 300}
        want = {(f.selector, f.encoding, f.form) for f in small.scan(data)}
        assert got == want, name
        assert {f.selector for f in small.scan(data)} == {index}
    planted_phone = many[123]
    assert {f.selector for f in big.scan(_envelope(planted_phone))} == {123}
    assert big.scan_files(_clean_run_logs(50)) == []


def test_short_or_empty_selectors_are_refused():
    with pytest.raises(BundleError) as exc:
        SelectorScanner(["ab"])
    assert exc.value.code == "selector_too_short"
    with pytest.raises(BundleError) as exc:
        Selector("  ")
    assert exc.value.code == "selector_invalid"


def test_builder_refuses_raw_selectors():
    partners = [PartnerKey("bank-a", b"\x11" * 48, b"\x22" * 96)]
    files = _clean_run_logs(20)
    kwargs = {"meta": {"pilot_run": "run-1"}, "partners": partners, "exchange_public_key": b"\x33" * 32}
    stages = []
    draft = draft_bundle(files, raw_selectors=SELECTORS, progress=lambda *a: stages.append(a), **kwargs)
    assert len(draft.manifest.files) == len(files)
    assert stages[0] == ("scan", 1, len(files) + 1) and ("hash", len(files), len(files)) in stages

    dirty = dict(files)
    dirty["envelopes/req-3.json"] = _envelope(base64.b64encode(PHONE.encode()).decode())
    with pytest.raises(RawSelectorError) as exc:
        draft_bundle(dirty, raw_selectors=SELECTORS, **kwargs)
    assert exc.value.code == "raw_selector_found"
    assert {f.path for f in exc.value.findings} == {"envelopes/req-3.json"}
    assert PHONE not in str(exc.value)

    with pytest.raises(RawSelectorError):  # the meta is scanned too
        draft_bundle(files, raw_selectors=SELECTORS, **{**kwargs, "meta": {"pilot_run": "r", "contact": EMAIL}})
    draft_bundle(dirty, **kwargs)  # without a selector list nothing is scanned
