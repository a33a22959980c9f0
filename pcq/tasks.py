"""Celery tasks: load, call a service, nothing else. ``pcq.tasks.replay_*`` and ``pcq.tasks.canary_*``
are routed to the ``replay`` queue (settings.CELERY_TASK_ROUTES)."""

from celery import shared_task

from pcq import services


@shared_task(name="pcq.tasks.replay_job", acks_late=True)
def replay_job(job_id: str) -> str:
    # at-least-once delivery (acks_late): a redelivered task finds the replay done and stops
    done = services.finished_replay(job_id)
    return (done or services.replay_run(job_id=job_id)).verdict


@shared_task(name="pcq.tasks.canary_job", acks_late=True)
def canary_job(job_id: str) -> str | None:
    verdict = services.finished_canary(job_id) or services.canary_run(job_id=job_id)
    return verdict.verdict if verdict else None


@shared_task(name="pcq.tasks.canary_drill", acks_late=True)
def canary_drill(run_id: str) -> str:
    return services.drill_execute(run_id=run_id).status
