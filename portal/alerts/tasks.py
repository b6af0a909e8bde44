"""django-q2 tasks of the alerts app."""

from portal.alerts import notifications


def notify(alert_id: int) -> str:
    """E-mail one alert (queued when its transaction commits; retried on failure)."""
    return notifications.notify(alert_id)
