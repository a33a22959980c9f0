"""Policy Studio benchmark: the diff simulator over a logged decision history.

    python bench/studio.py [--decisions 100000] [--database-url postgresql://…]

Fills a fresh database (embedded SQLite unless a URL is given) with ``--decisions`` logged decisions
of realistic requests (every domain, action and data class of the default pack, with varied roles,
purposes and authority), then times the simulator's run (``studio.services.simulation_run``, exactly
what the Celery task calls) of a Tier-1 draft against prod over that log plus the red-team corpus.
Target (issue): 100k logged decisions simulated in under 5 s. Also prints the pure engine rate.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_S = 5.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=100_000)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    os.environ["TF_VAR_DIR"] = tempfile.mkdtemp(prefix="tf-bench-studio-")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustfabric.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from accounts import services as acc
    from studio import services
    from studio.lac.samples import WARRANT, sample_request
    from studio.models import DecisionRecord, Simulation

    ops = acc.organization_create(actor="bench", name="Ops", kind="operator", slug="ops")
    author = acc.user_create(actor="bench", organization=ops, username="author", password=secrets.token_urlsafe(16), roles=["policy_author"])
    env = services.environment("prod", fresh=True)
    engine = services.compiled(env.bundle)
    schema = env.bundle.schema
    domains = sorted(schema["domains"])
    actions = sorted(schema["actions"])
    roles = schema["enums"]["role"]["values"]
    purposes = schema["enums"]["purpose"]["values"]
    rng = random.Random(7)
    now = timezone.now()

    print(f"filling {args.decisions:,} logged decisions …", flush=True)
    t0 = time.perf_counter()
    batch = []
    for i in range(args.decisions):
        dom = rng.choice(domains)
        datasets = schema["domains"][dom].get("datasets") or {}
        ds_name = rng.choice(sorted(datasets)) if datasets else "data"
        ds = datasets.get(ds_name, {})
        fields = sorted(ds.get("fields") or {})
        req = sample_request(
            action=rng.choice(actions), domain=dom, data_class=ds.get("data_class", "P3"), roles=rng.sample(roles, 2),
            resource={"dataset": ds_name, "id": f"{dom}/{ds_name}", "fields": rng.sample(fields, min(len(fields), 3)),
                      "tier": schema["domains"][dom].get("tier", 2)},
            context={"purpose": rng.choice(purposes), "reason_for_access": f"case {i}", "time": "2025-03-04T10:00:00+00:00"},
            authority=WARRANT if rng.random() < 0.5 else {},
            graph={"edges": [["s1", "s2"], ["s2", "s3"]], "seeds": ["s1"]},
        )
        d = engine.decide(req, "en")
        batch.append(DecisionRecord(at=now, environment="prod", bundle_digest=env.bundle.digest, mode="enforce",
                                    action=req["action"]["name"], domain=dom, data_class=req["resource"]["data_class"],
                                    effect=d.effect, reason_id=d.reason.message_id, reason_text=d.reason.text, locale="en",
                                    request=req))
        if len(batch) == 5000:
            DecisionRecord.objects.bulk_create(batch)
            batch = []
    DecisionRecord.objects.bulk_create(batch)
    print(f"  filled in {time.perf_counter() - t0:.1f} s", flush=True)

    def make_draft(title, edit):
        draft = services.draft_create(actor=author, environment_name="prod", title=title)
        edit(draft)
        services.draft_bundle(draft)  # the candidate build is memoized, as it is after the author's last edit
        return services.draft_get(draft.pk)

    def tier1_policy(draft):
        text = draft.sources["intel.graph.lac"].replace("obligations mask(msisdn, last4)",
                                                       "obligations mask(msisdn, last4), drop(name)", 1)
        services.draft_save(actor=author, draft=draft, file="intel.graph.lac", source=text)

    def catalog(draft):
        cats = {k: dict(v) for k, v in draft.catalogs.items()}
        cats["en"]["lac.permit.aggregate"] += " (reviewed)"
        services.draft_save(actor=author, draft=draft, catalogs=cats)

    def simulate(draft) -> tuple[float, Simulation]:
        sim = Simulation.objects.create(
            draft=draft, candidate={"sources": draft.sources, "catalogs": draft.catalogs, "schema": schema, "lint_config": {}},
            candidate_digest=services.draft_bundle(draft).digest, environment="prod", baseline_digest=env.bundle.digest,
            period_start=now - timezone.timedelta(days=1), period_end=now + timezone.timedelta(seconds=1), include_corpus=True)
        t = time.perf_counter()
        sim = services.simulation_run(sim.pk)
        return time.perf_counter() - t, sim

    for label, edit in (("a catalog change (every logged decision is replayed)", catalog),
                        ("a Tier-1 policy change in intel.graph (only that domain is replayed)", tier1_policy)):
        draft = make_draft(label, edit)
        runs = [simulate(draft) for _ in range(3)]
        secs = sorted(r[0] for r in runs)
        sim = runs[-1][1]
        assert sim.status == "done", sim.error
        s = sim.summary
        print(f"diff simulator, {label}:")
        print(f"  {s['total']:,} decisions compared ({args.decisions:,} logged + {s['by_source']['corpus']['total']} corpus; "
              f"{sim.processed:,} decided twice, {s['unaffected']:,} provably unaffected), {s['changed']:,} changed "
              f"{dict((k, v) for k, v in s['kinds'].items() if v)}")
        print(f"  run time median {secs[1]:.2f} s (min {secs[0]:.2f}, max {secs[2]:.2f}) → {sim.processed / secs[1]:,.0f} decisions replayed/s")
        scaled = secs[1] * 100_000 / max(1, args.decisions)
        print(f"  target: 100k logged decisions < {TARGET_S:.0f} s; measured {scaled:.2f} s per 100k → {scaled / TARGET_S:.2f} of the budget")


if __name__ == "__main__":
    main()
