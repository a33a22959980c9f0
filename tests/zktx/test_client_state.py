"""The partner client's local state and command line (no Django, no exchange needed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from tests.paths import REPO_ROOT
from zktx.client.__main__ import main
from zktx.client.partner import PartnerClient, load_selectors
from zktx.client.state import LocalState, StateError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_creates_secrets_readable_only_by_the_owner_and_is_idempotent(tmp_path, capsys):
    state_dir = tmp_path / "northwind"
    assert main(["--state", str(state_dir), "--url", "http://127.0.0.1:1", "init"]) == 0
    first = capsys.readouterr().out
    assert main(["--state", str(state_dir), "init"]) == 0
    assert capsys.readouterr().out == first  # same identity key: nothing regenerated
    for name in ("identity.key", "bls.key", "session.key"):
        assert _mode(state_dir / name) == 0o600
    assert _mode(state_dir) == 0o700
    assert LocalState(state_dir).config()["url"] == "http://127.0.0.1:1"


def test_secrets_readable_by_others_are_refused(tmp_path):
    state = LocalState(tmp_path / "s").ensure()
    PartnerClient(None, state).init()
    os.chmod(state.root / "identity.key", 0o644)
    with pytest.raises(StateError, match="chmod 600"):
        state.identity_seed()


def test_pepper_moves_between_partners_only_through_a_private_file(tmp_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    out = tmp_path / "pepper.hex"
    assert main(["--state", a, "pepper", "init", "A"]) == 0
    assert main(["--state", a, "pepper", "export", "A", str(out)]) == 0
    assert _mode(out) == 0o600
    assert main(["--state", a, "pepper", "export", "A", str(out)]) == 2  # never overwrites
    assert main(["--state", b, "pepper", "import", "A", str(out)]) == 0
    assert LocalState(a).pepper_root("A") == LocalState(b).pepper_root("A")
    assert _mode(tmp_path / "b" / "peppers" / "A.key") == 0o600
    assert main(["--state", b, "pepper", "import", "../x", str(out)]) == 2  # no path games in names
    capsys.readouterr()


def test_commands_without_url_or_token_fail_cleanly(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ZKTX_TOKEN", raising=False)
    assert main(["--state", str(tmp_path / "x"), "status"]) == 2
    assert "no exchange URL" in capsys.readouterr().err
    assert main(["--state", str(tmp_path / "x"), "--url", "http://127.0.0.1:1", "status"]) == 2
    assert "no API token" in capsys.readouterr().err


def test_selector_files_are_normalised_and_bad_lines_counted(tmp_path):
    f = tmp_path / "phones.txt"
    f.write_text("+44 20 7946 0018\n0044-20-7946-0018\nnot a phone\n\n+33 1 23 45 67 89\n")
    selectors, rejected = load_selectors(f, "phone")
    assert [s.value for s in selectors] == ["+442079460018", "+33123456789"] and rejected == 1


def test_the_client_and_the_auditor_hook_do_not_import_django():
    code = ("import sys, zktx.client, zktx.client.__main__, zktx.client.audit, zktx.fairness, zktx.datasets, zktx.wire; "
            "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
