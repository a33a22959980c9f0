"""Auditor-side verification of a run's transcripts (no Django).

* :func:`verify_run` — given the epoch transcripts, the query transcripts and the identity keys
  per session: ``verify_epoch`` once per epoch, then every query with ``BatchVerifier``.
* :func:`audit_via_api` — fetch them from the exchange with an auditor's (operator's) token.
* :data:`bundle_verifier` — the batch hook for ``python -m zktx.verify_bundle
  --transcript-verifier zktx.client.audit:bundle_verifier``: reads ``config/keys.json`` of the
  bundle (covered by the manifest and the exchange's signature) to know each session's keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zktx.client.api import ExchangeApi
from zktx.protocol.errors import ProtocolError, SessionMismatchError
from zktx.protocol.transcript import b64d
from zktx.protocol.verify import BatchVerifier, PartyKeys, Verdict, verify_epoch


@dataclass
class AuditResult:
    epochs: int = 0
    epoch_seconds: float = 0.0
    batch_seconds: float = 0.0
    verdicts: list[Verdict | None] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # name -> code

    @property
    def ok(self) -> bool:
        return not self.errors and all(v is not None for v in self.verdicts)


def verify_run(
    epochs: Mapping[str, Mapping[str, Any]],
    queries: Mapping[str, Mapping[str, Any]],
    keys: Mapping[str, PartyKeys],
    *,
    workers: int = 1,
    mode: str = "rfc",
) -> AuditResult:
    """``epochs``/``queries``: name → transcript; ``keys``: session_id → the three identity keys."""
    res = AuditResult()
    t0 = time.perf_counter()
    verifiers: dict[tuple[bytes, bytes, bytes], BatchVerifier] = {}
    for name, transcript in epochs.items():
        try:
            sid = transcript["session"]["header"]["session_id"]
            pk = keys[sid]
            ve = verify_epoch(transcript, keys=pk, workers=workers, mode=mode)
        except ProtocolError as exc:
            res.errors[name] = exc.code
            continue
        except (KeyError, TypeError):
            res.errors[name] = "session_keys_unknown"
            continue
        verifiers.setdefault((pk.holder, pk.querier, pk.exchange), BatchVerifier(pk, workers=workers, mode=mode)).add_epoch(ve)
        res.epochs += 1
    res.epoch_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    names = list(queries)
    by_verifier: dict[int, list[int]] = {}
    vlist = list(verifiers.values())
    res.verdicts = [None] * len(names)
    for i, name in enumerate(names):
        sid = queries[name].get("session_id") if isinstance(queries[name], Mapping) else None
        pk = keys.get(sid) if isinstance(sid, str) else None
        idx = next((j for j, v in enumerate(vlist) if pk is not None and v.keys == pk), None)
        if idx is None:
            res.errors[name] = SessionMismatchError.code
            continue
        by_verifier.setdefault(idx, []).append(i)
    for idx, members in by_verifier.items():
        result = vlist[idx].verify([queries[names[i]] for i in members])
        for i, verdict, err in zip(members, result.verdicts, result.errors, strict=True):
            res.verdicts[i] = verdict
            if err is not None:
                res.errors[names[i]] = err.code
    res.batch_seconds = time.perf_counter() - t1
    return res


def audit_via_api(api: ExchangeApi, *, run: str | None = None, pilot: str | None = None, workers: int = 1) -> AuditResult:
    """Fetch a run's (or pilot's) transcripts with an auditor's token and verify them all."""
    filters = {"status": "verdict"}
    if run:
        filters["run"] = run
    if pilot:
        filters["pilot"] = pilot
    queries = api.queries(**filters)
    epochs: dict[str, dict] = {}
    keys: dict[str, PartyKeys] = {}
    exchange = b64d(api.exchange()["identity_key"])
    for q in queries:
        eid = q["epoch"]
        if eid not in epochs:
            e = api.epoch(eid)
            epochs[eid] = api.epoch_transcript(eid)
            ids = e["identities"]
            keys[e["session_id"]] = PartyKeys(bytes.fromhex(ids["holder"]), bytes.fromhex(ids["querier"]), exchange)
    transcripts = {q["id"]: api.transcript(q["id"]) for q in queries}
    return verify_run(epochs, transcripts, keys, workers=workers)


class BundleTranscriptVerifier:
    """``verify_many(transcripts, files)`` for ``zktx.verify_bundle`` (docs/zktx-bundle.md §6)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def verify_many(self, transcripts: Mapping[str, bytes], files: Mapping[str, bytes]) -> dict[str, Any]:
        cfg = json.loads(files["config/keys.json"])
        exchange = b64d(cfg["exchange"])
        keys = {sid: PartyKeys(b64d(s["holder"]), b64d(s["querier"]), exchange) for sid, s in cfg["sessions"].items()}
        epochs = {p: json.loads(d) for p, d in transcripts.items() if p.startswith("transcripts/epochs/")}
        queries = {p: json.loads(d) for p, d in transcripts.items() if not p.startswith("transcripts/epochs/")}
        res = verify_run(epochs, queries, keys, workers=self.workers)
        out: dict[str, Any] = {p: None for p in transcripts}
        for name, code in res.errors.items():
            out[name] = _Rejected(code)
        return out


class _Rejected(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(f"transcript rejected: {code}")
        self.code = code


bundle_verifier = BundleTranscriptVerifier()

__all__ = ["AuditResult", "BundleTranscriptVerifier", "audit_via_api", "bundle_verifier", "verify_run"]
