"""The witness log's part of ``manage.py demo --check``: the offline auditor (``python -m witness.audit``)
checks the signed checkpoint twice (consistency with the first) and mirrors every tile."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from trustfabric.demo import CheckContext, Http


def checks(ctx: CheckContext):
    return [("witness consistency (offline auditor)", lambda: _witness(ctx.url))]


def _witness(url: str) -> str:
    status, key, _ = Http(url).request("GET", "/witness/key")
    if status != 200:
        raise RuntimeError(f"GET /witness/key → {status}")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.json"
        for _ in range(2):  # the second run checks consistency with the first checkpoint
            proc = subprocess.run([sys.executable, "-m", "witness.audit", "--log", url.rstrip("/") + "/witness/",
                                   "--key", key.decode().strip(), "--state", str(state), "check"],
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise RuntimeError(f"witness.audit exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-300:]}")
        proc = subprocess.run([sys.executable, "-m", "witness.audit", "--log", url.rstrip("/") + "/witness/",
                               "--key", key.decode().strip(), "mirror", "--dir", str(Path(tmp) / "mirror")],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"mirror exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-300:]}")
    size = re.search(r"(\d+) (?:entries|leaves)", proc.stdout)
    return f"checkpoint signed and consistent; root recomputed from every tile{f' ({size.group(0)})' if size else ''}"
