"""LAC benchmark: in-process decisions vs cedarpy, graph constraints, batch decide, HTTP decide under load.

    python bench/lac.py [--http-requests 2000] [--concurrency 8,32] [--workers 1,2]
                        [--production auto|on|off] [--conn-max-age 0|settings]
                        [--skip-micro] [--skip-embedded]

1. ``bench/lac_micro.py`` (in process): decision latency for a 50-policy bundle next to the same
   policies in Cedar (``cedarpy``; target: LAC ≤ 1/3 of cedarpy), and graph-constraint overhead on a
   10k-edge subgraph (target: < 2 ms p95 for all three bounds).
2. Batch decide through ``studio.services.decide_batch`` (decisions logged to the database), and the
   share of one logged decision that goes to the database writes (decision record, SLI bucket).
3. HTTP ``POST /api/lac/decide`` against the real server (``manage.py serve --workers N``, a separate
   process tree), ``--concurrency`` clients with keep-alive, for each ``--workers`` count:
   - embedded mode (SQLite): one process — serve refuses ``--workers`` > 1 there, and says why;
   - production mode (PostgreSQL + Redis + Celery worker processes): ``DATABASE_URL``/``REDIS_URL``
     from the environment, or (``--production auto``, the default) throwaway local servers when
     ``pg_ctl``/``initdb`` and ``redis-server`` are installed.

The clients run in this process, on the same machine: on a small machine they take CPU from the
server, so read the figures as a lower bound and compare configurations measured in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRAPH_P95_TARGET_MS = 2.0
# HTTP decide before this benchmark started a real server: uvicorn in a thread of the benchmark process
# (clients and server sharing one GIL), 1 process, embedded mode, 8 clients
HTTP_BEFORE = {"p95_ms": 126.0, "rps": 92.0, "clients": 8}


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ throwaway PostgreSQL + Redis
@contextlib.contextmanager
def local_servers():
    """Start PostgreSQL and Redis on loopback for the run; yields (DATABASE_URL, REDIS_URL), or None
    when they are not installed.  (As root, PostgreSQL runs as the ``postgres`` user, as in .ci/run.)"""
    pgbins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    pgbin = pgbins[-1] if pgbins else (str(Path(shutil.which("pg_ctl") or "").parent) if shutil.which("pg_ctl") else "")
    redis = shutil.which("redis-server")
    if not pgbin or not Path(pgbin, "initdb").exists() or not redis:
        yield None
        return
    work = Path(tempfile.mkdtemp(prefix="tf-bench-pg."))
    work.chmod(0o755)
    data, run = work / "data", work / "run"
    data.mkdir()
    run.mkdir()
    root = os.geteuid() == 0
    if root:
        for p in (work, data, run):
            shutil.chown(p, "postgres")

    def as_pg(cmd: str) -> subprocess.CompletedProcess:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", cmd] if root else ["/bin/sh", "-c", cmd]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    pgport, redisport = free_port(), free_port()
    redis_proc = None
    started = False
    try:
        r = as_pg(f"{pgbin}/initdb -D {data} -A trust -U postgres")
        if r.returncode:
            print(f"(no production run: initdb failed: {r.stderr.strip()[:200]})")
            yield None
            return
        r = as_pg(f"{pgbin}/pg_ctl -D {data} -o '-p {pgport} -k {run} -c listen_addresses=127.0.0.1 "
                  f"-c max_connections=200' -l {run}/server.log -w start")
        if r.returncode:
            print(f"(no production run: PostgreSQL did not start: {r.stderr.strip()[:200]})")
            yield None
            return
        started = True
        as_pg(f"{pgbin}/createdb -h 127.0.0.1 -p {pgport} -U postgres trustfabric")
        redis_proc = subprocess.Popen([redis, "--port", str(redisport), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", redisport), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
            time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{pgport}/trustfabric", f"redis://127.0.0.1:{redisport}/0"
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        if started:
            as_pg(f"{pgbin}/pg_ctl -D {data} -m fast -w stop")
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------ the service and HTTP runs (a subprocess)
def service_and_http(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustfabric.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from accounts import services as acc
    from studio import services
    from studio.lac.samples import sample_request

    mode = settings.TF_MODE
    db = settings.DATABASES["default"]
    print(f"== {mode} mode ({connections['default'].vendor}, CONN_MAX_AGE {db.get('CONN_MAX_AGE')})")
    req = sample_request(domain="ops.telemetry", data_class="P3", roles=["sre"], context={"purpose": "operations"})
    services.environment("prod")
    for size in (100, 1000):
        items = [{"request": req}] * size
        services.decide_batch(environment_name="prod", items=items)  # warm
        t0 = time.perf_counter()
        rounds = 5
        for _ in range(rounds):
            services.decide_batch(environment_name="prod", items=items)
        dt = time.perf_counter() - t0
        print(f"batch decide ({size}/call, logged): {rounds * size / dt:,.0f} decisions/s")
    db_write_share()

    ops = acc.organization_create(actor="bench", name="Ops", kind="operator", slug=f"bench-{os.getpid()}")
    user = acc.user_create(actor="bench", organization=ops, username=f"pep-{os.getpid()}",
                           password=os.urandom(12).hex(), roles=["oncall"])
    _t, token = acc.api_token_create(actor=user, user=user, name="pep")
    connections.close_all()  # the server processes use the database from here on
    body = json.dumps({"environment": "prod", "request": req, "explain": False}).encode()
    results = []
    for workers in args.workers:
        port = free_port()
        cmd = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        if mode == "production":
            cmd.append("--with-workers")  # Celery worker and beat processes, as deployed
        with tempfile.TemporaryFile("w+") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                if not wait_ready(proc, port, body, token):
                    log.seek(0)
                    out = log.read().strip()
                    refusal = out.splitlines()[-1] if out else f"exit {proc.returncode}"
                    print(f"serve --workers {workers}: not started: {refusal[:160]}{'…' if len(refusal) > 160 else ''}")
                    results.append({"mode": mode, "workers": workers, "refused": refusal})
                    continue
                load(port, body, token, max(args.concurrency), max(200, args.http_requests // 5))  # warm every process
                for clients in args.concurrency:
                    cpu0, busy0, own0 = tree_cpu_seconds(proc.pid), machine_busy_seconds(), time.process_time()
                    r = load(port, body, token, clients, args.http_requests)
                    cpu = tree_cpu_seconds(proc.pid) - cpu0
                    busy, own = machine_busy_seconds() - busy0, time.process_time() - own0
                    r.update(mode=mode, workers=workers, clients=clients, server_cpu_ms=1000 * cpu / max(r["n"], 1),
                             server_cores=cpu / r["seconds"], client_cores=own / r["seconds"],
                             machine_cores=busy / r["seconds"])
                    results.append(r)
                    print(f"HTTP decide, {workers} process{'es' if workers > 1 else ''}, {clients:>2} clients, "
                          f"{r['n']} requests: p50 {r['p50']:6.1f} ms, p95 {r['p95']:6.1f} ms, p99 {r['p99']:6.1f} ms, "
                          f"{r['rps']:5.0f} req/s, errors {r['errors']}; server CPU {r['server_cpu_ms']:.1f} ms/request, "
                          f"{r['server_cores']:.2f} cores busy; clients {r['client_cores']:.2f} cores, "
                          f"whole machine {r['machine_cores']:.2f} of {os.cpu_count()} cores")
                    for kind, k in r["error_kinds"].items():
                        print(f"      {k} x {kind}")
            finally:
                stop(proc)
                if any(r.get("errors") for r in results if r.get("workers") == workers):
                    log.seek(0)
                    errs = [ln for ln in log.read().splitlines() if '"ERROR"' in ln or "Error" in ln]
                    print("   server log, first error:", (errs[0][:2000] if errs else "(none logged)"))
    if args.results:
        Path(args.results).write_text(json.dumps(results))


def db_write_share(threads: int = 8, per_thread: int = 60) -> None:
    """Logged decisions in process: how much the two database writes (the decision record, and the
    SLI bucket upsert that every decision of a minute makes on the same row) take, alone and with
    ``threads`` concurrent callers (each with its own database connection)."""
    from unittest import mock

    from django.db import connections

    from studio import services
    from studio.lac.samples import sample_request
    from studio.models import DecisionRecord

    req = sample_request(domain="ops.telemetry", data_class="P3", roles=["sre"], context={"purpose": "operations"})

    def one():
        services.decide(environment_name="prod", request=req, explain=False)

    def sequential(n=200):
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            one()
            ts.append((time.perf_counter() - t0) * 1000)
        return statistics.median(ts)

    def concurrent():
        def work():
            try:
                for _ in range(per_thread):
                    one()
            finally:
                connections.close_all()

        ts = [threading.Thread(target=work) for _ in range(threads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return threads * per_thread / (time.perf_counter() - t0)

    manager = type(DecisionRecord.objects)
    variants = {
        "logged": [],
        "no SLI upsert": [mock.patch.object(services, "_record_sli", lambda n: None)],
        "no database writes": [mock.patch.object(services, "_record_sli", lambda n: None),
                               mock.patch.object(manager, "bulk_create", lambda self, objs, **kw: objs)],
    }
    if not hasattr(services, "_record_sli"):
        print("(services._record_sli is gone: no write breakdown)")
        return
    one()
    figures = {}
    for name, patches in variants.items():
        with contextlib.ExitStack() as stack:
            for p in patches:
                stack.enter_context(p)
            figures[name] = (sequential(), concurrent())
    print("one decide in process (services.decide), median ms / decisions/s with "
          f"{threads} concurrent callers:")
    for name, (ms, rate) in figures.items():
        print(f"   {name:<20} {ms:6.2f} ms   {rate:6.0f}/s")


def wait_ready(proc: subprocess.Popen, port: int, body: bytes, token: str, timeout: float = 180) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/api/lac/decide", body=body, headers=_headers(token))
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return True
        time.sleep(0.25)
    return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: uvicorn stops its workers, serve its Celery processes
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the session serve was started in: only our processes
            proc.wait(10)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants, from /proc (0.0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats = {}
    for d in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(d).read_text().rsplit(")", 1)[1].split()
            stats[int(d.split("/")[2])] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _) in stats.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(stats[p][1] for p in tree if p in stats)


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine spent busy so far (/proc/stat; 0.0 elsewhere)."""
    with contextlib.suppress(OSError, ValueError):
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait
    return 0.0


