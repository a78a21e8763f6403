"""Gunicorn settings for `make serve`, from the environment.

BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers; default 2 x cores + 1),
GUNICORN_THREADS (default 1), GUNICORN_TIMEOUT (seconds, default 30),
FORWARDED_ALLOW_IPS (proxies whose X-Forwarded-* headers are trusted; default 127.0.0.1,::1;
the site reads the same variable for X-Forwarded-For, see accounts/client_address.py),
GUNICORN_CONTROL_SOCKET (a path for gunicornc's control socket; off by default).
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The site logs one line per request itself (helpdesk_site.middleware); gunicorn logs its own
# start-up and errors to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Workers restart now and then, so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Gunicorn 25+ opens a control socket at one fixed path per user by default: two servers on one
# machine (two sites, the scale-out test) would take each other's. Off unless a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
