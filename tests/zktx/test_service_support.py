"""Shared set-up for the ZK-TX service tests (no tests here).

Partners run the real client library (:class:`zktx.client.PartnerClient`) against the real API
in-process (:class:`zktx.inprocess.DjangoClientTransport`) with their own API tokens; the exchange's
background work is run by calling what the Celery tasks call (:func:`drain`).

BLS is slow in pure Python (py_ecc), so each partner's client state is created once per test
session (fixed seeds) and copied into each test's directory: the key material is the same across
tests, and the exchange's proof-of-possession check is memoized per process.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accounts import services as accounts
from zktx import services
from zktx.client.api import ExchangeApi
from zktx.client.partner import PartnerClient
from zktx.client.state import LocalState
from zktx.datasets import make_dataset
from zktx.inprocess import DjangoClientTransport
from zktx.models import AuditBundle, EpochEvaluation
from zktx.protocol.selectors import Selector, normalize_many

_TEMPLATES: dict[str, Path] = {}


def _template(name: str) -> Path:
    """A client state directory with fixed seeds and its BLS public key and PoP computed (once)."""
    if name not in _TEMPLATES:
        root = Path(tempfile.mkdtemp(prefix=f"zktx-client-{name}-"))
        atexit.register(shutil.rmtree, root, True)
        state = LocalState(root).ensure()
        for fname, label in (("identity.key", "identity"), ("bls.key", "bls"), ("session.key", "session")):
            seed = hashlib.sha256(f"zktx-tests/{name}/{label}".encode()).hexdigest()
            state._write(fname, seed.encode() + b"\n")
        PartnerClient(None, state).bls_public()
        _TEMPLATES[name] = root
    return _TEMPLATES[name]


def client_state(name: str, dest: Path) -> LocalState:
    shutil.copytree(_template(name), dest)
    return LocalState(dest).ensure()


def api_for(user: Any) -> ExchangeApi:
    _, token = accounts.api_token_create(actor=user, user=user, name="zktx tests")
    return ExchangeApi(DjangoClientTransport(), token)


@dataclass
class Env:
    world: Any
    holder: PartnerClient  # partner_a
    querier: PartnerClient  # partner_b
    operator: ExchangeApi
    pilot: dict
    tmp: Path


def make_env(world: Any, tmp: Path, *, name: str = "T", k: int = 3, min_holder_set: int = 50, min_query: int = 8,
             max_query: int = 256, query_budget: int = 50, min_novel: int = 4, selector_type: str = "phone",
             holder: Any = None, querier: Any = None, register: bool = True, share_pepper: bool = True,
             extra_users: dict | None = None) -> Env:
    """A pilot ``name`` (holder: partner_a, querier: partner_b by default) with both partners' clients."""
    users = {world.partner_a.pk: world.users["partner_user"], world.partner_b.pk: world.partner_b_user,
             **(extra_users or {})}
    holder_org, querier_org = holder or world.partner_a, querier or world.partner_b
    h = PartnerClient(api_for(users[holder_org.pk]), client_state(f"{holder_org.slug}", tmp / f"{name}-h"))
    q = PartnerClient(api_for(users[querier_org.pk]), client_state(f"{querier_org.slug}", tmp / f"{name}-q"))
    operator = api_for(world.users["admin"])
    pilot = operator.call("POST", "pilots", {
        "name": name, "holder": holder_org.slug, "querier": querier_org.slug, "k": k, "selector_type": selector_type,
        "min_holder_set": min_holder_set, "min_query": min_query, "max_query": max_query, "query_budget": query_budget,
        "min_novel": min_novel, "epoch_seconds": 3600})
    if register:
        h.register_keys()
        q.register_keys()
    if share_pepper:
        h.pepper_init(name)
        h.pepper_export(name, tmp / f"{name}-pepper.hex")
        q.pepper_import(name, tmp / f"{name}-pepper.hex")
    return Env(world, h, q, operator, pilot, tmp)


def drain(*, capacity: int | None = None) -> int:
    """What the ``zktx`` workers do: commit epochs, serve the fair queue, export bundles; then sequence the log."""
    from witness import services as witness

    for ev in EpochEvaluation.objects.filter(status=EpochEvaluation.Status.VERIFYING):
        services.epoch_commit_run(evaluation_id=ev.pk)
    served = services.queue_process(limit=capacity)
    for b in AuditBundle.objects.filter(status__in=[AuditBundle.Status.DRAFTING, AuditBundle.Status.SEALING]):
        services.bundle_export_run(bundle_id=b.pk)
    witness.sequence_until_idle()
    return served


def selectors(raw: list[str], kind: str = "phone") -> list[Selector]:
    out, rejected = normalize_many(kind, raw, strict=False)
    assert not rejected
    return out


def start_epoch(env: Env, run: str | None = None) -> str:
    e = env.operator.start_epoch(env.pilot["id"], run=run)
    env.holder.setup_epoch(e["id"])
    env.querier.setup_epoch(e["id"])
    env.holder.setup_epoch(e["id"])
    return e["id"]


def open_epoch(env: Env, holder_raw: list[str], *, kind: str = "phone", run: str | None = None) -> str:
    """Start an epoch and take it to ``open``: headers signed, holder set, querier evaluation, commit."""
    eid = start_epoch(env, run)
    env.holder.upload_holder_set(eid, selectors(holder_raw, kind))
    assert env.querier.answer_pending() == {"setup": 0, "epoch": 1, "query": 0, "errors": 0}
    drain()
    assert env.operator.epoch(eid)["status"] == "open"
    return eid


def dataset(seed: int = 1, *, holder_size: int = 200, n_queries: int = 6, query_size: int = 16, k: int = 3, **kw: Any):
    return make_dataset(seed=seed, holder_size=holder_size, n_queries=n_queries, query_size=query_size, k=k, **kw)


def raw_request(env: Env, epoch_id: str, raw: list[str], *, query_id: str, kind: str = "phone") -> dict:
    """A valid signed query request (not submitted), built by the querier's protocol object."""
    querier = env.querier._role_obj(epoch_id)
    return querier.make_query(selectors(raw, kind), query_id=query_id)
