from celery import shared_task

from compliance import services


@shared_task(name="compliance.tasks.export_packet")
def export_packet(packet_id: str) -> str:
    return services.packet_export(packet_id=packet_id).status


@shared_task(name="compliance.tasks.daily")
def daily() -> dict:
    result = services.daily_run()
    return {"gaps": result["gaps"], "notified": result["notified"]}
