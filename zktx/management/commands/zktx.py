"""``manage.py zktx``: pilots, appeal drills, quotas and the exchange's work queue.

    manage.py zktx pilot run A [--holder-size 5000 --queries 8 --query-size 16] [--url URL] [--no-bundle]
    manage.py zktx pilot run B [--queries 40 --query-size 64 --light-queries 8 --capacity 3 --burst 12 --rate 240]
    manage.py zktx pilot list
    manage.py zktx appeal drill          # an appeal filed 25 h ago → SLA check → on-call incident → resolution
    manage.py zktx appeal check-sla      # what the beat task does every minute
    manage.py zktx quota show | set ORG [--weight W] [--rate PER_MIN] [--burst N]
    manage.py zktx work                  # run pending exchange work in-process (commits, fair queue, exports)
    manage.py zktx gc                    # remove stored messages no row references
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Membership, Organization
from trustfabric.errors import ServiceError
from zktx import services


class Command(BaseCommand):
    help = "ZK-TX exchange: run pilots A/B, rehearse appeals, manage quotas, drain the work queue."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="area", required=True)
        p = sub.add_parser("pilot", help="pilots")
        psub = p.add_subparsers(dest="action", required=True)
        r = psub.add_parser("run", help="drive both partners' clients end to end and print a summary")
        r.add_argument("name", choices=["A", "B"])
        r.add_argument("--url", help="talk to a running exchange over HTTP instead of in-process")
        r.add_argument("--holder-size", type=int)
        r.add_argument("--queries", type=int)
        r.add_argument("--query-size", type=int)
        r.add_argument("--light-queries", type=int, help="pilot B: queries of the light tenant")
        r.add_argument("--capacity", type=int, help="pilot B: queries the exchange serves per round")
        r.add_argument("--burst", type=int, help="pilot B: the heavy tenant's token-bucket burst")
        r.add_argument("--rate", type=float, help="pilot B: the heavy tenant's rate (queries per minute)")
        r.add_argument("--seed", type=int, default=7)
        r.add_argument("--workers", type=int, default=1)
        r.add_argument("--state", help="partners' client state directories (default var/zktx/pilot-clients)")
        r.add_argument("--no-bundle", action="store_true")
        r.add_argument("--json", action="store_true")
        psub.add_parser("list", help="pilots and their runs")
        a = sub.add_parser("appeal", help="appeals")
        asub = a.add_subparsers(dest="action", required=True)
        asub.add_parser("drill", help="rehearse the appeal SLA escalation through on-call")
        asub.add_parser("check-sla", help="escalate appeals past their SLA")
        q = sub.add_parser("quota", help="per-tenant quotas")
        qsub = q.add_subparsers(dest="action", required=True)
        qsub.add_parser("show")
        qs = qsub.add_parser("set")
        qs.add_argument("org")
        qs.add_argument("--weight", type=float)
        qs.add_argument("--rate", type=float, help="queries per minute")
        qs.add_argument("--burst", type=int)
        sub.add_parser("work", help="run pending exchange work in-process")
        sub.add_parser("gc", help="remove unreferenced stored messages")

    def handle(self, *args, area, **opts):
        quiet = opts.get("verbosity", 1) < 2  # the summary, not every request's JSON log line
        loggers = [logging.getLogger(n) for n in ("trustfabric.request", "zktx.exchange", "celery", "django.request")]
        levels = [lg.level for lg in loggers]
        if quiet:
            for lg in loggers:
                lg.setLevel(logging.ERROR)
        try:
            getattr(self, f"_{area}")(**opts)
        except ServiceError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)

    # ------------------------------------------------------------------ pilots
    def _pilot(self, action, **o):
        if action == "list":
            from zktx.models import Pilot

            for p in Pilot.objects.select_related("holder", "querier"):
                runs = ", ".join(r.label for r in p.runs.order_by("-started_at")[:3]) or "no runs"
                self.stdout.write(f"{p.name:<7} {p.holder.slug} → {p.querier.slug} k={p.k} {p.selector_type}  ({runs})")
            return
        from zktx.pilot import format_report, run_pilot

        sizes = {k: o[k] for k in ("holder_size", "queries", "query_size", "light_queries", "capacity", "burst", "rate")
                 if o.get(k) is not None}
        rep = run_pilot(o["name"], url=o.get("url"), state_root=o.get("state"), seed=o["seed"],
                        out=self.stdout.write, bundle=not o["no_bundle"], workers=o["workers"], **sizes)
        self.stdout.write("")
        self.stdout.write(json.dumps(rep.__dict__, default=str, indent=1) if o["json"] else format_report(rep))
        if rep.correct != rep.total or (rep.bundle and not rep.bundle["verified"]) or not rep.batch.get("ok"):
            raise CommandError("the pilot did not verify: see the summary")

    # ------------------------------------------------------------------ appeals
    def _appeal(self, action, **o):
        if action == "check-sla":
            done = services.appeal_sla_check()
            self.stdout.write(f"{len(done)} appeal(s) escalated")
            return
        self._drill()

    def _drill(self):
        from oncall.models import Incident
        from zktx.models import Query

        admin = Membership.objects.filter(organization__kind="operator", role="admin").select_related("user").first()
        if admin is None:
            raise CommandError("no operator admin: run manage.py seed_demo")
        query = Query.objects.filter(status=Query.Status.VERDICT).order_by("-verdict_at").first()
        if query is None:
            self.stdout.write("No verdict to appeal yet: running a small pilot A first…")
            from zktx.pilot import run_pilot

            with tempfile.TemporaryDirectory() as tmp:
                run_pilot("A", state_root=tmp, holder_size=120, queries=2, query_size=16, bundle=False,
                          out=lambda m: None)
            query = Query.objects.filter(status=Query.Status.VERDICT).order_by("-verdict_at").first()
        partner = Membership.objects.filter(organization=query.tenant, role="partner_user").select_related("user").first()
        if partner is None:
            raise CommandError(f"{query.tenant} has no partner user")
        now = timezone.now()
        filed = now - timedelta(hours=25)
        appeal = services.appeal_file(actor=partner.user, query=query, is_drill=True, now=filed,
                                      reason="[drill] the verdict contradicts our own reconciliation")
        self.stdout.write(f"1. {query.tenant.slug} filed appeal {appeal.pk} on query {query.pk} at {filed:%Y-%m-%d %H:%M} UTC "
                          f"(SLA due {appeal.sla_due_at:%Y-%m-%d %H:%M}); transcript re-verified: "
                          f"{'valid' if appeal.reverify_ok else appeal.reverify_code}")
        escalated = services.appeal_sla_check(now=now)
        appeal.refresh_from_db()
        if appeal not in escalated or not appeal.incident_id:
            raise CommandError("the SLA check did not escalate the overdue appeal")
        inc = Incident.objects.get(pk=appeal.incident_id)
        self.stdout.write(f"2. SLA check: incident {inc.pk} [{inc.severity}] {inc.status}: {inc.summary}")
        for ev in inc.events.order_by("at")[:6]:
            self.stdout.write(f"     {ev.at:%H:%M:%S} {ev.kind}: {ev.message}")
        appeal = services.appeal_reverify(actor=admin.user, appeal=appeal, full=True)
        appeal = services.appeal_resolve(actor=admin.user, appeal=appeal, resolution="upheld",
                                         reason="[drill] epoch and transcript re-verified in full; verdict stands")
        inc.refresh_from_db()
        self.stdout.write(f"3. {admin.user.get_username()} resolved the appeal ({appeal.resolution}); "
                          f"incident {inc.pk} is now {inc.status}")
        if inc.status != "resolved":
            raise CommandError("the incident was not resolved with the appeal")

    # ------------------------------------------------------------------ quotas, work, gc
    def _quota(self, action, **o):
        if action == "set":
            org = Organization.objects.filter(slug=o["org"]).first()
            if org is None:
                raise CommandError(f"no organization {o['org']}")
            services.quota_set(actor="manage.py zktx", organization=org, weight=o.get("weight"),
                               rate_per_minute=o.get("rate"), burst=o.get("burst"), reason="manage.py zktx quota set")
        for org in Organization.objects.filter(kind="partner"):
            q = services.quota_for(org)
            self.stdout.write(f"{org.slug:<12} weight {q.weight:g}  rate {q.rate_per_minute:g}/min  burst {q.burst}  "
                              f"admitted {q.admitted}  throttled {q.throttled}  served {q.served}")

    def _work(self, **o):
        from zktx.models import AuditBundle, EpochEvaluation

        n_ev = 0
        for ev in EpochEvaluation.objects.filter(status=EpochEvaluation.Status.VERIFYING):
            services.epoch_commit_run(evaluation_id=ev.pk)
            n_ev += 1
        n_q = services.queue_process()
        n_b = 0
        for b in AuditBundle.objects.filter(status__in=[AuditBundle.Status.DRAFTING, AuditBundle.Status.SEALING]):
            services.bundle_export_run(bundle_id=b.pk)
            n_b += 1
        self.stdout.write(f"{n_ev} epoch commit(s), {n_q} query(ies), {n_b} bundle step(s)")

    def _gc(self, **o):
        self.stdout.write(f"{services.blobs_gc()} unreferenced stored message(s) removed")
