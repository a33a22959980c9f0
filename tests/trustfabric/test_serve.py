"""``manage.py serve --workers N``: several ASGI processes in production mode only; background workers
are started once, by the serving process, never per ASGI worker."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trustfabric.management.commands import serve


@pytest.fixture
def started(monkeypatch):
    """Record what serve would start instead of starting it."""
    calls: dict = {"uvicorn": [], "embedded": 0, "popen": []}

    def fake_run(app, **kwargs):
        calls["uvicorn"].append((app, kwargs))

    def fake_embedded(**kwargs):
        calls["embedded"] += 1
        return []

    class FakePopen:
        pid = 4242

        def __init__(self, args, **kwargs):
            calls["popen"].append(args)

        def send_signal(self, sig):
            pass

        def wait(self, timeout=None):
            return 0

    import uvicorn

    from trustfabric import worker

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(worker, "start_embedded_workers", fake_embedded)
    monkeypatch.setattr(serve.subprocess, "Popen", FakePopen)
    return calls


def test_embedded_mode_refuses_several_worker_processes(settings, started):
    settings.TF_EMBEDDED = True
    with pytest.raises(CommandError) as err:
        call_command("serve", "--workers", "2")
    assert "embedded mode serves from one process" in str(err.value)
    assert "DATABASE_URL" in str(err.value)
    # refused before anything was started
    assert started == {"uvicorn": [], "embedded": 0, "popen": []}


def test_workers_must_be_positive(settings, started):
    settings.TF_EMBEDDED = False
    with pytest.raises(CommandError):
        call_command("serve", "--workers", "0")
    assert started["uvicorn"] == []


def test_embedded_mode_serves_one_process_with_its_worker_threads(settings, started):
    settings.TF_EMBEDDED = True
    call_command("serve", "--port", "8765")
    assert started["embedded"] == 1
    (app, kwargs), = started["uvicorn"]
    assert app == "trustfabric.asgi:application" and kwargs["workers"] == 1


def test_production_mode_starts_background_workers_once_for_all_asgi_processes(settings, started):
    settings.TF_EMBEDDED = False
    call_command("serve", "--workers", "3", "--with-workers")
    (app, kwargs), = started["uvicorn"]
    # uvicorn spawns the ASGI workers from an import string: they import the app, never this command
    assert app == "trustfabric.asgi:application" and kwargs["workers"] == 3
    from trustfabric.worker import WORKER_GROUPS

    assert len(started["popen"]) == len(WORKER_GROUPS) + 1  # one per queue group, and beat: not per ASGI worker
    assert started["embedded"] == 0
