"""Demo data for ZK-TX (called by ``manage.py seed_demo``; idempotent): pilots A and B run end to end
through the real API with both partners' clients (``zktx.pilot``), each with verdicts, batch
verification and a signed audit bundle. Sizes are small so that ``make demo`` stays quick; run the
full pilots with ``manage.py zktx pilot run A|B``."""

from __future__ import annotations

from typing import Any

from zktx.models import PilotRun
from zktx.pilot import run_pilot


def seed(users: dict[str, Any]) -> list[str]:
    from accounts.models import Organization

    if PilotRun.objects.exists() or Organization.objects.filter(slug__in=["northwind", "contoso"]).count() < 2:
        return []  # the pilots need the demo's partner organizations (seed_demo creates them first)
    done = []
    for name, sizes in (("A", {"holder_size": 1000, "queries": 6}),
                        ("B", {"holder_size": 600, "queries": 12, "light_queries": 4})):
        rep = run_pilot(name, out=lambda *_a, **_k: None, **sizes)
        done.append(f"zktx: pilot {name} ({rep.run_label}): {rep.correct}/{rep.total} verdicts right, "
                    f"bundle {'verified' if rep.bundle.get('verified') else rep.bundle.get('status', 'none')}")
    return done
