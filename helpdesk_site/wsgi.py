"""The site for a WSGI server (gunicorn: `make serve`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
application = get_wsgi_application()
# What is loaded by now (Django, the apps, their modules) lives as long as the process: frozen,
# it is left out of the garbage collector's full collections, which then look at what requests
# make, not at the whole framework again. A full collection came every few pages and was about
# a fifth of a ticket page's time (bench/RESULTS.md). A worker forked after this shares these
# pages with its parent unchanged (the gc.freeze() documentation).
gc.collect()
gc.freeze()
