"""Offline verifier of ZK-TX audit bundles — no Django, no database, no network.

    python -m zktx.verify_bundle BUNDLE.tar.gz --exchange-key KEY --partner-key ID=HEX ... --witness-key VKEY

Exit codes: 0 ok · 2 usage (bad arguments, unreadable file or key) · 3 archive unreadable or unsafe ·
4 manifest or file integrity · 5 exchange signature · 6 partner keys or BLS acceptance · 7 witness
inclusion · 8 transcript verifier · 9 raw selector found. When several checks fail, the first in
that order decides. Specification: docs/zktx-bundle.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from witness.tlog.errors import KeyFormatError
from witness.tlog.note import Ed25519Verifier
from zktx.bundle.errors import BundleError
from zktx.bundle.format import DEFAULT_LIMITS
from zktx.bundle.verify import FAIL, PASS, Report, verify_bundle

USAGE = 2
MAX_INPUT = DEFAULT_LIMITS.max_archive_bytes

EXIT_MEANINGS = {
    0: "bundle verified",
    3: "archive unreadable or unsafe",
    4: "manifest or file integrity",
    5: "exchange signature",
    6: "partner keys or BLS acceptance",
    7: "witness inclusion",
    8: "transcript verification",
    9: "raw selector found",
}

_HEX = re.compile(r"[0-9a-fA-F]+")

EPILOG = """\
trust:
  The bundle names its exchange key and the partners' BLS keys (it is self-describing), but
  nothing in it is trusted: trust comes only from --exchange-key, --partner-key, --witness-key,
  --statement-key and --trust. Without a trusted exchange key, partner keys and witness key the
  corresponding checks fail.

key formats:
  --exchange-key  64 hex digits (raw Ed25519 public key), a PEM public key file or PEM text, or
                  a C2SP verifier key string NAME+ID+BASE64 of type 0x01
  --partner-key   ID=HEX: partner id and its 96-hex-digit (48-byte) BLS12-381 G1 public key
  --witness-key   the log's C2SP verifier key string (its name must be the checkpoint origin)
  --statement-key a C2SP verifier key string allowed to sign the zktx.bundle statement
  --trust FILE    JSON: {"exchange_keys": [...], "partner_keys": {"ID": "HEX"},
                  "witness_key": "...", "statement_keys": [...], "required_partners": [...]}

exit codes:
  0 ok, 2 usage, 3 archive, 4 manifest/files, 5 exchange signature, 6 partner keys/acceptance,
  7 witness inclusion, 8 transcripts, 9 raw selector found (first failing check decides)
