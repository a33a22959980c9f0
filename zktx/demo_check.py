"""ZK-TX's part of ``manage.py demo --check``: one ≤k query end to end over HTTP (both partners'
clients against the running exchange) and one audit bundle of the seeded pilots verified offline."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings


def checks(ctx) -> list[tuple[str, Callable[[], str]]]:
    return [("≤k query (partner clients over HTTP)", lambda: _query(ctx.url)),
            ("audit bundle verified offline", _bundle)]


def _query(url: str) -> str:
    from zktx.pilot import run_pilot

    with tempfile.TemporaryDirectory() as tmp:
        rep = run_pilot("A", url=url, state_root=tmp, out=lambda *_a, **_k: None, bundle=False, holder_size=200, queries=2)
    if rep.total == 0 or rep.correct != rep.total or rep.partner_verified != rep.total:
        raise RuntimeError(f"{rep.correct}/{rep.total} verdicts right, {rep.partner_verified} verified by the partners")
    return f"{rep.total} queries: verdicts match the ground truth, receipts and log inclusion verified by both partners"


def _bundle() -> str:
    bundles = sorted((Path(settings.VAR_DIR) / "zktx" / "bundles").glob("*.tar.gz"))
    if not bundles:
        raise RuntimeError("no seeded audit bundle under var/zktx/bundles (run manage.py seed_demo)")
    path = bundles[0]
    trust = path.with_name(path.name.replace(".tar.gz", ".trust.json"))
    proc = subprocess.run([sys.executable, "-m", "zktx.verify_bundle", str(path), "--trust", str(trust),
                           "--transcript-verifier", "zktx.client.audit:bundle_verifier"],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"verify_bundle exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-300:]}")
    return f"{path.name}: manifest, Ed25519, BLS aggregate, witness inclusion and transcripts all verified"
