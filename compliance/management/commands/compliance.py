"""``manage.py compliance load|providers|collect|gaps|export``.

    manage.py compliance load                       # the frameworks and mappings shipped in compliance/data
    manage.py compliance load --file my-fw.json     # a framework (or --mapping) data file
    manage.py compliance providers                  # the registered evidence providers
    manage.py compliance collect --days 30          # run every provider over the last 30 days
    manage.py compliance gaps [--notify]            # refresh the gap list (and notify owners of overdue gaps)
    manage.py compliance export --framework soc2 --from 2025-01-01 --to 2025-03-31 [--out packet.zip]
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from compliance import services
from compliance.models import Framework, Packet
from trustfabric import evidence as providers
from trustfabric.errors import ServiceError

ACTOR = "manage.py compliance"


class Command(BaseCommand):
    help = "Compliance evidence workspace: load frameworks, collect evidence, refresh gaps, export packets."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load framework versions and mappings (idempotent)")
        load.add_argument("--file", action="append", default=[], help="a framework data file (tf-framework/1); repeatable")
        load.add_argument("--mapping", action="append", default=[], help="a mapping data file (tf-mapping/1); repeatable")
        sub.add_parser("providers", help="list the registered evidence providers")
        collect = sub.add_parser("collect", help="collect evidence from every provider")
        collect.add_argument("--days", type=int, default=1, help="the period: the last N days up to now (default 1)")
        collect.add_argument("--provider", action="append", default=[], help="only this provider id; repeatable")
        gaps = sub.add_parser("gaps", help="refresh the gap list")
        gaps.add_argument("--notify", action="store_true", help="also notify owners of overdue gaps")
        export = sub.add_parser("export", help="create and export a packet now (in this process)")
        export.add_argument("--framework", required=True, help="framework key, e.g. soc2 or iso27001 (its current version)")
        export.add_argument("--from", dest="start", required=True, type=date.fromisoformat, help="first day (YYYY-MM-DD)")
        export.add_argument("--to", dest="end", required=True, type=date.fromisoformat, help="last day (YYYY-MM-DD)")
        export.add_argument("--version", default=services.PACKET_VERSION, help=f"packet version (default {services.PACKET_VERSION})")
        export.add_argument("--out", help="copy the signed zip here")

    def handle(self, *args, action, **opts):
        try:
            getattr(self, f"_{action}")(**opts)
        except ServiceError as exc:
            raise CommandError(f"[{exc.code}] {exc.message}") from exc

    def _load(self, file, mapping, **_):
        if file or mapping:
            report = services.frameworks_load(actor=ACTOR, framework_files=[Path(f) for f in file],
                                              mapping_files=[Path(m) for m in mapping])
        else:
            report = services.frameworks_load(actor=ACTOR)
        for row in report:
            if row["kind"] == "framework":
                state = "loaded" if row["created"] else "already loaded"
                self.stdout.write(f"{row['file']}: {row['key']} {row['version']} {state} ({row['controls']} controls)")
            else:
                note = f" ({row['skipped']})" if row.get("skipped") else ""
                self.stdout.write(f"{row['file']}: {row['left']} ↔ {row['right']}: {row['pairs']} pairs, {row['created']} new{note}")
                if row.get("unknown_refs"):
                    self.stdout.write(self.style.WARNING(f"  unknown refs skipped: {', '.join(row['unknown_refs'])}"))

    def _providers(self, **_):
        for p in providers.all_providers():
            refs = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(p.controls.items()))
            self.stdout.write(f"{p.id} v{p.version} — {p.title}\n  {refs}")

    def _collect(self, days, provider, **_):
        if days < 1 or days > 3 * 366:
            raise CommandError("--days must be 1 to 1098")
        now = timezone.now()
        results = services.evidence_collect(actor=ACTOR, period_start=now - timedelta(days=days), period_end=now,
                                            provider_ids=provider or None, now=now)
        self.stdout.write(json.dumps(results, indent=1, sort_keys=True))
        if any("error" in r for r in results.values()):
            raise CommandError("some providers failed (see above)", returncode=3)

    def _gaps(self, notify, **_):
        self.stdout.write(json.dumps(services.gaps_refresh(actor=ACTOR)))
        if notify:
            self.stdout.write(json.dumps(services.gaps_notify_overdue()))

    def _export(self, framework, start, end, version, out, **_):
        fw = Framework.objects.filter(key=framework, is_current=True).first()
        if fw is None:
            raise CommandError(f"no framework {framework!r} is loaded (run: manage.py compliance load)")
        packet = services.packet_create(actor=ACTOR, framework=fw, period_start=start, period_end=end, version=version)
        services.packet_export_start(actor=ACTOR, packet=packet, dispatch=False)
        packet = services.packet_export(packet_id=packet.pk)
        if packet.status != Packet.Status.DONE:
            raise CommandError(f"export failed: {packet.error}")
        path = services.packet_path(packet)
        if out:
            shutil.copyfile(path, out)
            path = Path(out)
        self.stdout.write(f"packet {packet.pk}: {path}\npacket digest {packet.packet_digest} (witness leaf {packet.witness_index})\n"
                          f"verify: python -m compliance.verify_packet {path} --key '{services.signing_key_string()}'")
