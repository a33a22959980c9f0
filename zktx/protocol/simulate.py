"""A whole ZK-TX PSI session in one process: for tests, benchmarks and demos.

:func:`new_scenario` creates the three identities, both per-session key pairs, the pepper and
the signed session header; :meth:`Scenario.run_epoch` and :meth:`Scenario.run_query` play the
message flow of ``docs/zktx-protocol.md`` §4 with each role seeing only its own messages.
Secrets are random unless seeds are given (reproducible tests).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from zktx.protocol.chunkproof import Progress
from zktx.protocol.psi import (
    EpochState,
    Exchange,
    Holder,
    Querier,
    derive_session_keypair,
    new_session_header,
    sign_session_header,
)
from zktx.protocol.selectors import EpochPepper, Selector
from zktx.protocol.transcript import IdentityKey, Policy, SessionHeader, SignedSessionHeader
from zktx.protocol.verify import PartyKeys


@dataclass
class Scenario:
    """Everything of one session; ``keys`` is what an auditor is given."""

    header: SessionHeader
    signed_header: SignedSessionHeader
    holder: Holder
    querier: Querier
    exchange: Exchange
    keys: PartyKeys
    epoch: EpochState | None = None
    messages: dict[str, Any] = field(default_factory=dict)

    def run_epoch(
        self,
        holder_selectors: Iterable[Selector],
        *,
        workers: int = 1,
        chunk_size: int | None = None,
        progress: Progress | None = None,
    ) -> EpochState:
        holder_set = self.holder.blind_set(holder_selectors, workers=workers, progress=progress)
        evaluation = self.querier.evaluate_holder_set(
            holder_set, workers=workers, chunk_size=chunk_size, progress=progress
        )
        self.epoch = self.exchange.commit_epoch(self.signed_header, holder_set, evaluation, progress=progress)
        return self.epoch

    def run_query(
        self,
        query_selectors: Iterable[Selector],
        *,
        query_id: str | None = None,
        workers: int = 1,
        chunk_size: int | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        if self.epoch is None:
            raise RuntimeError("run_epoch first")
        qid = query_id or os.urandom(8).hex()
        request = self.querier.make_query(query_selectors, query_id=qid, workers=workers, progress=progress)
        evaluation = self.holder.evaluate_query(
            request, workers=workers, chunk_size=chunk_size, progress=progress
        )
        return self.exchange.match(self.epoch, request, evaluation, progress=progress)


def _seed(base: bytes | None, label: str) -> bytes:
    if base is None:
        return os.urandom(32)
    return hashlib.sha256(base + label.encode()).digest()


def new_scenario(
    policy: Policy,
    *,
    session_id: str = "session-1",
    epoch: int = 1,
    seed: bytes | None = None,
    holder: str = "partner-holder",
    querier: str = "partner-querier",
) -> Scenario:
    """Identities, per-session keys (RFC 9497 ``DeriveKeyPair`` bound to the session), pepper, header."""
    ids = {role: IdentityKey(_seed(seed, f"identity-{role}")) for role in ("holder", "querier", "exchange")}
    pepper = EpochPepper.derive(_seed(seed, "pepper-root"), epoch)
    hkp = derive_session_keypair(_seed(seed, "holder-key"), session_id=session_id, epoch=epoch, role="holder")
    qkp = derive_session_keypair(
        _seed(seed, "querier-key"), session_id=session_id, epoch=epoch, role="querier"
    )
    header = new_session_header(
        session_id=session_id,
        epoch=epoch,
        holder=holder,
        querier=querier,
        holder_key=hkp.pk,
        querier_key=qkp.pk,
        pepper=pepper,
        policy=policy,
    )
    signed = SignedSessionHeader(
        header,
        sign_session_header(header, ids["holder"], "holder"),
        sign_session_header(header, ids["querier"], "querier"),
    )
    keys = PartyKeys(ids["holder"].public, ids["querier"].public, ids["exchange"].public)
    return Scenario(
        header=header,
        signed_header=signed,
        holder=Holder(
            header=header, keypair=hkp, pepper=pepper, identity=ids["holder"], querier_identity=keys.querier
        ),
        querier=Querier(
            header=header, keypair=qkp, pepper=pepper, identity=ids["querier"], holder_identity=keys.holder
        ),
        exchange=Exchange(ids["exchange"]),
        keys=keys,
    )


__all__ = ["Scenario", "new_scenario"]
