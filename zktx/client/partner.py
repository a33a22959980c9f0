"""The partner's side of ZK-TX: its secrets never leave this process.

What goes to the exchange: public keys (identity, BLS with proof of possession, per-session VOPRF
keys), the pepper *id*, signatures, blinded elements and evaluations with proofs. What stays here:
the identity, BLS and session seeds, the pepper roots and the selectors (docs/zktx-protocol.md §1).

A partner checks what it signs: the session header (its own key, the pepper id, the ids and the
pilot's policy) and the bundle core (its own BLS key, the pinned exchange key). Verdicts come as
receipts signed by the exchange, with the witness-log inclusion proof of the transcript digest;
:meth:`PartnerClient.verdict` checks both. Transcripts themselves go to auditors only (they hold
the count and the other side's evaluation).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from witness.tlog import merkle
from witness.tlog.checkpoint import open_checkpoint
from witness.tlog.errors import TlogError
from witness.tlog.note import Ed25519Verifier
from witness.tlog.statement import parse_statement
from zktx import wire
from zktx.client.api import ApiError, ExchangeApi
from zktx.client.state import LocalState, StateError
from zktx.protocol.errors import ProtocolError
from zktx.protocol.psi import Holder, Querier, derive_session_keypair, sign_session_header
from zktx.protocol.selectors import EpochPepper, Selector, normalize_many
from zktx.protocol.transcript import IdentityKey, Policy, SessionHeader, b64d, b64e, verify_signature, without

Log = Callable[[str], None]


def load_selectors(path: str | Path, selector_type: str, *, default_country_code: str | None = None) -> tuple[list[Selector], int]:
    """Read raw selectors (one per line), normalise them; returns (distinct selectors, rejected lines)."""
    lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    selectors, rejected = normalize_many(selector_type, lines, default_country_code=default_country_code, strict=False)
    return selectors, len(rejected)


@dataclass
class VerdictCheck:
    """A verdict as the partner verified it."""

    query: str
    query_id: str
    verdict: str | None
    k: int | None
    receipt_valid: bool = False
    logged: bool = False
    leaf_index: int | None = None
    tree_size: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.receipt_valid and self.logged and not self.problems


def check_verdict(resp: dict[str, Any], *, exchange_identity: bytes, statement_key: str | None, log_key: str,
                  query_pk: str = "") -> VerdictCheck:
    """Check a verdict answer: the receipt's exchange signature, the logged statement, its inclusion proof."""
    receipt = resp.get("receipt") or {}
    out = VerdictCheck(query_pk, str(receipt.get("query_id", "")), receipt.get("verdict"), receipt.get("k"))
    if not receipt:
        out.problems.append(f"no receipt yet (status {resp.get('status')})")
        return out
    try:
        verify_signature(exchange_identity, "exchange", without(receipt, "signature"),
                         b64d(receipt.get("signature"), "$.receipt.signature"), "$.receipt.signature")
        out.receipt_valid = True
    except ProtocolError as exc:
        out.problems.append(f"receipt: {exc.code}")
    witness = resp.get("witness") or {}
    leaf_text = witness.get("statement")
    if not leaf_text:
        out.problems.append("the transcript statement is not in the log yet")
        return out
    leaf = leaf_text.encode()
    try:
        st = parse_statement(leaf, trusted_signers={statement_key} if statement_key else None)
    except TlogError as exc:
        out.problems.append(f"statement: {exc}")
        return out
    body = st.body
    expected = {"transcript_digest": b64d(receipt["transcript_digest"]).hex(), "verdict": receipt["verdict"],
                "query_id": receipt["query_id"], "k": receipt["k"], "session_id": receipt["session_id"]}
    if st.type != "zktx.transcript":
        out.problems.append(f"statement type {st.type}")
    for name, value in expected.items():
        if body.get(name) != value:
            out.problems.append(f"statement {name} differs from the receipt")
    if body.get("receipt_digest") != hashlib.sha256(_canonical(receipt)).hexdigest():
        out.problems.append("statement receipt_digest differs from the receipt")
    inc = witness.get("inclusion")
    if not inc:
        out.problems.append("no inclusion proof yet (the log has not sequenced the statement)")
        return out
    try:
        checkpoint, _ = open_checkpoint(inc["checkpoint"].encode(), [Ed25519Verifier.from_key_string(log_key)])
        if inc["tree_size"] != checkpoint.size:
            raise TlogError("tree size is not the checkpoint's")
        merkle.verify_inclusion(merkle.leaf_hash(leaf), inc["leaf_index"], inc["tree_size"],
                                [bytes.fromhex(h) for h in inc["proof"]], checkpoint.root_hash)
        out.logged, out.leaf_index, out.tree_size = True, inc["leaf_index"], inc["tree_size"]
    except (TlogError, KeyError, ValueError, TypeError) as exc:
        out.problems.append(f"inclusion: {exc}")
    return out


