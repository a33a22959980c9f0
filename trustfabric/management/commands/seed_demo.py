"""Create the demo organizations and one login per role. Idempotent: a second run changes nothing."""

from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import Organization

DEMO_USERS = [
    # username, full name, organization slug, roles
    ("admin", "Ada Admin", "ops", ["admin"]),
    ("author", "Paula Author", "ops", ["policy_author"]),
    ("approver", "Omar Approver", "ops", ["policy_approver"]),
    ("approver2", "Chen Approver", "ops", ["policy_approver"]),
    ("oncall", "Olu On-call", "ops", ["oncall"]),
    ("compliance", "Carmen Compliance", "ops", ["compliance"]),
    ("auditor", "Arne Auditor", "ops", ["auditor"]),
    ("northwind", "Nadia Northwind", "northwind", ["partner_user"]),
    ("contoso", "Carl Contoso", "contoso", ["partner_user"]),
]
ORGS = [
    ("ops", "Trust Fabric Operations", "operator"),
    ("northwind", "Northwind Bank", "partner"),
    ("contoso", "Contoso Telecom", "partner"),
]


def credentials_path():
    return settings.VAR_DIR / "demo-logins.json"


def load_or_create_passwords() -> dict[str, str]:
    path = credentials_path()
    if path.exists():
        return json.loads(path.read_text())
    words = ["amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"]
    creds = {
        u: f"{secrets.choice(words)}-{secrets.choice(words)}-{secrets.randbelow(9000) + 1000}"
        for u, *_ in DEMO_USERS
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=1)
    return creds


def _oncall_setup(User):
    from datetime import timedelta

    from django.utils import timezone

    from oncall import services as oncall
    from oncall.models import EscalationPolicy, Schedule

    if Schedule.objects.filter(name="Primary").exists():
        return
    primary = oncall.schedule_create(
        actor="seed_demo", name="Primary", users=[User.objects.get(username="oncall"), User.objects.get(username="admin")],
        starts_at=timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1),
    )
    if not EscalationPolicy.objects.filter(is_default=True).exists():
        oncall.policy_create(
            actor="seed_demo", name="Default", is_default=True, repeat=2,
            steps=[
                {"delay": timedelta(0), "schedule": primary, "channels": ["inapp", "email"]},
                {"delay": timedelta(minutes=5), "user": User.objects.get(username="admin"), "channels": ["inapp", "email"]},
                {"delay": timedelta(minutes=15), "user": User.objects.get(username="admin"), "channels": ["email"]},
            ],
        )


def seed_pillars(users: dict) -> list[str]:
    """Each app may offer demo data in ``<app>/demo.py`` (``seed(users) -> list[str]``, idempotent); they
    run in :data:`trustfabric.demo.DEMO_APPS` order. Imported by name: the command depends on no pillar."""
    import importlib
    import importlib.util

    from trustfabric.demo import DEMO_APPS

    done: list[str] = []
    for app in DEMO_APPS:
        if importlib.util.find_spec(f"{app}.demo") is None:
            continue
        done += importlib.import_module(f"{app}.demo").seed(users) or []
    return done


class Command(BaseCommand):
    help = "Seed demo organizations and users (one per role); prints the logins."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="do not print the logins")

    def _oncall(self, orgs):
        from django.contrib.auth import get_user_model

        _oncall_setup(get_user_model())

    def handle(self, *args, quiet: bool = False, **options):
        User = get_user_model()
        creds = load_or_create_passwords()
        with transaction.atomic():
            orgs = {}
            for slug, name, kind in ORGS:
                org = Organization.objects.filter(slug=slug).first()
                orgs[slug] = org or services.organization_create(
                    actor="seed_demo", name=name, kind=kind, slug=slug
                )
            for username, full_name, org_slug, roles in DEMO_USERS:
                if not User.objects.filter(username=username).exists():
                    services.user_create(
                        actor="seed_demo",
                        organization=orgs[org_slug],
                        username=username,
                        password=creds[username],
                        roles=roles,
                        full_name=full_name,
                        email=f"{username}@{org_slug}.example",
                    )
            self._oncall(orgs)
        users = {u.username: u for u in User.objects.filter(username__in=[u for u, *_ in DEMO_USERS])}
        for line in seed_pillars(users):
            self.stdout.write(f"  seeded {line}")
        if not quiet:
            self.stdout.write("\nDemo logins (also in var/demo-logins.json):")
            for username, _full, org_slug, roles in DEMO_USERS:
                self.stdout.write(f"  {username:<11} {creds[username]:<24} {', '.join(roles)} @ {org_slug}")
