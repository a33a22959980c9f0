"""Selector normalisation and the partner-shared, per-epoch pepper (ZK-TX PSI inputs).

A *selector* is what partners compare: a phone number, an e-mail address, an account id or
an IBAN. Two partners only find a common selector if both wrote it the same way, so every
selector is first put in a canonical form (:func:`normalize`), then keyed with the pepper of
the epoch (:meth:`EpochPepper.tag`); the 32-byte tag is the RFC 9497 input that is hashed to
ristretto255 and blinded. The exchange never sees a pepper, so it cannot enumerate phone
numbers and compare (low-entropy selectors are otherwise a dictionary away).

Canonical forms (``docs/zktx-protocol.md`` §3 is normative):

============  ===============================================================================
type          canonical value
============  ===============================================================================
``phone``     E.164: ``+`` then 7-15 digits, the first non-zero. Spaces, ``-``, ``.``, ``/``,
              ``(``, ``)`` and a ``tel:`` prefix are dropped; ``00`` is read as ``+``; with
              ``default_country_code`` a national number ``0…`` becomes ``+<cc>…`` (trunk
              prefix dropped). Extensions and letters are refused.
``email``     trimmed, NFC, lower-cased ``local@domain``; the domain in IDNA ASCII form
              (``xn--…``), without a trailing dot, with at least two labels. One ``@``; the
              local part 1-64 characters with no spaces, quotes or consecutive/edge dots; the
              whole at most 254 characters. No provider-specific rewriting (dots, ``+tags``).
``account``   NFKC, trimmed, case preserved; 1-128 characters, no whitespace or control
              characters inside.
``iban``      upper-case without spaces, 15-34 characters, ``CC`` ``dd`` then letters/digits,
              ISO 13616 mod-97 check equal to 1.
============  ===============================================================================

Pepper: ``pepper_epoch = HMAC-SHA256(pepper_root, "epoch" || I2OSP(epoch, 8))`` and
``tag = HMAC-SHA256(pepper_epoch, "zktx-selector/1" || lp(type) || lp(value))`` with ``lp`` the
2-byte length prefix of RFC 9497. ``pepper_id = HMAC-SHA256(pepper_epoch, "zktx-pepper-id/1")``
(first 16 bytes) goes into the signed session header, so both partners can check they use the
same pepper without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from zktx.protocol.errors import (
    InvalidAccountError,
    InvalidEmailError,
    InvalidIbanError,
    InvalidPhoneError,
    PepperError,
    SelectorEmptyError,
    SelectorError,
    SelectorTooLongError,
    SelectorTypeError,
)

SELECTOR_TYPES: Final = ("phone", "email", "account", "iban")
#: Longest raw selector accepted before normalisation (characters).
MAX_RAW_CHARS: Final = 512
PEPPER_ROOT_BYTES: Final = 32
TAG_BYTES: Final = 32
MAX_EPOCH: Final = (1 << 53) - 1  # epochs travel in JSON numbers (RFC 8785 safe integers)

_TAG_DST: Final = b"zktx-selector/1"
_PEPPER_ID_DST: Final = b"zktx-pepper-id/1"

_PHONE_SEPARATORS = re.compile(r"[\s\-./()\u00a0\u2010-\u2015]")
_DIGITS = re.compile(r"[0-9]+")
_LOCAL_FORBIDDEN = set(' "(),:;<>[\\]@')
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


@dataclass(frozen=True, slots=True)
class Selector:
    """A normalised selector: its ``type`` (one of :data:`SELECTOR_TYPES`) and canonical ``value``."""

    type: str
    value: str

    def encode(self) -> bytes:
        """``lp(type) || lp(UTF-8 value)``, the bytes that :meth:`EpochPepper.tag` keys."""
        t = self.type.encode()
        v = self.value.encode()
        return len(t).to_bytes(2, "big") + t + len(v).to_bytes(2, "big") + v

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


def _prepare(raw: object, what: str) -> str:
    if not isinstance(raw, str):
        raise SelectorError(f"{what} must be a string, not {type(raw).__name__}")
    if len(raw) > MAX_RAW_CHARS:
        raise SelectorTooLongError(f"{what} is longer than {MAX_RAW_CHARS} characters")
    value = raw.strip()
    if not value:
        raise SelectorEmptyError(f"{what} is empty")
    return value


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value)


def normalize_phone(raw: str, *, default_country_code: str | None = None) -> str:
    """Canonical E.164 form ``+<digits>`` (see the module docstring)."""
    value = unicodedata.normalize("NFKC", _prepare(raw, "phone number"))
    if value.lower().startswith("tel:"):
        value = value[4:]
    value = _PHONE_SEPARATORS.sub("", value)
    if value.startswith("+"):
        digits = value[1:]
    elif value.startswith("00"):
        digits = value[2:]
    elif value.startswith("0") and default_country_code is not None:
        if not default_country_code.isdigit() or not 1 <= len(default_country_code) <= 3:
            raise InvalidPhoneError("default_country_code must be 1-3 digits")
        digits = default_country_code + value[1:]
    else:
        raise InvalidPhoneError(
            "phone number must be in international format (+<country code><number> or 00…); "
            "pass default_country_code to accept national numbers"
        )
    if not digits or not _DIGITS.fullmatch(digits) or not digits.isascii():
        raise InvalidPhoneError("phone number may only contain digits after the country prefix")
    if digits[0] == "0":
        raise InvalidPhoneError("a country code never starts with 0")
    if not 7 <= len(digits) <= 15:
        raise InvalidPhoneError(f"an E.164 number has 7 to 15 digits, got {len(digits)}")
    return "+" + digits


def normalize_email(raw: str) -> str:
    """Canonical ``local@domain`` (lower-cased, IDNA domain; see the module docstring)."""
    value = unicodedata.normalize("NFC", _prepare(raw, "e-mail address")).lower()
    if _has_control(value) or any(ch.isspace() for ch in value):
        raise InvalidEmailError("e-mail address contains whitespace or control characters")
    if value.count("@") != 1:
        raise InvalidEmailError("e-mail address must contain exactly one '@'")
    local, domain = value.split("@")
    if not 1 <= len(local) <= 64:
        raise InvalidEmailError("the local part must be 1 to 64 characters")
    if any(ch in _LOCAL_FORBIDDEN for ch in local):
        raise InvalidEmailError("quoted or special characters in the local part are not supported")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidEmailError("the local part has a leading, trailing or doubled dot")
    domain = domain.removesuffix(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidEmailError("the domain is not a valid internationalised domain name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253:
        raise InvalidEmailError("the domain must have at least two labels and at most 253 characters")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidEmailError("a domain label is empty, too long or has invalid characters")
    address = f"{local}@{ascii_domain}"
    if len(address) > 254:
        raise InvalidEmailError("e-mail address is longer than 254 characters")
    return address


def normalize_account(raw: str) -> str:
    """Canonical account id: NFKC, trimmed, case preserved, 1-128 characters, no inner spaces."""
    value = unicodedata.normalize("NFKC", _prepare(raw, "account id")).strip()
    if not value:
        raise SelectorEmptyError("account id is empty")
    if len(value) > 128:
        raise InvalidAccountError("account id is longer than 128 characters")
    if _has_control(value) or any(ch.isspace() for ch in value):
        raise InvalidAccountError("account id contains whitespace or control characters")
    return value


def normalize_iban(raw: str) -> str:
    """Canonical IBAN: upper case, no spaces, ISO 13616 check digits verified."""
    value = re.sub(r"\s", "", _prepare(raw, "IBAN")).upper()
    if not value.isascii() or not 15 <= len(value) <= 34 or not _IBAN.fullmatch(value):
        raise InvalidIbanError("an IBAN is 15-34 letters/digits: country code, check digits, account")
    rearranged = value[4:] + value[:4]
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    if number % 97 != 1:
        raise InvalidIbanError("IBAN check digits are wrong (mod-97 check failed)")
    return value


_NORMALIZERS = {
    "email": normalize_email,
    "account": normalize_account,
    "iban": normalize_iban,
}


def normalize(selector_type: str, raw: str, *, default_country_code: str | None = None) -> Selector:
    """Normalise ``raw`` as a selector of ``selector_type``; raises a ``selector_*`` error."""
    if selector_type == "phone":
        return Selector("phone", normalize_phone(raw, default_country_code=default_country_code))
    fn = _NORMALIZERS.get(selector_type) if isinstance(selector_type, str) else None
    if fn is None:
        raise SelectorTypeError(f"unknown selector type {selector_type!r}; expected one of {SELECTOR_TYPES}")
    return Selector(selector_type, fn(raw))


@dataclass(frozen=True, slots=True)
class RejectedSelector:
    """One input that :func:`normalize_many` could not normalise: its position and the error."""

    index: int
    error: SelectorError


def normalize_many(
    selector_type: str,
    values: Iterable[str],
    *,
    default_country_code: str | None = None,
    strict: bool = True,
) -> tuple[list[Selector], list[RejectedSelector]]:
    """Normalise many raw values of one type and remove duplicates (first occurrence kept).

    With ``strict`` (default) the first invalid value raises; otherwise invalid values are
    returned in the second list, with their index, so an upload can report them all.
    """
    out: list[Selector] = []
    rejected: list[RejectedSelector] = []
    seen: set[str] = set()
    for i, raw in enumerate(values):
        try:
            sel = normalize(selector_type, raw, default_country_code=default_country_code)
        except SelectorError as exc:
            if strict:
                raise type(exc)(f"selector {i}: {exc.message}") from None
            rejected.append(RejectedSelector(i, exc))
            continue
        if sel.value not in seen:
            seen.add(sel.value)
            out.append(sel)
    return out, rejected


# --------------------------------------------------------------------------- pepper


class EpochPepper:
    """The pepper of one epoch, derived from the partners' shared ``pepper_root``.

    ``repr`` hides the key. Never send it (or the root) to the exchange.
    """

    __slots__ = ("_key", "epoch")

    def __init__(self, key: bytes, epoch: int) -> None:
        if not isinstance(key, bytes) or len(key) != TAG_BYTES:
            raise PepperError(f"an epoch pepper is {TAG_BYTES} bytes")
        self._key = key
        self.epoch = epoch

    @classmethod
    def derive(cls, pepper_root: bytes, epoch: int) -> EpochPepper:
        """``HMAC-SHA256(pepper_root, "epoch" || I2OSP(epoch, 8))``."""
        if not isinstance(pepper_root, bytes) or len(pepper_root) < PEPPER_ROOT_BYTES:
            raise PepperError(f"pepper_root must be at least {PEPPER_ROOT_BYTES} random bytes")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= MAX_EPOCH:
            raise PepperError(f"epoch must be an integer in [0, 2^53-1], got {epoch!r}")
        key = hmac.new(pepper_root, b"epoch" + epoch.to_bytes(8, "big"), hashlib.sha256).digest()
        return cls(key, epoch)

    @property
    def pepper_id(self) -> bytes:
        """A public 16-byte identifier of the pepper (for the session header)."""
        return hmac.new(self._key, _PEPPER_ID_DST, hashlib.sha256).digest()[:16]

    def tag(self, selector: Selector) -> bytes:
        """The 32-byte keyed tag of a normalised selector: the PSI input."""
        return hmac.new(self._key, _TAG_DST + selector.encode(), hashlib.sha256).digest()

    def tag_many(self, selectors: Sequence[Selector]) -> list[bytes]:
        base = hmac.new(self._key, _TAG_DST, hashlib.sha256)
        out: list[bytes] = []
        for sel in selectors:
            h = base.copy()
            h.update(sel.encode())
            out.append(h.digest())
        return out

    def __repr__(self) -> str:
        return f"EpochPepper(epoch={self.epoch}, key=<hidden>)"


__all__ = [
    "MAX_EPOCH",
    "PEPPER_ROOT_BYTES",
    "SELECTOR_TYPES",
    "TAG_BYTES",
    "EpochPepper",
    "RejectedSelector",
    "Selector",
    "normalize",
    "normalize_account",
    "normalize_email",
    "normalize_iban",
    "normalize_many",
    "normalize_phone",
]
