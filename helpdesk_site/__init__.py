# The Celery app is loaded with Django, so that the apps' shared tasks are bound to it.
from .celery import app as celery_app

__all__ = ["celery_app"]
