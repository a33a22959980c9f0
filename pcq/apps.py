from django.apps import AppConfig


class PcqConfig(AppConfig):
    name = "pcq"
    verbose_name = "PCQ & canary"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from trustfabric import live

        live.register_stream("pcq", _dashboard_stream)


def _dashboard_stream(principal, _arg):
    """The PCQ dashboard's live group: only for people who may see the dashboard (never partners)."""
    from accounts.roles import Cap
    from pcq.services import LIVE_GROUP

    return [LIVE_GROUP] if principal.can(Cap.PCQ_VIEW) else []
