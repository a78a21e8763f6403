"""The Celery app: the worker (`make worker`, or `celery -A helpdesk_site worker`) and beat.

Configured from Django's settings (the CELERY_* names, helpdesk_site/settings.py); tasks are
found in each app's tasks.py. Without a broker, tasks run in the calling process (eager).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