"""


class UsageError(Exception):
    pass


def _parse_exchange_key(value: str) -> bytes:
    text = value.strip()
    if len(text) == 64 and _HEX.fullmatch(text):
        return bytes.fromhex(text)
    if "-----BEGIN" not in text and "+" in text and not Path(text).exists():
        try:
            return Ed25519Verifier.from_key_string(text).public_key
        except KeyFormatError as exc:
            raise UsageError(f"--exchange-key: not a valid verifier key: {exc}") from exc
    if "-----BEGIN" not in text:
        try:
            text = Path(text).read_text()
        except OSError as exc:
            raise UsageError(f"--exchange-key: not 64 hex digits, a PEM key or a readable file: {exc}") from exc
        stripped = text.strip()
        if len(stripped) == 64 and _HEX.fullmatch(stripped):
            return bytes.fromhex(stripped)
    try:
        key = load_pem_public_key(text.encode())
    except ValueError as exc:
        raise UsageError(f"--exchange-key: not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError("--exchange-key: the PEM key is not an Ed25519 public key")
    return key.public_bytes_raw()


def _parse_partner_key(value: str) -> tuple[str, bytes]:
    pid, sep, hexkey = value.partition("=")
    hexkey = hexkey.strip()
    if not sep or not pid or len(hexkey) != 96 or not _HEX.fullmatch(hexkey):
        raise UsageError(f"--partner-key must be ID=HEX with a 48-byte (96 hex digit) BLS key: {value!r}")
    return pid.strip(), bytes.fromhex(hexkey)


def _load_trust(path: str) -> dict[str, Any]:
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--trust {path}: {exc}") from exc
    allowed = {"exchange_keys", "partner_keys", "witness_key", "statement_keys", "required_partners"}
    if not isinstance(obj, dict) or set(obj) - allowed:
        raise UsageError(f"--trust {path}: a JSON object with only the fields {', '.join(sorted(allowed))}")
    return obj


def _load_hook(spec: str):
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise UsageError("--transcript-verifier must be MODULE:CALLABLE")
    try:
        hook = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--transcript-verifier {spec}: {exc}") from exc
    if not callable(hook) and not callable(getattr(hook, "verify_many", None)):
        raise UsageError(f"--transcript-verifier {spec} is neither callable nor has verify_many()")
    return hook


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m zktx.verify_bundle",
        description="Verify a ZK-TX audit bundle offline: archive safety, manifest and file digests,\n"
        "the exchange's Ed25519 signature, the partners' BLS aggregate acceptance, the witness\n"
        "inclusion proof, and optionally transcripts and a raw-selector scan. No Django, no network.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("bundle", metavar="FILE", help="the bundle (.tar.gz)")
    p.add_argument("--exchange-key", action="append", default=[], metavar="KEY", help="trusted exchange key (repeatable)")
    p.add_argument("--partner-key", action="append", default=[], metavar="ID=HEX", help="trusted partner BLS key (repeatable)")
    p.add_argument("--require-partner", action="append", default=[], metavar="ID",
                   help="partner that must be among the accepting partners (repeatable)")
    p.add_argument("--witness-key", metavar="VKEY", help="the witness log's verifier key")
    p.add_argument("--statement-key", action="append", default=None, metavar="VKEY",
                   help="verifier key allowed to sign the bundle statement (repeatable; default: any valid signer)")
    p.add_argument("--trust", metavar="FILE", help="JSON trust file (merged with the options above)")
    p.add_argument("--no-witness", action="store_true",
                   help="do not require a witness inclusion proof (the check is skipped unless --witness-key is given)")
    p.add_argument("--selectors", metavar="FILE", help="raw selectors, one per line, that must not occur anywhere")
    p.add_argument("--transcript-verifier", metavar="MODULE:CALLABLE",
                   help="callable(path, data, files) that raises to reject a transcript, or an object "
                   "with verify_many(transcripts, files) (see docs/zktx-bundle.md)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def _render(report: Report, path: str) -> str:
    lines = [f"ZK-TX audit bundle {path}"]
    if report.bundle_digest:
        lines.append(f"  bundle digest  {report.bundle_digest}  (SHA-256 of manifest.json; logged in the witness)")
        lines.append(f"  pilot run      {report.pilot_run}")
        lines.append(f"  partners       {', '.join(report.partners)}")
        lines.append(f"  content files  {report.file_count}")
    lines.append("")
    width = max(len(c.name) for c in report.checks)
    code_width = max(len(c.code) for c in report.checks)
    lines.append(f"{'CHECK':<{width}}  {'RESULT':<6}  {'CODE':<{code_width}}  DETAIL")
    for c in report.checks:
        status = {PASS: "ok", FAIL: "FAIL"}.get(c.status, "skip")
        lines.append(f"{c.name:<{width}}  {status:<6}  {c.code:<{code_width}}  {c.detail}")
        if c.status == FAIL and len(c.problems) > 1:
            for problem in c.problems[:20]:
                lines.append(f"{'':<{width}}  {'':<6}  {'':<{code_width}}  - {problem}")
            if len(c.problems) > 20:
                lines.append(f"{'':<{width}}  {'':<6}  {'':<{code_width}}  … {len(c.problems) - 20} more")
    lines.append("")
    code = report.exit_code
    verdict = "VERIFIED" if code == 0 else "NOT VERIFIED"
    lines.append(f"{verdict} (exit {code}: {EXIT_MEANINGS.get(code, '')})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        trust = _load_trust(args.trust) if args.trust else {}
        exchange = [_parse_exchange_key(k) for k in [*trust.get("exchange_keys", []), *args.exchange_key]]
        partners: dict[str, bytes] = {}
        for pid, key in trust.get("partner_keys", {}).items():
            partners.update([_parse_partner_key(f"{pid}={key}")])
        for value in args.partner_key:
            pid, key = _parse_partner_key(value)
            if partners.get(pid, key) != key:
                raise UsageError(f"two different keys given for partner {pid}")
            partners[pid] = key
        witness_key = args.witness_key or trust.get("witness_key")
        if witness_key is not None:
            try:
                Ed25519Verifier.from_key_string(witness_key)
            except KeyFormatError as exc:
                raise UsageError(f"--witness-key: {exc}") from exc
        statement_keys = None
        if args.statement_key is not None or "statement_keys" in trust:
            statement_keys = [*trust.get("statement_keys", []), *(args.statement_key or [])]
        required = [*trust.get("required_partners", []), *args.require_partner]
        selectors = None
        if args.selectors:
            try:
                selectors = [line.strip() for line in Path(args.selectors).read_text().splitlines() if line.strip()]
            except OSError as exc:
                raise UsageError(f"--selectors: {exc}") from exc
        hook = _load_hook(args.transcript_verifier) if args.transcript_verifier else None
        try:
            path = Path(args.bundle)
            if path.stat().st_size > MAX_INPUT:
                raise UsageError(f"{args.bundle} is larger than {MAX_INPUT} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.bundle}: {exc}") from exc
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    try:
        report = verify_bundle(
            data,
            trusted_exchange_keys=exchange,
            trusted_partner_keys=partners,
            witness_key=witness_key,
            transcript_verifier=hook,
            trusted_statement_keys=statement_keys,
            required_partners=required,
            require_witness=not args.no_witness,
            raw_selectors=selectors,
        )
    except BundleError as exc:  # bad trust material slipped past parsing
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(_render(report, args.bundle))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
