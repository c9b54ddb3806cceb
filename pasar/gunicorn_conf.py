"""How gunicorn serves Pasar, in production and in `make demo` alike:

    gunicorn -c python:pasar.gunicorn_conf

gthread workers: each worker process runs a fixed pool of threads, and Django keeps one
database connection per thread, so the web tier never holds more than WEB_WORKERS x
WEB_THREADS connections however many requests arrive at once (the rest wait in the listen
queue). PostgreSQL's max_connections must exceed that sum over every web host, plus the
Celery workers' concurrency, plus a few for migrations and people.
"""

import os

bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
wsgi_app = "pasar.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request that takes longer is stuck: the worker is restarted and the request answered 502.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
# Requests are logged by the app itself (pasar.access, with request ids); errors go to stderr.
accesslog = None
errorlog = "-"
# No runtime control socket (gunicornc): one fixed path per user would clash between servers.
control_socket_disable = True
