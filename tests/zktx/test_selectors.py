"""Selector normalisation (stable error codes) and the per-epoch pepper."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zktx.protocol import errors
from zktx.protocol.selectors import (
    EpochPepper,
    Selector,
    normalize,
    normalize_email,
    normalize_iban,
    normalize_many,
    normalize_phone,
)

ROOT = bytes(range(32))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 (6) 12-34.56/78", "+33612345678"),
        ("tel:+1-202-555-0143", "+12025550143"),
        ("  +４４ 20 7946 0958 ", "+442079460958"),  # full-width digits (NFKC)
        ("+1\u00a0202\u2011555 0143".replace("\u2011", "-"), "+12025550143"),
    ],
)
def test_phone_canonical_forms(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_phone_national_numbers_need_a_country_code() -> None:
    with pytest.raises(errors.InvalidPhoneError) as exc:
        normalize_phone("06 12 34 56 78")
    assert exc.value.code == "selector_invalid_phone"
    assert normalize_phone("06 12 34 56 78", default_country_code="33") == "+33612345678"


@pytest.mark.parametrize(
    "raw", ["+0612345678", "+33 6 12 ab 56 78", "+123456", "+1234567890123456", "+33612345678 x12", "+"]
)
def test_phone_invalid(raw: str) -> None:
    with pytest.raises(errors.InvalidPhoneError) as exc:
        normalize_phone(raw)
    assert exc.value.code == "selector_invalid_phone"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Alice.Smith@Example.COM ", "alice.smith@example.com"),
        ("bob@bücher.example", "bob@xn--bcher-kva.example"),
        ("carol@example.org.", "carol@example.org"),
        ("Dave+Tag@Sub.Example.co.uk", "dave+tag@sub.example.co.uk"),
    ],
)
def test_email_canonical_forms(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "no-at-sign.example.com",
        "two@@example.com",
        "a@b@example.com",
        ".lead@example.com",
        "trail.@example.com",
        "dou..ble@example.com",
        "sp ace@example.com",
        "user@localhost",
        "user@-bad-.example",
        "x" * 65 + "@example.com",
        '"quoted"@example.com',
    ],
)
def test_email_invalid(raw: str) -> None:
    with pytest.raises(errors.InvalidEmailError) as exc:
        normalize_email(raw)
    assert exc.value.code == "selector_invalid_email"


def test_iban() -> None:
    assert normalize_iban("gb82 west 1234 5698 7654 32") == "GB82WEST12345698765432"
    with pytest.raises(errors.InvalidIbanError) as exc:
        normalize_iban("GB82 WEST 1234 5698 7654 33")  # check digits off by one
    assert exc.value.code == "selector_invalid_iban"


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        ("phone", "   ", "selector_empty"),
        ("email", "", "selector_empty"),
        ("account", "x" * 600, "selector_too_long"),
        ("account", "acct 42", "selector_invalid_account"),
        ("account", "acct\u200b42", "selector_invalid_account"),  # zero-width space (format char)
        ("ssn", "123", "selector_type_unknown"),
        ("account", 42, "selector_invalid"),
    ],
)
def test_error_codes(kind: str, raw: object, code: str) -> None:
    with pytest.raises(errors.SelectorError) as exc:
        normalize(kind, raw)  # type: ignore[arg-type]
    assert exc.value.code == code


def test_account_ids_keep_case_and_fold_compatibility_forms() -> None:
    assert normalize("account", "  ＡＢＣ-42 ").value == "ABC-42"
    assert normalize("account", "abc-42").value != normalize("account", "ABC-42").value


@settings(max_examples=60, deadline=None)
@given(
    local=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,15}", fullmatch=True),
    domain=st.from_regex(r"[A-Za-z0-9]{1,10}\.[A-Za-z]{2,6}", fullmatch=True),
    pad=st.sampled_from(["", " ", "\t", "  "]),
)
def test_email_normalisation_is_idempotent_and_case_insensitive(local: str, domain: str, pad: str) -> None:
    first = normalize_email(f"{pad}{local}@{domain}{pad}")
    assert normalize_email(first) == first
    assert normalize_email(f"{local.upper()}@{domain.upper()}") == first


@settings(max_examples=60, deadline=None)
@given(cc=st.integers(1, 999), rest=st.integers(10**5, 10**11 - 1), sep=st.sampled_from(["", " ", "-", "."]))
def test_phone_normalisation_is_idempotent(cc: int, rest: int, sep: str) -> None:
    digits = f"{cc}{rest}"
    if len(digits) > 15:
        return
    raw = "+" + sep.join([digits[:3], digits[3:6], digits[6:]])
    first = normalize_phone(raw)
    assert first == "+" + digits
    assert normalize_phone(first) == first
    assert normalize_phone("00" + digits) == first


def test_normalize_many_dedupes_and_reports() -> None:
    values = ["+33612345678", "0033 6 12 34 56 78", "bad", "+442079460958"]
    with pytest.raises(errors.InvalidPhoneError) as exc:
        normalize_many("phone", values)
    assert "selector 2" in exc.value.message
    good, rejected = normalize_many("phone", values, strict=False)
    assert [s.value for s in good] == ["+33612345678", "+442079460958"]
    assert [r.index for r in rejected] == [2] and rejected[0].error.code == "selector_invalid_phone"


def test_pepper_derivation_matches_the_spec() -> None:
    pepper = EpochPepper.derive(ROOT, 7)
    key = hmac.new(ROOT, b"epoch" + (7).to_bytes(8, "big"), hashlib.sha256).digest()
    sel = Selector("email", "alice@example.com")
    message = b"zktx-selector/1" + b"\x00\x05email" + b"\x00\x11alice@example.com"
    assert pepper.tag(sel) == hmac.new(key, message, hashlib.sha256).digest()
    assert pepper.tag_many([sel, sel]) == [pepper.tag(sel)] * 2
    assert pepper.pepper_id == hmac.new(key, b"zktx-pepper-id/1", hashlib.sha256).digest()[:16]
    assert "hidden" in repr(pepper) and key.hex() not in repr(pepper)


def test_tags_separate_epochs_types_and_roots() -> None:
    sel = Selector("account", "42")
    tags = {
        EpochPepper.derive(ROOT, 1).tag(sel),
        EpochPepper.derive(ROOT, 2).tag(sel),
        EpochPepper.derive(ROOT, 1).tag(Selector("iban", "42")),
        EpochPepper.derive(bytes(32), 1).tag(sel),
    }
    assert len(tags) == 4


@pytest.mark.parametrize(("root", "epoch"), [(b"short", 1), (ROOT, -1), (ROOT, 2**53), (ROOT, True)])
def test_pepper_rejects_bad_parameters(root: bytes, epoch: int) -> None:
    with pytest.raises(errors.PepperError) as exc:
        EpochPepper.derive(root, epoch)
    assert exc.value.code == "pepper_invalid"
