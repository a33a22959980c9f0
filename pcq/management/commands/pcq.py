"""``manage.py pcq drill`` (canary drill: false-alarm rate and MTTA) and ``manage.py pcq canary`` (show the
active canary, switch its planted regression)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from pcq import services
from trustfabric.errors import ServiceError


def _fmt_s(value) -> str:
    return "—" if value is None else f"{value:.0f} s ({value / 60:.1f} min)"


class Command(BaseCommand):
    help = "PCQ operations: canary drills and the canary's planted-regression switch."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        d = sub.add_parser("drill", help="run a canary drill over labeled scenarios (benign noise and true regressions)")
        d.add_argument("--seed", type=int, default=1, help="scenario seed (the same seed gives the same scenarios)")
        d.add_argument("--benign", type=int, default=150, help="benign canary deployments (false-alarm rate)")
        d.add_argument("--regressions", type=int, default=30, help="deployments with a planted regression (detection, MTTA)")
        d.add_argument("--ack-after", type=float, default=120.0, help="seconds after the page at which the paged person acknowledges")
        d.add_argument("--mean-gap", type=float, default=60.0, help="mean seconds between sampled jobs reaching the canary")
        d.add_argument("--responder", default=None, help="username who acknowledges when no escalation policy pages anyone")
        d.add_argument("--json", action="store_true", help="print the summary as JSON")
        c = sub.add_parser("canary", help="show the active canary or switch its planted regression")
        c.add_argument("--regression", default=None, help="none, pagerank_damping, drop_edges or distance_offset")
        c.add_argument("--reason", default="", help="why (recorded in the audit event)")

    def handle(self, *args, action, **opts):
        try:
            if action == "drill":
                return self._drill(**opts)
            return self._canary(**opts)
        except ServiceError as exc:
            raise CommandError(f"[{exc.code}] {exc.message} {exc.details or ''}".strip()) from exc

    def _canary(self, regression, reason, **_):
        if regression is not None:
            services.canary_regression_set(actor="manage.py pcq canary", regression=regression, reason=reason)
        cfg = services.canary_config_current()
        if cfg is None:
            self.stdout.write("no active canary")
            return
        self.stdout.write(f"active canary: {cfg.label}  params={json.dumps(cfg.params)}  regression={cfg.regression} "
                          f"{json.dumps(cfg.regression_params) if cfg.regression_params else ''}".rstrip())
        for b in services.noise_bands():
            self.stdout.write(f"  noise band {b.field:<26} {b.band:.3g}  ({b.observations} cases, {b.noisy} noisy)")

    def _drill(self, seed, benign, regressions, ack_after, mean_gap, responder, json, **_):
        import json as _json

        run = services.drill_start(actor="manage.py pcq drill", seed=seed, benign=benign, regressions=regressions,
                                   ack_after_s=ack_after, mean_gap_s=mean_gap, responder=responder, dispatch=False)
        self.stderr.write(f"canary drill {run.pk}: {run.total} scenarios …")
        run = services.drill_execute(run_id=run.pk)
        if run.status != "done":
            raise CommandError(f"the drill failed: {run.error}")
        s = run.summary
        if json:
            self.stdout.write(_json.dumps({"drill": str(run.pk)} | {k: v for k, v in s.items() if k != "bands"}, indent=1, default=str))
        else:
            self.stdout.write(f"canary drill {run.pk} (seed {seed}): {s['scenarios']} scenarios in {s['wall_s']:.1f} s")
            self.stdout.write(f"  false alarms      {s['false_alarms']} of {s['benign']} benign canaries = {100 * s['false_alarm_rate']:.2f}% "
                              f"(target < {100 * s['false_alarm_target']:.0f}%; 95% upper bound {100 * s['false_alarm_upper95']:.2f}%; "
                              f"{s['benign_tickets']} ticket-level, not paged)")
            self.stdout.write(f"  regressions paged {s['detected']} of {s['regressions']} "
                              f"({s['ticketed']} ticket-level only, {s['missed']} below ticket level) "
                              + ", ".join(f"{k} {v['detected']}/{v['scenarios']}" for k, v in s["by_regression"].items()))
            self.stdout.write(f"  detection         first page {_fmt_s(s['detect_mean_s'])} after the first regressed run on average "
                              f"(worst {_fmt_s(s['detect_max_s'])})")
            self.stdout.write(f"  MTTA              {_fmt_s(s['mtta_s'])} mean, {_fmt_s(s['mtta_p50_s'])} median, {_fmt_s(s['mtta_max_s'])} worst "
                              f"(target {s['mtta_target_s'] // 60} min; acknowledged {s['ack_after_s']:.0f} s after the page; "
                              f"{s['unacknowledged']} never acknowledged, {s['unrouted']} unrouted)")
            self.stdout.write(f"  targets           {'MET' if s['passed'] else 'MISSED'}")
        if not s["passed"]:
            raise CommandError("the drill missed its targets (false-alarm rate < 2% and MTTA ≤ 15 min)", returncode=3)
