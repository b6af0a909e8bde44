"""gunicorn's settings for Payerwatch: ``gunicorn portal.wsgi`` reads this file from the project's
root (README, "Scaling out"; measured in "Pages and API under load").

Sync workers, 2 × cores + 1 of them. A sync worker takes a connection only when it is idle, so
waiting requests queue in the kernel's listen backlog, first come first served, and no worker
idles while another has a queue. With threads (gthread) and keep-alive, a connection stays with
the worker that happened to accept it: twenty clients' forty connections split 25 to 15, the
busier worker's requests waited behind each other, and p95 at 1,000,000 claims and 20 clients
was 330–490 ms (2 × 2 and 2 × 4 threads) where 5 sync workers gave 200–290 ms on the same
machine, at the same throughput (Django's CPU is the cost of a request either way).

A sync worker serves one request at a time and does not answer slow clients by itself: put a
buffering proxy (nginx, a cloud load balancer) in front, as for any sync gunicorn.
"""

import os

# WEB_CONCURRENCY, as on most platforms, else 2 × cores + 1 (gunicorn's rule of thumb, and the
# best measured here: 5 on 2 cores; 4 came close, 6 and 8 were slower).
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
# A sync worker cannot tell the master it is alive while it works, and the claims CSV export
# streams a million rows in about 15 s alone (longer under load): not killed at 30 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
graceful_timeout = 30
# The application is imported once, in the master, before the workers fork (``portal.wsgi``
# imports the URLconf too, so every view): workers start in milliseconds and share that memory.
# Without it each of the five imported Django on the same two cores at once, and the first
# requests of a fresh server waited seconds for them.
preload_app = True
