"""The one-click demo: seeded from zero in a fresh var directory, served by ``manage.py serve`` (embedded
mode, as ``make demo`` runs it), checked by ``manage.py demo --check`` over HTTP, then stopped with
no process left behind and nothing written outside its var directory."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.paths import REPO_ROOT

pytestmark = pytest.mark.integration


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(var_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["TF_VAR_DIR"] = str(var_dir)  # the demo's embedded default, whatever mode the suite runs in
    return env


def test_the_demo_seeds_serves_and_passes_its_own_checks(tmp_path):
    var = tmp_path / "var"
    env = _env(var)
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=REPO_ROOT, timeout=300)
    seeded = subprocess.run([*manage, "seed_demo"], env=env, cwd=REPO_ROOT, timeout=600, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    for pillar in ("oncall:", "studio:", "pcq:", "zktx:", "compliance:"):
        assert f"seeded {pillar}" in seeded.stdout, seeded.stdout
    again = subprocess.run([*manage, "seed_demo", "--quiet"], env=env, cwd=REPO_ROOT, timeout=300, capture_output=True, text=True)
    assert again.returncode == 0 and "seeded" not in again.stdout  # idempotent

    port = _port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*manage, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the demo server did not become ready")
        check = subprocess.run([*manage, "demo", "--check", "--url", url], env=env, cwd=REPO_ROOT, timeout=600,
                               capture_output=True, text=True)
        print(check.stdout)
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
        assert "FAIL" not in check.stdout and " checks passed." in check.stdout
        for name in ("pages for partner", "decision (decide API)", "replay (job → worker → verdict)", "witness consistency",
                     "≤k query", "audit bundle verified offline"):
            assert name in check.stdout
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail("the demo server did not stop on Ctrl-C")
    left = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(server.pid)], capture_output=True, text=True).stdout
    alive = [line for line in left.splitlines() if line.split()[1:2] and not line.split()[1].startswith("Z")]
    assert alive == [], f"processes of the demo still running: {alive}"  # exited children may wait for a reaper (Z)
    assert {p.name for p in tmp_path.iterdir()} == {"var"}  # everything the demo wrote is under its var directory