def _headers(token: str) -> dict:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def load(port: int, body: bytes, token: str, clients: int, requests: int) -> dict:
    """``clients`` threads, one keep-alive connection each, ``requests`` in all."""
    headers = _headers(token)
    lat: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    per = max(1, requests // clients)
    start = threading.Barrier(clients + 1)

    def client():
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, bad = [], {}
        start.wait()
        for _ in range(per):
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/lac/decide", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    key = f"{resp.status} {data[:120].decode(errors='replace')}"
                    bad[key] = bad.get(key, 0) + 1
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
                bad[key] = bad.get(key, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append((time.perf_counter() - t0) * 1000)
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in bad.items():
                statuses[k] = statuses.get(k, 0) + v
            errors += sum(bad.values())

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    return {"n": len(lat), "p50": statistics.median(lat), "p95": pct(lat, 0.95), "p99": pct(lat, 0.99),
            "rps": len(lat) / dt, "errors": errors, "error_kinds": statuses, "seconds": dt}


# ------------------------------------------------------------------ driver
def summary(results: list[dict]) -> None:
    if not results:
        return
    print("\n== HTTP decide summary (p95 ms / req/s); before: "
          f"{HTTP_BEFORE['p95_ms']:.0f} ms p95, {HTTP_BEFORE['rps']:.0f} req/s at {HTTP_BEFORE['clients']} clients, 1 process")
    for r in results:
        if "refused" in r:
            print(f"   {r['mode']:<10} {r['workers']} processes: refused by serve (embedded mode serves from one process)")
            continue
        line = (f"   {r['mode']:<10} {r['workers']} process{'es' if r['workers'] > 1 else '  '} {r['clients']:>2} clients: "
                f"p50 {r['p50']:6.1f}  p95 {r['p95']:6.1f}  {r['rps']:5.0f} req/s  "
                f"server CPU {r.get('server_cpu_ms', 0):5.1f} ms/req")
        if r["errors"]:
            line += f"  ERRORS {r['errors']} (figures not comparable)"
        if r["clients"] == HTTP_BEFORE["clients"]:
            line += (f"   (p95 {r['p95'] / HTTP_BEFORE['p95_ms']:.2f}x, throughput "
                     f"{r['rps'] / HTTP_BEFORE['rps']:.2f}x of before)")
        print(line)
    by = {(r["mode"], r["workers"], r["clients"]): r for r in results if "refused" not in r}
    for (mode, w, c), r in sorted(by.items()):
        one = by.get((mode, 1, c))
        if w > 1 and one:
            print(f"   {mode}: {w} processes vs 1 at {c} clients: throughput {r['rps'] / one['rps']:.2f}x, "
                  f"p95 {r['p95'] / one['p95']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--http-requests", type=int, default=2000, help="requests per configuration")
    ap.add_argument("--concurrency", default="8,32", help="client counts, comma-separated")
    ap.add_argument("--workers", default="1,2", help="ASGI worker process counts, comma-separated")
    ap.add_argument("--production", choices=("auto", "on", "off"), default="auto",
                    help="also measure production mode (PostgreSQL + Redis); auto: when available")
    ap.add_argument("--conn-max-age", default="0",
                    help="CONN_MAX_AGE for the production runs, or 'settings' for the shipped value")
    ap.add_argument("--skip-micro", action="store_true")
    ap.add_argument("--skip-embedded", action="store_true", help="no embedded-mode (SQLite) run")
    ap.add_argument("--service-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--results", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.concurrency = [int(x) for x in str(args.concurrency).split(",") if x]
    args.workers = [int(x) for x in str(args.workers).split(",") if x]
    if args.service_only:
        service_and_http(args)
        return
    if not args.skip_micro:
        subprocess.run([sys.executable, str(ROOT / "bench" / "lac_micro.py")], check=True, cwd=ROOT)
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    base_env |= {"TF_LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "trustfabric.settings"}
    results: list[dict] = []

    def run(env: dict) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "results.json"
            env = env | {"TF_VAR_DIR": str(Path(tmp) / "var")}
            if env.get("DATABASE_URL") and args.conn_max_age != "settings":
                # the settings keep PostgreSQL connections 60 s; under ASGI every request runs in a thread
                # of its own and leaves its connection open ("too many clients" within seconds under load)
                Path(tmp, "bench_settings.py").write_text(
                    "from trustfabric.settings import *  # noqa: F403\n"
                    f"DATABASES['default']['CONN_MAX_AGE'] = {int(args.conn_max_age)}  # noqa: F405\n")
                env |= {"DJANGO_SETTINGS_MODULE": "bench_settings",
                        "PYTHONPATH": os.pathsep.join(filter(None, (tmp, str(ROOT), env.get("PYTHONPATH"))))}
                print(f"(production runs with CONN_MAX_AGE={int(args.conn_max_age)}; --conn-max-age settings "
                      "keeps the shipped value)")
            subprocess.run([sys.executable, __file__, "--service-only", "--http-requests", str(args.http_requests),
                            "--concurrency", ",".join(map(str, args.concurrency)),
                            "--workers", ",".join(map(str, args.workers)), "--results", str(out)],
                           check=True, cwd=ROOT, env=env)
            if out.exists():
                results.extend(json.loads(out.read_text()))

    if not args.skip_embedded:
        run(base_env)
    if args.production != "off":
        if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
            run(base_env | {"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]})
        else:
            with local_servers() as urls:
                if urls is None:
                    msg = "production mode needs DATABASE_URL/REDIS_URL or local PostgreSQL and Redis"
                    if args.production == "on":
                        raise SystemExit(msg)
                    print(f"(skipped: {msg})")
                else:
                    run(base_env | {"DATABASE_URL": urls[0], "REDIS_URL": urls[1]})
    summary(results)
    print(f"(graph constraints: target < {GRAPH_P95_TARGET_MS:g} ms p95 on a 10k-edge subgraph, see the lac_micro "
          "lines above)")


if __name__ == "__main__":
    main()
