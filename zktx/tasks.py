"""Celery tasks on the ``zktx`` queue (``zktx.tasks.*`` is routed there): load, call a service, nothing else."""

from celery import shared_task

from zktx import services


@shared_task(name="zktx.tasks.epoch_commit", acks_late=True)
def epoch_commit(evaluation_id: str) -> str:
    return services.epoch_commit_run(evaluation_id=evaluation_id).status


@shared_task(name="zktx.tasks.process_queue", acks_late=True)
def process_queue(limit: int | None = None) -> int:
    return services.queue_process(limit=limit)


@shared_task(name="zktx.tasks.export_bundle", acks_late=True)
def export_bundle(bundle_id: str) -> str:
    return services.bundle_export_run(bundle_id=bundle_id).status


@shared_task(name="zktx.tasks.appeal_sla_check")
def appeal_sla_check() -> int:
    return len(services.appeal_sla_check())


@shared_task(name="zktx.tasks.epochs_expire")
def epochs_expire() -> int:
    return len(services.epochs_expire())
