"""The partner's local state directory: secrets stay here, in files of mode 0600 (directory 0700).

Layout::

    DIR/config.json            exchange URL, pinned exchange and counterparty keys (public)
    DIR/identity.key           Ed25519 identity seed (hex)           secret
    DIR/bls.key                BLS key-generation seed (hex)         secret
    DIR/session.key            seed of the per-session VOPRF keys    secret
    DIR/token                  API token (optional; ZKTX_TOKEN wins)  secret
    DIR/peppers/<pilot>.key    pepper root shared with the partner    secret
    DIR/queries/<query_id>.json  the query's normalised selectors (for an appeal re-run)  secret

A secret file readable by group or others is refused (as ``var/keys`` on the server).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StateError(Exception):
    pass


class LocalState:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # --- files
    def ensure(self) -> LocalState:
        for sub in (self.root, self.root / "peppers", self.root / "queries"):
            sub.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(sub, 0o700)
        return self

    def _write(self, rel: str, data: bytes, *, exclusive: bool = False) -> None:
        self.ensure()
        path = self.root / rel
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if exclusive and path.exists():
            tmp.unlink()
            raise StateError(f"{path} exists already; refusing to overwrite a secret")
        os.replace(tmp, path)

    def _read(self, rel: str, *, secret: bool = True) -> bytes | None:
        path = self.root / rel
        if not path.exists():
            return None
        if secret and path.stat().st_mode & 0o077:
            raise StateError(f"{path} is readable by group or others; run chmod 600 on it")
        return path.read_bytes()

    def _secret_hex(self, rel: str, *, create: bool, n: int = 32) -> bytes:
        raw = self._read(rel)
        if raw is None:
            if not create:
                raise StateError(f"{self.root / rel} is missing: run 'init' first")
            value = secrets.token_bytes(n)
            self._write(rel, value.hex().encode() + b"\n", exclusive=True)
            return value
        try:
            value = bytes.fromhex(raw.decode().strip())
        except ValueError as exc:
            raise StateError(f"{self.root / rel} does not hold hex") from exc
        if len(value) < 32:
            raise StateError(f"{self.root / rel} holds fewer than 32 bytes")
        return value

    # --- secrets
    def identity_seed(self, *, create: bool = False) -> bytes:
        return self._secret_hex("identity.key", create=create)

    def bls_seed(self, *, create: bool = False) -> bytes:
        return self._secret_hex("bls.key", create=create)

    def session_seed(self, *, create: bool = False) -> bytes:
        return self._secret_hex("session.key", create=create)

    def token(self) -> str | None:
        env = os.environ.get("ZKTX_TOKEN")
        if env:
            return env.strip()
        raw = self._read("token")
        return raw.decode().strip() if raw else None

    def save_token(self, token: str) -> None:
        self._write("token", token.strip().encode() + b"\n")

    @staticmethod
    def _pepper_name(pilot: str) -> str:
        if not _NAME.match(pilot):
            raise StateError(f"bad pilot name {pilot!r}")
        return f"peppers/{pilot}.key"

    def pepper_root(self, pilot: str) -> bytes:
        return self._secret_hex(self._pepper_name(pilot), create=False)

    def has_pepper(self, pilot: str) -> bool:
        return (self.root / self._pepper_name(pilot)).exists()

    def pepper_create(self, pilot: str) -> bytes:
        return self._secret_hex(self._pepper_name(pilot), create=True)

    def pepper_set(self, pilot: str, root: bytes) -> None:
        if len(root) < 32:
            raise StateError("a pepper root is at least 32 random bytes")
        self._write(self._pepper_name(pilot), root.hex().encode() + b"\n")

    # --- public configuration
    def config(self) -> dict[str, Any]:
        raw = self._read("config.json", secret=False)
        return json.loads(raw) if raw else {}

    def update_config(self, **values: Any) -> dict[str, Any]:
        cfg = {**self.config(), **values}
        self._write("config.json", json.dumps(cfg, indent=1, sort_keys=True).encode())
        return cfg

    # --- query records (for appeal re-runs)
    def save_query(self, query_id: str, record: dict[str, Any]) -> None:
        if not _NAME.match(query_id):
            raise StateError("bad query id")
        self._write(f"queries/{query_id}.json", json.dumps(record, sort_keys=True).encode())

    def load_query(self, query_id: str) -> dict[str, Any]:
        if not _NAME.match(query_id):
            raise StateError("bad query id")
        raw = self._read(f"queries/{query_id}.json")
        if raw is None:
            raise StateError(f"no local record of query {query_id}")
        return json.loads(raw)
