"""Serve Trust Fabric over ASGI (uvicorn): HTTP and websockets.

Embedded mode: a Celery worker and beat run in threads of this process. Production mode with
``--with-workers``: worker and beat run as child processes. Ctrl-C stops everything.

``--workers N`` runs N ASGI worker processes (uvicorn's supervisor stays in this process and spawns
them: a spawned process imports only ``trustfabric.asgi`` and never runs this command, so Celery
threads or processes are started here, once, and never in an ASGI worker).  Production mode only:
embedded mode keeps its task queue (memory broker), its cache and its channel layer inside one
process, see :data:`EMBEDDED_ONE_PROCESS`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

EMBEDDED_ONE_PROCESS = (
    "--workers {n}: embedded mode serves from one process. Its Celery broker, cache and channel layer live "
    "in process memory: tasks queued by a request in a second process would never reach the worker threads, "
    "a grant issued or revoked in one process would stay unseen by the others' grant cache for up to a "
    "minute, and live updates would reach only the browsers connected to the same process. Set DATABASE_URL "
    "and REDIS_URL (production mode) to run several worker processes."
)


class Command(BaseCommand):
    help = "Run the app (ASGI) with its background workers."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="do not start any Celery worker")
        parser.add_argument(
            "--with-workers", action="store_true", help="production mode: start worker processes"
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="ASGI worker processes (production mode; embedded mode runs 1)"
        )

    def handle(self, *args, host: str, port: int, no_worker: bool, with_workers: bool, workers: int = 1, **options):
        import uvicorn

        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if workers > 1 and settings.TF_EMBEDDED:
            raise CommandError(EMBEDDED_ONE_PROCESS.format(n=workers))

        embedded_workers = []
        children: list[subprocess.Popen] = []
        if not no_worker:
            if settings.TF_EMBEDDED:
                from trustfabric.worker import start_embedded_workers

                embedded_workers = start_embedded_workers(
                    beat=True, schedule_path=str(settings.VAR_DIR / "celerybeat-schedule")
                )
                names = ", ".join(w.hostname for w in embedded_workers)
                self.stdout.write(f"embedded workers + beat running ({names})")
            elif with_workers:
                from trustfabric.worker import WORKER_GROUPS

                base = [sys.executable, "-m", "celery", "-A", "trustfabric"]
                for name, queues in WORKER_GROUPS:  # replays get their own worker process
                    children.append(subprocess.Popen(
                        [*base, "worker", "-Q", ",".join(queues), "-n", f"{name}@%h", "-l", "WARNING", "-c", "1"]
                    ))
                children.append(
                    subprocess.Popen(
                        [*base, "beat", "-l", "WARNING", "-s", str(settings.VAR_DIR / "celerybeat-schedule")]
                    )
                )
                self.stdout.write(f"worker and beat processes started (pids {[c.pid for c in children]})")
        processes = f" ({workers} worker processes)" if workers > 1 else ""
        self.stdout.write(
            f"Trust Fabric ({settings.TF_MODE} mode) on http://{host}:{port}/{processes}  — Ctrl-C stops everything"
        )
        try:
            uvicorn.run(
                "trustfabric.asgi:application",
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                ws="websockets-sansio" if _has_sansio() else "auto",
                proxy_headers=settings.RUNTIME.behind_tls,
                workers=workers,
            )
        finally:
            for worker in embedded_workers:
                worker.stop()
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("stopped")


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return os.environ.get("TF_WS_IMPL", "") != "legacy"
