from celery import shared_task

from studio import services


@shared_task(name="studio.tasks.simulate")
def simulate(simulation_id: str) -> str:
    return services.simulation_run(simulation_id).status
