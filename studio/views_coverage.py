"""The Policy Studio coverage map page (``studio:coverage``)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import require
from accounts.roles import Cap
from studio import coverage_service
from studio.services import LacError

DEFAULT_ENV = "prod"
DEFAULT_DAYS = 7
MAX_DAYS = 365
DAY_CHOICES = (1, 7, 30, 90)


def _days(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_DAYS
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise LacError("coverage_bad_days", f"days must be a whole number from 1 to {MAX_DAYS}.")
    return days


@require(Cap.STUDIO_VIEW)
def coverage(request: HttpRequest) -> HttpResponse:
    env = request.GET.get("env") or DEFAULT_ENV
    days = _days(request.GET.get("days"))
    data = coverage_service.coverage_map(env, since=timezone.now() - timedelta(days=days))
    return render(request, "studio/coverage.html", {"cov": data, "days": days, "day_choices": DAY_CHOICES})
