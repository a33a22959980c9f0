"""``manage.py lac <action>``: redteam, check, decide."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trustfabric.errors import ServiceError

FP_LIMIT = 0.02


class Command(BaseCommand):
    help = "LAC tools: red-team score, bundle checks, one-off decisions."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        r = sub.add_parser("redteam", help="score a bundle against studio/corpus (0 false negatives, ≤ 2%% false positives)")
        r.add_argument("--environment", help="use the bundle deployed there (default: the shipped pack)")
        r.add_argument("--corpus", help="corpus directory or file (default: studio/corpus)")
        r.add_argument("--json", action="store_true")
        r.add_argument("--no-traces", action="store_true")
        c = sub.add_parser("check", help="parse, type-check and lint a policy directory")
        c.add_argument("policies", help="directory of .lac files (with messages/ beside them)")
        d = sub.add_parser("decide", help="decide one request (JSON file) in an environment")
        d.add_argument("--environment", default="dev")
        d.add_argument("--locale", default="en")
        d.add_argument("request_file")

    def handle(self, *args, action: str, **o):
        if action == "redteam":
            return self._redteam(o)
        if action == "check":
            return self._check(o["policies"])
        return self._decide(o)

    def _redteam(self, o):
        from studio.lac import Bundle, redteam

        bundle = Bundle.default()
        if o.get("environment"):
            from studio import services

            bundle = services.compiled(services.environment(o["environment"]).bundle)
        summary = redteam.run(bundle, o.get("corpus"))
        if o["json"]:
            self.stdout.write(json.dumps(summary, indent=1, default=str))
        else:
            self.stdout.write(redteam.render_table(summary, traces=not o["no_traces"]))
        if summary["false_negative"] or summary["fp_rate"] > FP_LIMIT:
            raise CommandError(
                f"red-team gate failed: {summary['false_negative']} false negatives, "
                f"{summary['fp_rate']:.1%} false positives (limit {FP_LIMIT:.0%})", returncode=3)

    def _check(self, policies: str):
        from studio.lac import Bundle

        path = Path(policies)
        if not path.is_dir():
            raise CommandError(f"{policies} is not a directory")
        bundle = Bundle.from_directory(path)
        self.stdout.write(bundle.report() or "no diagnostics")
        self.stdout.write(f"digest {bundle.digest}; {len(bundle.errors)} errors, {len(bundle.warnings)} warnings")
        if not bundle.ok:
            raise CommandError("the bundle has errors", returncode=1)

    def _decide(self, o):
        from studio import services

        try:
            request = json.loads(Path(o["request_file"]).read_text())
            out = services.decide(environment_name=o["environment"], request=request, locale=o["locale"], caller="manage.py lac")
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the request: {exc}") from exc
        except ServiceError as exc:
            raise CommandError(f"[{exc.code}] {exc.message}") from exc
        self.stdout.write(json.dumps(out, indent=1, default=str))