def _canonical(obj: Any) -> bytes:
    from zktx.protocol.transcript import canonical_bytes

    return canonical_bytes(obj)


class PartnerClient:
    """One partner organization's client. ``workers``: threads for blinding and evaluating."""

    def __init__(self, api: ExchangeApi | None, state: LocalState, *, workers: int = 1, log: Log | None = None,
                 min_k: int = 0) -> None:
        self.api: ExchangeApi = api  # type: ignore[assignment]  # None only for local commands (init, pepper)
        self.state = state
        self.workers = workers
        self.log = log or (lambda _msg: None)
        self.min_k = min_k
        self._roles: dict[str, Holder | Querier] = {}
        self._epochs: dict[str, dict[str, Any]] = {}
        self._bls_sk = None

    # ------------------------------------------------------------------ keys
    def init(self) -> dict[str, str]:
        """Create the local secrets (idempotent); returns the public identity key."""
        self.state.ensure()
        seed = self.state.identity_seed(create=True)
        self.state.bls_seed(create=True)
        self.state.session_seed(create=True)
        return {"identity_key": b64e(IdentityKey(seed).public)}

    @property
    def identity(self) -> IdentityKey:
        return IdentityKey(self.state.identity_seed())

    def _bls(self):
        from zktx.bundle import bls

        if self._bls_sk is None:
            self._bls_sk = bls.keygen(self.state.bls_seed())
        return bls, self._bls_sk

    def bls_public(self) -> tuple[bytes, bytes]:
        """BLS public key and proof of possession (computed once, kept in config.json: both public)."""
        cfg = self.state.config()
        if cfg.get("bls_public_key") and cfg.get("bls_pop"):
            return bytes.fromhex(cfg["bls_public_key"]), bytes.fromhex(cfg["bls_pop"])
        bls, sk = self._bls()
        pk, pop = bls.public_key(sk), bls.pop_prove(sk)
        self.state.update_config(bls_public_key=pk.hex(), bls_pop=pop.hex())
        return pk, pop

    def exchange_info(self, *, accept_change: bool = False) -> dict[str, Any]:
        """The exchange's public keys, pinned on first use (a change is refused unless accepted)."""
        info = self.api.exchange()
        pinned = self.state.config().get("exchange")
        fields = ("identity_key", "statement_verifier_key", "log_verifier_key", "exchange_verifier_key")
        current = {k: info[k] for k in fields}
        if pinned and pinned != current and not accept_change:
            raise StateError("the exchange's keys differ from the pinned ones; check out of band, then re-pin "
                             "with --accept-key-change")
        if pinned != current:
            self.state.update_config(exchange=current)
        if info.get("organization"):
            self.state.update_config(organization=info["organization"])
        return info

    def _pinned(self) -> dict[str, str]:
        pinned = self.state.config().get("exchange")
        return pinned or {k: v for k, v in self.exchange_info().items() if k != "organization"}

    def register_keys(self) -> dict[str, Any]:
        info = self.exchange_info()
        org = info.get("organization")
        if not org or info.get("organization_kind") != "partner":
            raise StateError("the token does not belong to a partner organization")
        seed = self.state.identity_seed()
        pk, pop = self.bls_public()
        body = wire.registration_body(organization=org, identity_key=IdentityKey(seed).public, bls_public_key=pk,
                                      bls_pop=pop)
        key = self.api.register_key(identity_key=body["identity_key"], bls_public_key=body["bls_public_key"],
                                    bls_pop=body["bls_pop"], signature=wire.sign_registration(seed, body))
        self.log(f"registered keys for {org}: identity {body['identity_key'][:12]}…, BLS {pk.hex()[:12]}…")
        return key

    # ------------------------------------------------------------------ peppers
    def pepper_init(self, pilot: str) -> None:
        self.state.pepper_create(pilot)

    def pepper_export(self, pilot: str, path: str | Path) -> None:
        """Write the pilot's pepper root to ``path`` (mode 0600) for the partner — out of band only."""
        import os

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.state.pepper_root(pilot).hex() + "\n")

    def pepper_import(self, pilot: str, path: str | Path) -> None:
        raw = Path(path).read_text().strip()
        try:
            root = bytes.fromhex(raw)
        except ValueError as exc:
            raise StateError("the pepper file does not hold hex") from exc
        self.state.pepper_set(pilot, root)

    # ------------------------------------------------------------------ epochs
    def _epoch(self, epoch_id: str, *, fresh: bool = False) -> dict[str, Any]:
        if fresh or epoch_id not in self._epochs or not self._epochs[epoch_id].get("header"):
            self._epochs[epoch_id] = self.api.epoch(epoch_id)
        return self._epochs[epoch_id]

    def _secrets(self, e: dict[str, Any]) -> tuple[str, Any, EpochPepper]:
        role = e.get("my_role")
        if role not in ("holder", "querier"):
            raise StateError(f"this organization has no role in epoch {e['id']}")
        kp = derive_session_keypair(self.state.session_seed(), session_id=e["session_id"], epoch=e["number"], role=role)
        pepper = EpochPepper.derive(self.state.pepper_root(e["pilot"]), e["number"])
        return role, kp, pepper

    def join(self, epoch_id: str) -> dict[str, Any]:
        e = self._epoch(epoch_id, fresh=True)
        role, kp, pepper = self._secrets(e)
        out = self.api.join(epoch_id, b64e(kp.pk.encode()), b64e(pepper.pepper_id))
        self._epochs[epoch_id] = out
        self.log(f"joined epoch {e['pilot']}#{e['number']} as {role}")
        return out

    def check_header(self, e: dict[str, Any]) -> SessionHeader:
        """Refuse to sign anything but our key, our pepper id, the pilot's ids and policy."""
        header = SessionHeader.from_json(e["header"])
        role, kp, pepper = self._secrets(e)
        pilot = self.api.pilot(e["pilot_id"])
        problems = []
        if header.session_id != e["session_id"] or header.epoch != e["number"]:
            problems.append("session id or epoch number")
        if (header.holder, header.querier) != (pilot["holder"], pilot["querier"]):
            problems.append("partner ids")
        if (header.holder_key if role == "holder" else header.querier_key) != kp.pk.encode():
            problems.append(f"the {role} key is not ours")
        if header.pepper_id != pepper.pepper_id:
            problems.append("pepper id")
        if header.policy != Policy(**e["policy"]) or (e.get("purpose") == "regular" and header.policy != Policy(**pilot["policy"])):
            problems.append("policy")
        if header.policy.k < self.min_k:
            problems.append(f"k = {header.policy.k} is below our minimum {self.min_k}")
        if problems:
            raise StateError(f"refusing to sign the header of epoch {e['id']}: {', '.join(problems)}")
        return header

    def sign(self, epoch_id: str) -> dict[str, Any]:
        e = self._epoch(epoch_id, fresh=True)
        header = self.check_header(e)
        role = e["my_role"]
        out = self.api.sign(epoch_id, b64e(sign_session_header(header, self.identity, role)))
        self._epochs[epoch_id] = out
        self.log(f"signed header of epoch {e['pilot']}#{e['number']} ({b64e(header.digest)[:12]}…)")
        return out

    def setup_epoch(self, epoch_id: str) -> dict[str, Any]:
        """Join and sign as needed; returns the epoch as the exchange now sees it."""
        e = self._epoch(epoch_id, fresh=True)
        for _ in range(3):
            if e.get("next_action") == "join":
                e = self.join(epoch_id)
            elif e.get("next_action") == "sign":
                e = self.sign(epoch_id)
            else:
                break
        return e

    def _counterparty(self, e: dict[str, Any], role: str) -> bytes:
        other = "querier" if role == "holder" else "holder"
        slug = e[other]
        key_hex = (e.get("identities") or {}).get(other)
        if not key_hex:
            raise StateError(f"{slug} has no registered identity key yet")
        pins = self.state.config().get("counterparties", {})
        if slug in pins and pins[slug] != key_hex and e.get("signatures", {}).get(other) is None:
            raise StateError(f"the identity key of {slug} changed; confirm it out of band")
        if pins.get(slug) != key_hex:
            self.state.update_config(counterparties={**pins, slug: key_hex})
        return bytes.fromhex(key_hex)

    def _role_obj(self, epoch_id: str) -> Holder | Querier:
        if epoch_id in self._roles:
            return self._roles[epoch_id]
        e = self._epoch(epoch_id)
        if not e.get("header"):
            e = self._epoch(epoch_id, fresh=True)
        header = SessionHeader.from_json(e["header"])
        role, kp, pepper = self._secrets(e)
        cls = Holder if role == "holder" else Querier
        other_kw = "querier_identity" if role == "holder" else "holder_identity"
        obj = cls(header=header, keypair=kp, pepper=pepper, identity=self.identity,
                  **{other_kw: self._counterparty(e, role)})
        self._roles[epoch_id] = obj
        return obj

    def upload_holder_set(self, epoch_id: str, selectors: Iterable[Selector]) -> dict[str, Any]:
        e = self.setup_epoch(epoch_id)
        holder = self._role_obj(epoch_id)
        if not isinstance(holder, Holder):
            raise StateError("only the holder uploads the holder set")
        msg = holder.blind_set(list(selectors), workers=self.workers)
        out = self.api.upload_holder_set(epoch_id, msg)
        self.log(f"uploaded holder set of {msg['size']} blinded elements to {e['pilot']}#{e['number']}")
        return out

    def evaluate_holder_set(self, epoch_id: str) -> dict[str, Any]:
        querier = self._role_obj(epoch_id)
        if not isinstance(querier, Querier):
            raise StateError("only the querier evaluates the holder set")
        msg = querier.evaluate_holder_set(self.api.holder_set(epoch_id), workers=self.workers)
        out = self.api.submit_epoch_evaluation(epoch_id, msg)
        self.log(f"evaluated the holder set of epoch {epoch_id[:8]} ({len(msg['proofs'])} proof chunk(s))")
        return out

    # ------------------------------------------------------------------ queries
    def make_query(self, epoch_id: str, selectors: Sequence[Selector], *, query_id: str | None = None,
                   rerun_of: str | None = None) -> dict[str, Any]:
        """Blind, sign and submit a query; raises :class:`ApiError` (429 has ``retry_after``)."""
        querier = self._role_obj(epoch_id)
        if not isinstance(querier, Querier):
            raise StateError("only the querier asks queries")
        qid = query_id or uuid.uuid4().hex
        request = querier.make_query(selectors, query_id=qid, workers=self.workers)
        out = self.api.submit_query(epoch_id, request, rerun_of=rerun_of)
        e = self._epoch(epoch_id)
        self.state.save_query(qid, {"query": out["id"], "epoch": epoch_id, "pilot": e["pilot"],
                                    "selectors": [[s.type, s.value] for s in selectors]})
        return out

    def make_query_waiting(self, epoch_id: str, selectors: Sequence[Selector], *, max_wait: float = 120.0,
                           sleep: Callable[[float], None] = time.sleep, **kw: Any) -> tuple[dict[str, Any], int]:
        """:meth:`make_query`, honouring 429 ``Retry-After`` up to ``max_wait`` seconds; returns (query, 429s)."""
        waited, refused = 0.0, 0
        while True:
            try:
                return self.make_query(epoch_id, selectors, **kw), refused
            except ApiError as exc:
                if exc.status != 429 or exc.code != "rate_limited" or waited + (exc.retry_after or 1) > max_wait:
                    raise
                refused += 1
                sleep(exc.retry_after or 1)
                waited += exc.retry_after or 1

    def answer_pending(self, *, limit: int = 50) -> dict[str, int]:
        """Answer what waits for us: join and sign new epochs (after checking the header), evaluate
        holder sets (querier) and queries (holder). Uploading the holder set stays explicit."""
        done = {"setup": 0, "epoch": 0, "query": 0, "errors": 0}
        for item in self.api.pending(limit):
            try:
                if item["kind"] == "setup":
                    self.setup_epoch(item["epoch"])
                elif item["kind"] == "epoch":
                    self.evaluate_holder_set(item["epoch"])
                else:
                    holder = self._role_obj(item["epoch"])
                    if not isinstance(holder, Holder):
                        continue
                    msg = holder.evaluate_query(item["request"], workers=self.workers)
                    self.api.submit_query_evaluation(item["query"], msg)
                done[item["kind"]] += 1
            except (ApiError, ProtocolError, StateError) as exc:
                done["errors"] += 1
                self.log(f"could not answer {item['kind']} {item.get('query') or item.get('epoch')}: {exc}")
        return done

    def verdict(self, query_pk: str) -> VerdictCheck:
        pinned = self._pinned()
        resp = self.api.verdict(query_pk)
        return check_verdict(resp, exchange_identity=b64d(pinned["identity_key"]),
                             statement_key=pinned.get("statement_verifier_key"), log_key=pinned["log_verifier_key"],
                             query_pk=query_pk)

    # ------------------------------------------------------------------ appeals
    def appeal(self, query_pk: str, reason: str) -> dict[str, Any]:
        return self.api.file_appeal(query_pk, reason)

    def consent(self, appeal_id: str) -> dict[str, Any]:
        return self.api.consent(appeal_id)

    def rerun(self, appeal_id: str, *, holder_selectors: Sequence[Selector] | None = None) -> dict[str, Any]:
        """Take part in an appeal's re-run epoch: set it up; the holder uploads its set again, the
        querier (once the epoch is open) asks the disputed query again from its local record."""
        a = self.api.appeal(appeal_id)
        epoch_id = a.get("rerun_epoch")
        if not epoch_id:
            raise StateError("the appeal has no re-run epoch yet (both consents, then the operator starts it)")
        e = self.setup_epoch(epoch_id)
        if e["my_role"] == "holder" and e["status"] == "holder_set_pending":
            if holder_selectors is None:
                raise StateError("the holder re-uploads its set for the re-run: give the selectors")
            return self.upload_holder_set(epoch_id, holder_selectors)
        if e["my_role"] == "querier" and e["status"] == "open":
            original = self.api.query(a["query"])
            record = self.state.load_query(original["query_id"])
            selectors = [Selector(t, v) for t, v in record["selectors"]]
            return self.make_query(epoch_id, selectors, rerun_of=a["query"])
        return e

    # ------------------------------------------------------------------ bundles
    def sign_acceptance(self, bundle_id: str) -> dict[str, Any]:
        """Review the bundle's manifest core and sign its acceptance with our BLS key."""
        from zktx.bundle.format import acceptance_message

        b = self.api.bundle(bundle_id)
        core = self.api.bundle_core(bundle_id)
        digest = hashlib.sha256(core).digest()
        if b.get("core_digest") != digest.hex():
            raise StateError("the core does not match the bundle's core digest")
        doc = json.loads(core)
        org = self.state.config().get("organization") or self.exchange_info()["organization"]
        pk, _pop = self.bls_public()
        mine = [p for p in doc.get("partners", []) if p.get("id") == org]
        problems = []
        if doc.get("schema") != "zktx-bundle/1":
            problems.append("schema")
        if len(mine) != 1 or mine[0].get("bls_public_key") != pk.hex():
            problems.append("our BLS key is not listed as ours")
        if doc.get("exchange", {}).get("public_key") != b64d(self._pinned()["identity_key"]).hex():
            problems.append("the exchange key is not the pinned one")
        if not doc.get("files"):
            problems.append("no files")
        if problems:
            raise StateError(f"refusing to accept bundle {bundle_id}: {', '.join(problems)}")
        bls, sk = self._bls()
        sig = bls.sign(sk, acceptance_message(digest))
        out = self.api.accept_bundle(bundle_id, sig.hex())
        self.log(f"accepted bundle {b['run']} ({len(doc['files'])} files, core {digest.hex()[:16]}…)")
        return out
