from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from trustfabric import live

        # every app's evidence.py registers its providers in trustfabric.evidence
        autodiscover_modules("evidence")
        live.register_stream("compliance", _notices_stream)


def _notices_stream(principal, _arg):
    """Overdue-gap notices for the signed-in person, on the compliance pages."""
    from accounts.roles import Cap
    from compliance.services import notice_group

    return [notice_group(principal.user)] if principal.can(Cap.COMPLIANCE_VIEW) else []
