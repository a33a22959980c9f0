"""Verify a compliance packet offline.

    python -m compliance.verify_packet packet.zip --key 'trustfabric.localhost/svc/compliance+1a2b3c4d+AX…'
    python -m compliance.verify_packet packet.zip --key key.txt --log-key log-key.txt --require-witness

``--key`` is the packet signer's verifier key (a C2SP key string, or a file holding one): the
workspace shows it on the packets page and serves it at ``/compliance/key/``. ``--log-key`` is the
witness log's verifier key (``/witness/key``); with it the packet digest's inclusion in the log is
checked too. Exit status: 0 valid, 1 invalid, 2 usage error (unreadable file, malformed key).

Pure: no Django, no network.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from compliance.core.packet import FAIL, PASS, verify_packet
from witness.tlog.errors import TlogError
from witness.tlog.note import Ed25519Verifier


def _key(value: str) -> Ed25519Verifier:
    text = value
    path = Path(value)
    if "+" not in value or path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read key file {value}: {exc}") from exc
    try:
        return Ed25519Verifier.from_key_string(text.strip())
    except TlogError as exc:
        raise ValueError(f"not an Ed25519 verifier key: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance.verify_packet", description=__doc__.split("\n\n")[0])
    parser.add_argument("packet", help="the packet zip")
    parser.add_argument("--key", required=True, help="the packet signer's verifier key string, or a file holding it")
    parser.add_argument("--log-key", help="the witness log's verifier key (checks the inclusion proof)")
    parser.add_argument("--require-witness", action="store_true", help="fail unless the inclusion proof is present and verifies")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        key = _key(args.key)
        log_key = _key(args.log_key) if args.log_key else None
        data = Path(args.packet).read_bytes()
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = verify_packet(data, key=key, log_key=log_key, require_witness=args.require_witness)
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        for c in report.checks:
            mark = {PASS: "ok  ", FAIL: "FAIL"}.get(c.status, "skip")
            print(f"{mark} {c.name:9} {c.message}" + (f" [{c.code}]" if c.status == FAIL else ""))
        print("VALID" if report.ok else "INVALID", report.packet_digest or "")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
