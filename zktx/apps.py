from django.apps import AppConfig

# Periodic work of the exchange, merged into Celery beat's schedule at start-up (the project's
# schedule in trustfabric/settings.py stays untouched): appeal SLA escalation, epoch rotation, and a
# sweep of the fair queue in case a dispatch was lost.
BEAT_SCHEDULE = {
    "zktx-appeal-sla": {"task": "zktx.tasks.appeal_sla_check", "schedule": 60.0},
    "zktx-epochs-expire": {"task": "zktx.tasks.epochs_expire", "schedule": 60.0},
    "zktx-queue-sweep": {"task": "zktx.tasks.process_queue", "schedule": 30.0},
}


class ZktxConfig(AppConfig):
    name = "zktx"
    verbose_name = "ZK pilots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from trustfabric.celery import app

        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
