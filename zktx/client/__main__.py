"""``python -m zktx.client``: the partner's command line (no Django). See docs/zktx.md.

    python -m zktx.client --state ~/.zktx-northwind --url https://exchange.example init
    ZKTX_TOKEN=tf_… python -m zktx.client --state ~/.zktx-northwind register-keys
    python -m zktx.client --state … pepper import A pepper-A.hex      (shared with the partner out of band)
    python -m zktx.client --state … status
    python -m zktx.client --state … upload-set EPOCH holders.txt --type phone
    python -m zktx.client --state … answer --loop 5
    python -m zktx.client --state … query EPOCH suspects.txt --type phone
    python -m zktx.client --state … verdict QUERY
    python -m zktx.client --state … sign-acceptance BUNDLE

Exit codes: 0 ok · 1 a check failed (verdict not verified, audit failed) · 2 usage or local state ·
3 the exchange refused (the error code is printed; 429 prints Retry-After).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zktx.client.api import ApiError, ExchangeApi, UrllibTransport
from zktx.client.partner import PartnerClient, load_selectors
from zktx.client.state import LocalState, StateError
from zktx.protocol.errors import ProtocolError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zktx.client", description="ZK-TX partner client: your keys, "
                                "pepper and selectors stay in --state; the exchange only sees blinded elements.")
    p.add_argument("--state", default=os.environ.get("ZKTX_STATE", str(Path.home() / ".zktx")),
                   help="local state directory (secrets, mode 0600); default $ZKTX_STATE or ~/.zktx")
    p.add_argument("--url", help="the exchange's base URL (saved by init)")
    p.add_argument("--token-file", help="file holding the API token (default: $ZKTX_TOKEN, then STATE/token)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="threads for blinding and evaluating")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("init", help="create local keys (idempotent) and remember the URL")
    s.add_argument("--save-token", action="store_true", help="copy the token into STATE/token (mode 0600)")
    sub.add_parser("register-keys", help="register the identity key and the BLS key (with proof of possession)")
    s = sub.add_parser("pepper", help="the per-pilot pepper root shared with your partner, never with the exchange")
    s.add_argument("action", choices=["init", "export", "import"])
    s.add_argument("pilot")
    s.add_argument("file", nargs="?")
    sub.add_parser("status", help="pilots, epochs waiting for you, pending evaluation requests")
    sub.add_parser("quotas", help="your rate, fair-share weight and per-epoch query budgets")
    s = sub.add_parser("epoch-setup", help="join the epoch and sign its header (after checking it)")
    s.add_argument("epoch")
    s = sub.add_parser("upload-set", help="holder: blind and upload the holder set of an epoch")
    s.add_argument("epoch")
    s.add_argument("file", help="raw selectors, one per line")
    s.add_argument("--type", required=True, choices=["phone", "email", "account", "iban"])
    s.add_argument("--country", help="default country code for national phone numbers")
    s = sub.add_parser("answer", help="answer pending evaluation requests (holder sets, queries)")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--loop", type=float, metavar="SECONDS", help="keep polling every SECONDS")
    s = sub.add_parser("query", help="querier: ask whether the overlap with the holder's set exceeds k")
    s.add_argument("epoch")
    s.add_argument("file")
    s.add_argument("--type", required=True, choices=["phone", "email", "account", "iban"])
    s.add_argument("--country")
    s.add_argument("--wait", type=float, default=0, help="honour 429 Retry-After up to this many seconds")
    s = sub.add_parser("verdict", help="fetch verdicts and verify the receipt and its witness-log inclusion")
    s.add_argument("queries", nargs="+")
    s = sub.add_parser("audit", help="auditor token: verify every epoch and query transcript (batch)")
    s.add_argument("--run")
    s.add_argument("--pilot")
    s = sub.add_parser("appeal", help="appeal a verdict")
    s.add_argument("query")
    s.add_argument("--reason", required=True)
    s = sub.add_parser("consent", help="consent to re-running an appealed query under a fresh epoch")
    s.add_argument("appeal")
    s = sub.add_parser("rerun", help="take part in an appeal's re-run epoch")
    s.add_argument("appeal")
    s.add_argument("--holder-set", help="holder: the raw selectors to upload again")
    s.add_argument("--type", choices=["phone", "email", "account", "iban"])
    sub.add_parser("bundles", help="audit bundles of your runs")
    s = sub.add_parser("sign-acceptance", help="review a bundle's manifest core and sign its acceptance (BLS)")
    s.add_argument("bundle")
    return p


def _out(args: argparse.Namespace, obj: Any, text: str | None = None) -> None:
    if args.json or text is None:
        print(json.dumps(obj, indent=2, default=str))
    else:
        print(text)


def _client(args: argparse.Namespace, state: LocalState) -> PartnerClient:
    url = args.url or state.config().get("url")
    if not url:
        raise StateError("no exchange URL: pass --url (init saves it)")
    token = Path(args.token_file).read_text().strip() if args.token_file else state.token()
    if not token:
        raise StateError("no API token: set ZKTX_TOKEN, pass --token-file, or run init --save-token")
    return PartnerClient(ExchangeApi(UrllibTransport(url), token), state, workers=args.workers,
                         log=lambda m: print(m, file=sys.stderr))


def _selectors(path: str, stype: str, country: str | None) -> list:
    selectors, rejected = load_selectors(path, stype, default_country_code=country)
    if rejected:
        print(f"{rejected} line(s) of {path} are not valid {stype} selectors and were skipped", file=sys.stderr)
    return selectors


def run(args: argparse.Namespace) -> int:
    state = LocalState(args.state)
    cmd = args.command
    if cmd == "init":
        if args.url:
            state.ensure()
            state.update_config(url=args.url.rstrip("/"))
        pub = PartnerClient(None, state).init()
        if args.save_token:
            token = Path(args.token_file).read_text().strip() if args.token_file else os.environ.get("ZKTX_TOKEN", "")
            if not token:
                raise StateError("--save-token needs --token-file or ZKTX_TOKEN")
            state.save_token(token)
        _out(args, pub, f"state in {state.root}; identity key {pub['identity_key']}")
        return 0
    if cmd == "pepper":
        local = PartnerClient(None, state)
        if args.action == "init":
            local.pepper_init(args.pilot)
        elif not args.file:
            raise StateError(f"pepper {args.action} needs a FILE")
        elif args.action == "export":
            local.pepper_export(args.pilot, args.file)
        else:
            local.pepper_import(args.pilot, args.file)
        print(f"pepper {args.action}: pilot {args.pilot} done")
        return 0
    c = _client(args, state)
    if cmd == "register-keys":
        _out(args, c.register_keys(), "keys registered")
    elif cmd == "status":
        pilots = c.api.pilots()
        lines = []
        for pilot in pilots:
            lines.append(f"pilot {pilot['name']}: you are the {pilot['my_role']} (k={pilot['policy']['k']})")
            for e in c.api.epochs(pilot["id"])[:3]:
                lines.append(f"  epoch {e['number']} {e['id']} {e['status']}" + (f"  → {e['next_action']}" if e["next_action"] else ""))
        pending = c.api.pending()
        lines.append(f"{len(pending)} evaluation request(s) waiting for you")
        _out(args, {"pilots": pilots, "pending": pending}, "\n".join(lines))
    elif cmd == "quotas":
        _out(args, c.api.quotas())
    elif cmd == "epoch-setup":
        e = c.setup_epoch(args.epoch)
        _out(args, e, f"epoch {e['number']}: {e['status']}")
    elif cmd == "upload-set":
        out = c.upload_holder_set(args.epoch, _selectors(args.file, args.type, args.country))
        _out(args, out, f"uploaded {out['size']} blinded elements (digest {out['digest'][:16]}…)")
    elif cmd == "answer":
        while True:
            done = c.answer_pending(limit=args.limit)
            _out(args, done, f"set up {done['setup']} epoch(s), answered {done['epoch']} holder set(s) and "
                             f"{done['query']} query(ies); {done['errors']} error(s)")
            if not args.loop:
                break
            time.sleep(args.loop)
    elif cmd == "query":
        q, refused = c.make_query_waiting(args.epoch, _selectors(args.file, args.type, args.country), max_wait=args.wait)
        _out(args, q, f"query {q['id']} submitted ({q['size']} selectors); {refused} time(s) rate-limited")
    elif cmd == "verdict":
        bad = 0
        for qpk in args.queries:
            v = c.verdict(qpk)
            bad += not v.ok
            _out(args, v.__dict__, f"{qpk}: {v.verdict or '-'} (k={v.k}) receipt {'ok' if v.receipt_valid else 'INVALID'}, "
                                   f"log {'leaf ' + str(v.leaf_index) if v.logged else 'not proven'}"
                                   + ("" if v.ok else f"  problems: {'; '.join(v.problems)}"))
        return 1 if bad else 0
    elif cmd == "audit":
        from zktx.client.audit import audit_via_api

        res = audit_via_api(c.api, run=args.run, pilot=args.pilot, workers=args.workers)
        summary = {"epochs": res.epochs, "queries": len(res.verdicts), "errors": res.errors,
                   "epoch_seconds": res.epoch_seconds, "batch_seconds": res.batch_seconds}
        _out(args, summary, f"{res.epochs} epoch(s) and {len(res.verdicts)} transcript(s): "
                            f"{'all verified' if res.ok else 'FAILED ' + json.dumps(res.errors)} "
                            f"(epochs {res.epoch_seconds:.2f} s, batch {res.batch_seconds:.2f} s)")
        return 0 if res.ok else 1
    elif cmd == "appeal":
        _out(args, c.appeal(args.query, args.reason))
    elif cmd == "consent":
        _out(args, c.consent(args.appeal))
    elif cmd == "rerun":
        sel = _selectors(args.holder_set, args.type, None) if args.holder_set else None
        _out(args, c.rerun(args.appeal, holder_selectors=sel))
    elif cmd == "bundles":
        _out(args, c.api.bundles())
    elif cmd == "sign-acceptance":
        b = c.sign_acceptance(args.bundle)
        _out(args, b, f"accepted bundle {b['run']} ({b['status']})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except ApiError as exc:
        hint = f" (retry after {exc.retry_after} s)" if exc.retry_after else ""
        print(f"error: the exchange refused: {exc.code}: {exc.message}{hint}", file=sys.stderr)
        return 3
    except (StateError, ProtocolError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
