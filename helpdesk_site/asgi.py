"""The site for an ASGI server."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
application = get_asgi_application()
# As helpdesk_site/wsgi.py: what is loaded by now is left out of full garbage collections.
gc.collect()
gc.freeze()
