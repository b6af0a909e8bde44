"""The pages-and-API load benchmark (PRODUCT §12): list pages and API lists of a customer with
1,000,000 claims, under 20 concurrent clients, served by a real gunicorn.

1. A scratch customer (``benchmark-api``) holds ``claims`` realistic claims, imported through the
   real import path (``claims.services.ingest_file``) and kept between runs while the count
   matches; a drift run gives it runs and events. Then ``VACUUM ANALYZE``.
2. Its owner gets one session per client (written straight into the session store: no password
   hashing in the setup) and a read token for the API.
3. gunicorn serves ``portal.wsgi`` on a free port with the project's ``gunicorn.conf.py`` (the
   production settings: 2 × cores + 1 sync workers) unless ``--workers``/``--threads`` say
   otherwise (threads: gthread workers with keep-alive), ``DEBUG`` off,
   ``PAYERWATCH_QUERY_COUNT_HEADER=true`` (every answer says how many SQL statements it ran),
   the general API rate lifted so the load is not throttled.
4. Every entry of ``ENDPOINTS`` is asked at page 1 and at page 5,000 — reached the way a client
   reaches it: page 4,999 once (untimed), then its ``next`` link, a keyset cursor. A list with
   fewer pages is asked at its deepest page, and the table says which page that was.
5. ``clients`` threads (``http.client``, one connection each, kept alive where the server
   does) share a shuffled queue of ``requests`` requests per (endpoint, page); each records
   status, latency and the ``X-Query-Count`` header.
6. One request per paged list at page size 10 and at 200 compares the query counts.
7. Before the load, the dashboard alone: uncached (its cache deleted before each request) and
   cached, one request at a time; and each deep page with its page 1, in turns, one request at
   a time (``DEEP_ROUNDS`` each): what a deep page costs, without the load's queueing.
8. Checks: dashboard < 500 ms uncached and < 30 ms cached, p95 < 300 ms, no errors,
   page-deep/page-1 ratio of the medians alone ≤ 1.5, query counts the same at page 1, deep
   and for both page sizes.

To benchmark a new page, add a line to ``ENDPOINTS``; ``optional`` entries whose URL name does not
exist (yet) are skipped.
"""

from __future__ import annotations

import os
import queue
import random
import re
import runpy
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from http.client import HTTPException
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.urls import NoReverseMatch, reverse

from portal.claims import generator

DEEP_PAGE = 5000
# gunicorn as in production: the project's gunicorn.conf.py (sync workers, 2 × cores + 1; why is
# written there). ``--workers``/``--threads`` override it to compare.
GUNICORN_CONF = "gunicorn.conf.py"
DASHBOARD_COLD_MS = 500.0
DASHBOARD_WARM_MS = 30.0
DASHBOARD_ROUNDS = 10
DEEP_ROUNDS = 15
P95_MS = 300.0
RATIO_MAX = 1.5
SLUG = "benchmark-api"
OWNER = "owner@benchmark-api.test"


@dataclass(frozen=True)
class Endpoint:
    """One thing to load: a label, a URL name (reversed with the customer's slug where it takes
    one), ``session`` (portal) or ``token`` (API), whether it is a paged list, and whether it may
    be missing from this build (pages other branches add)."""

    label: str
    url_name: str
    auth: str
    paged: bool = True
    optional: bool = False


# The dashboard, page and API: loaded with the lists, and also measured alone (cold and warm)
PORTAL_DASHBOARD = Endpoint("portal dashboard", "dashboard:home", "session", paged=False)
API_DASHBOARD = Endpoint("api dashboard", "api:v1:dashboard", "token", paged=False)

ENDPOINTS = [
    Endpoint("portal home", "accounts:customer-home", "session", paged=False),
    PORTAL_DASHBOARD,
    Endpoint("portal payers", "claims:payer-list", "session"),
    Endpoint("portal claims", "claims:claim-list", "session"),
    Endpoint("portal uploads", "claims:upload-list", "session"),
    Endpoint("portal drift events", "drift:event-list", "session"),
    Endpoint("portal drift runs", "drift:run-list", "session"),
    Endpoint("portal audit log", "audit:customer", "session"),
    Endpoint("portal alerts", "alerts:alert-list", "session", optional=True),
    Endpoint("portal webhooks", "webhooks:endpoint-list", "session"),
    Endpoint("portal reports", "reports:report-list", "session", optional=True),
    API_DASHBOARD,
    Endpoint("api payer summary", "api:v1:claim-payer-summary", "token"),
    Endpoint("api claims", "api:v1:claim-list", "token"),
    Endpoint("api uploads", "api:v1:upload-list", "token"),
    Endpoint("api drift events", "api:v1:drift-event-list", "token"),
    Endpoint("api drift runs", "api:v1:drift-run-list", "token"),
    Endpoint("api audit events", "api:v1:audit-event-list", "token"),
    Endpoint("api alerts", "api:v1:alert-list", "token", optional=True),
    Endpoint("api webhooks", "api:v1:webhook-endpoint-list", "token"),
    Endpoint("api reports", "api:v1:report-list", "token", optional=True),
]


def _path(endpoint: Endpoint, slug: str) -> str | None:
    for args in ([slug], []):
        try:
            return reverse(endpoint.url_name, args=args)
        except NoReverseMatch:
            continue
    if endpoint.optional:
        return None
    raise NoReverseMatch(f"{endpoint.url_name} does not exist")


# -- data -----------------------------------------------------------------------------------------


def _scratch(claims: int, echo):
    from portal.accounts import services as accounts_services
    from portal.accounts.models import Customer, TokenScope, User
    from portal.claims import services as claims_services
    from portal.claims.models import Claim, Payer, RejectedRow, Upload
    from portal.drift import services as drift_services
    from portal.drift.models import DriftRun

    customer = Customer.objects.filter(slug=SLUG).first()
    if customer is None:
        customer = accounts_services.customer_create(
            slug=SLUG,
            name="Benchmark API (scratch)",
            owner_email=OWNER,
            owner_password=generator.random.Random().randbytes(12).hex(),
        )
    if Claim.objects.filter(customer=customer).count() != claims:
        for model in (Claim, RejectedRow, Upload, Payer):
            model.objects.filter(customer=customer).delete()
        DriftRun.objects.filter(customer=customer).delete()
        end = date.today()
        spec = generator.ClaimsSpec(
            rows=claims,
            end=end,
            days=365,
            seed=23,
            drifts=[generator.Drift("Humana", end - timedelta(days=20), denial_rate=0.3)],
        )
        with tempfile.TemporaryDirectory(prefix="payerwatch-bench-") as tmp:
            echo(f"generating and importing {claims:,} claims …")
            path = generator.write_csv(spec, Path(tmp) / "claims.csv")
            claims_services.ingest_file(customer=customer, raw_path=str(path))
    if not DriftRun.objects.filter(customer=customer).exists():
        echo("running drift detection …")
        drift_services.detect_now(customer=customer, trigger="benchmark")
    with connection.cursor() as cursor:
        # the payers (a few rows, under autovacuum's threshold after a first import) and the
        # audit log too: every run of this benchmark adds its thousands of events, and stale
        # statistics steer its list to a plan for a few rows (autovacuum catches up later)
        tables = ("claims_claim", "claims_payer", "claims_upload", "drift_driftrun")
        for table in (*tables, "drift_driftevent", "audit_auditevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    owner = User.objects.get(email=OWNER)
    _, token = accounts_services.api_token_create(
        customer=customer, user=owner, name="load benchmark", scope=TokenScope.READ, actor=None
    )
    return customer, owner, token


def _sessions(user, n: int) -> list[str]:
    """``n`` logged-in sessions of ``user``, as the login view leaves them (the idle and absolute
    lifetimes apply), without hashing a password ``n`` times."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from portal.core.middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

    keys = []
    for _ in range(n):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[SESSION_STARTED_KEY] = session[SESSION_SEEN_KEY] = int(time.time())
        session.create()
        keys.append(session.session_key)
    return keys


# -- the server -----------------------------------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db.get("HOST") or "127.0.0.1", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving ``portal.wsgi`` against this process's database."""

    def __init__(self, *, workers: int | None = None, threads: int | None = None):
        self.port = _free_port()
        configured = gunicorn_settings()
        self.description = gunicorn_description(workers, threads, configured)
        self.workers = workers or configured["workers"]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "SECRET_KEY": settings.SECRET_KEY,  # the cursors we build are signed with it
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PAYERWATCH_QUERY_COUNT_HEADER": "true",
            "API_RATE_USER": "1000000/minute",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        }
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi",
                   "--config", str(settings.BASE_DIR / GUNICORN_CONF),
                   "--bind", f"127.0.0.1:{self.port}"]  # fmt: skip
        if workers:
            command += ["--workers", str(workers)]
        if threads and threads > 1:
            # idle keep-alive connections outlive a client's wait for its other connection:
            # gunicorn's 2 s default closes them under the client's next request (a race)
            command += [
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--keep-alive",
                "75",
            ]
        self.process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of gunicorn's master and workers so far (Linux /proc)."""
        pids = [self.process.pid]
        try:
            task = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(pid) for pid in task.read_text().split()]
            return sum(_proc_seconds(str(pid)) for pid in pids)
        except (OSError, ValueError, IndexError):
            return float("nan")

    def wait(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/api/v1/health/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("gunicorn did not start:\n" + self.log.read().decode()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def gunicorn_settings() -> dict:
    """What the project's ``gunicorn.conf.py`` sets (``workers``, ``worker_class``, …), read as
    gunicorn reads it: the file run as Python, in this environment."""
    return runpy.run_path(str(settings.BASE_DIR / GUNICORN_CONF))


def gunicorn_description(
    workers: int | None = None, threads: int | None = None, configured: dict | None = None
) -> str:
    """``5 sync workers (gunicorn.conf.py)``, or the override: ``2 gthread workers × 4 threads``."""
    configured = configured or gunicorn_settings()
    count = workers or configured["workers"]
    if threads and threads > 1:
        return f"{count} gthread workers × {threads} threads"
    kind = configured.get("worker_class", "sync")
    return f"{count} {kind} workers" + ("" if workers else f" ({GUNICORN_CONF})")


# -- the load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    endpoint: Endpoint
    page: str  # "1" or the deep page's number
    url: str


def cpu_reference_ms() -> float:
    """How fast this machine runs Python: a million additions in a loop, the median of five, in
    ms. Machines of the same kind differ by two times and more from one day to the next; this
    figure, printed with the others, says which kind of day a run had."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for number in range(1_000_000):
            total += number
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def _proc_seconds(pid: str, *, children: bool = False) -> float:
    """CPU seconds (user + system) of a process from ``/proc``; with ``children``, plus those of
    its exited and reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = (
        int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float | None:
    """CPU seconds of the local PostgreSQL server so far: every live ``postgres`` process, plus
    the backends that have exited (counted in their parent's children's time). ``None`` where
    no such process can be read (PostgreSQL on another machine, or ``/proc`` out of reach): a
    per-request figure for the database's share of the two cores."""
    total, found = 0.0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            total += _proc_seconds(entry.name, children=True)
            found = True
        except (OSError, ValueError, IndexError):
            continue
    return total if found else None


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _client(base: str, endpoint: Endpoint, session: str, token: str):
    import httpx

    if endpoint.auth == "token":
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    return httpx.Client(base_url=base, cookies={settings.SESSION_COOKIE_NAME: session})


_NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
_PAGES = re.compile(r"page 1 of ([\d,]+)")


def _next_url(response, path: str) -> str | None:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json().get("next")
    match = _NEXT.search(response.text)
    return path + unescape(match[1]) if match else None


def _pages(response, per_page: int) -> int | None:
    """How many pages the list has (None: more than the exact count says)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if not body.get("count_exact", True):
            return None
        return max(1, -(-body["count"] // per_page))
    if "More than" in response.text:
        return None
    match = _PAGES.search(response.text)
    return int(match[1].replace(",", "")) if match else 1


def _deep(client, path: str, per_page: int) -> tuple[str, int]:
    """The URL of page ``DEEP_PAGE`` (or the deepest page) as a client gets there: the page
    before it by number, then its ``next`` link (a cursor). Untimed setup; when the count is
    capped, a binary search finds the last page that has a next one."""
    first = client.get(path)
    first.raise_for_status()
    pages = _pages(first, per_page)
    target = DEEP_PAGE if pages is None else min(DEEP_PAGE, pages)
    if target == 1:
        return path, 1

    def next_of(page: int) -> str | None:
        response = client.get(path, params={"page": page})
        return _next_url(response, path) if response.status_code == 200 else None

    if url := next_of(target - 1):
        return url, target
    good, bad = 1, target - 1  # page ``good`` has a next page, page ``bad`` has none
    url = _next_url(first, path)
    while bad - good > 1:
        middle = (good + bad) // 2
        if found := next_of(middle):
            good, url = middle, found
        else:
            bad = middle
    return (url, good + 1) if url else (path, 1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class _Connection:
    """One client's HTTP/1.1 connection for the timed load: the standard library's
    ``http.client`` with the session cookie or the token written once, kept alive while the
    server keeps it (gthread), opened anew after an answer that closes it (sync workers). The
    load's clients share the two cores with gunicorn and PostgreSQL, so what a client spends per
    request is taken from the server: httpx spent about three times as much CPU per request."""

    def __init__(self, base: str, endpoint: Endpoint, session: str, token: str):
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Host": parts.netloc, "Accept": "*/*"}
        if endpoint.auth == "token":
            self.headers["Authorization"] = f"Bearer {token}"
        else:
            self.headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session}"
        self.http = None

    def get(self, url: str, timeout: float = 60.0) -> tuple[int, str | None]:
        """The answer's status and ``X-Query-Count`` (the whole body is read)."""
        import http.client

        if self.http is None:
            self.http = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            self.http.request("GET", url, headers=self.headers)
            response = self.http.getresponse()
            response.read()
        except Exception:
            self.close()  # a fresh connection for the next request
            raise
        if response.will_close:
            self.close()
        return response.status, response.getheader("X-Query-Count")

    def close(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None


def _drive(base, targets, sessions, token, requests: int, clients: int):
    work: queue.Queue = queue.Queue()
    jobs = [target for target in targets for _ in range(requests)]
    random.Random(1).shuffle(jobs)
    for job in jobs:
        work.put(job)
    results: list[tuple[Target, int, float, int | None]] = []
    lock = threading.Lock()

    def client_loop(index: int) -> None:
        own: dict[str, _Connection] = {}
        while True:
            try:
                target = work.get_nowait()
            except queue.Empty:
                break
            auth = target.endpoint.auth
            if auth not in own:
                own[auth] = _Connection(base, target.endpoint, sessions[index], token)
            started = time.perf_counter()
            try:
                status, queries = own[auth].get(target.url)
            except (OSError, HTTPException) as exc:
                status, queries = type(exc).__name__, None
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                results.append((target, status, elapsed, int(queries) if queries else None))
        for c in own.values():
            c.close()

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def _page_size_queries(base, endpoint, path, session, token) -> dict[int, int | None]:
    """The query count of page 1 at page size 10 and 200 (``page_size`` for the API, django-
    tables2's ``per_page`` for the portal)."""
    param = "page_size" if endpoint.auth == "token" else "per_page"
    counts = {}
    with _client(base, endpoint, session, token) as client:
        client.get(path)  # warm: the token's last-used time is written once a minute
        for size in (10, 200):
            seen = []
            for _ in range(2):  # the fewer of two: a session renewal (once a minute) adds one
                response = client.get(path, params={param: size})
                header = response.headers.get("X-Query-Count")
                seen.append(int(header) if response.status_code == 200 and header else None)
            counts[size] = None if None in seen else min(seen)
    return counts


def _warm(server: Server, customer, sessions: list[str], token: str) -> None:
    """Every worker serves the dashboard once before anything is timed (as a server does after
    its first seconds of traffic): a process compiles a template the first time it renders it,
    and one request at a time may keep reaching the same worker. As many clients at once as
    there are workers, twice, so that each one of them takes a request."""
    paths = [
        (endpoint, _path(endpoint, customer.slug)) for endpoint in (PORTAL_DASHBOARD, API_DASHBOARD)
    ]

    def visit(index: int) -> None:
        for endpoint, path in paths:
            with _client(server.base, endpoint, sessions[index % len(sessions)], token) as client:
                client.get(path, timeout=60).raise_for_status()

    for _ in range(2):
        threads = [threading.Thread(target=visit, args=(i,)) for i in range(server.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _dashboard(base, customer, session: str, token: str, rounds: int) -> list[dict]:
    """The dashboard uncached and cached (PRODUCT §12), one request at a time, nothing else
    running: each cold request follows a ``dashboard.services`` cache delete (what a finished
    upload or drift run does), then warm requests read the cache."""
    from django.core.cache import cache

    from portal.dashboard.services import cache_key

    rows = []
    for endpoint in (PORTAL_DASHBOARD, API_DASHBOARD):
        path = _path(endpoint, customer.slug)
        with _client(base, endpoint, session, token) as client:
            client.get(path).raise_for_status()  # the process is warm, the cache too
            timings: dict[str, list[float]] = {"cold": [], "warm": []}
            for _ in range(rounds):
                cache.delete(cache_key(customer.pk))
                for kind in ("cold", "warm", "warm"):
                    started = time.perf_counter()
                    response = client.get(path)
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    timings[kind].append(elapsed)
        for kind, values in timings.items():
            rows.append(
                {
                    "endpoint": endpoint.label,
                    "cache": kind,
                    "requests": len(values),
                    "p50_ms": round(statistics.median(values), 1),
                    "max_ms": round(max(values), 1),
                }
            )
    return rows


def _deep_alone(base, endpoint, first: str, deep: str, session, token, rounds: int) -> dict:
    """Page 1 and the deep page, one request at a time and in turns, nothing else running: what
    each costs without the queueing of the load (PRODUCT §12's "page 5,000 costs ≤ 1.5× page
    1"). Medians of ``rounds`` each."""
    timings: dict[str, list[float]] = {"first": [], "deep": []}
    with _client(base, endpoint, session, token) as client:
        client.get(first).raise_for_status()
        client.get(deep).raise_for_status()
        for _ in range(rounds):
            for kind, path in (("first", first), ("deep", deep)):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                timings[kind].append((time.perf_counter() - started) * 1000)
    first_ms, deep_ms = (statistics.median(timings[k]) for k in ("first", "deep"))
    return {
        "first_ms": round(first_ms, 1),
        "deep_ms": round(deep_ms, 1),
        "ratio": round(deep_ms / first_ms, 2),
    }


def run(
    *,
    claims: int,
    clients: int,
    requests: int,
    workers: int | None = None,
    threads: int | None = None,
    echo=print,
) -> dict:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    customer, owner, token = _scratch(claims, echo)
    sessions = _sessions(owner, max(clients, 1))
    reference = cpu_reference_ms()
    server = Server(workers=workers, threads=threads)
    try:
        server.wait()
        echo(f"gunicorn on {server.base} ({server.description}); the dashboard cold and warm …")
        _warm(server, customer, sessions, token)
        dashboard = _dashboard(server.base, customer, sessions[0], token, DASHBOARD_ROUNDS)
        echo("finding the deep pages …")
        targets, sizes, deepest, alone = [], {}, {}, {}
        for endpoint in ENDPOINTS:
            path = _path(endpoint, customer.slug)
            if path is None:
                continue
            targets.append(Target(endpoint, "1", path))
            if not endpoint.paged:
                continue
            per_page = 50 if endpoint.auth == "token" else _per_page(endpoint)
            with _client(server.base, endpoint, sessions[0], token) as client:
                url, page = _deep(client, path, per_page)
            deepest[endpoint.label] = page
            if page > 1:
                targets.append(Target(endpoint, str(page), url))
                alone[endpoint.label] = _deep_alone(
                    server.base, endpoint, path, url, sessions[0], token, DEEP_ROUNDS
                )
            sizes[endpoint.label] = _page_size_queries(
                server.base, endpoint, path, sessions[0], token
            )
        echo(f"{len(targets)} targets × {requests} requests, {clients} clients …")
        server_cpu, client_cpu, load = server.cpu_seconds(), time.process_time(), _loadavg()
        database_cpu = postgres_cpu_seconds()
        results, seconds = _drive(server.base, targets, sessions, token, requests, clients)
        server_cpu = server.cpu_seconds() - server_cpu
        client_cpu = time.process_time() - client_cpu
        if database_cpu is not None:
            database_cpu = (postgres_cpu_seconds() or 0.0) - database_cpu
    finally:
        server.stop()
    result = _summarise(claims, clients, requests, targets, results, seconds, sizes, deepest)
    for row in result["lists"]:
        row["alone"] = alone.get(row["endpoint"])
    # where the two cores went: gunicorn's CPU per request is Django's cost; the rest of
    # 2 × seconds is PostgreSQL, the clients (this process) and whatever else runs here
    result["cpu"] = {
        "gunicorn_seconds": round(server_cpu, 1),
        "gunicorn_ms_per_request": round(server_cpu / len(results) * 1000, 1) if results else None,
        "clients_seconds": round(client_cpu, 1),
        "postgres_seconds": None if database_cpu is None else round(database_cpu, 1),
        "postgres_ms_per_request": (
            round(database_cpu / len(results) * 1000, 1) if database_cpu and results else None
        ),
        "wall_seconds_times_cpus": round(seconds * (os.cpu_count() or 1), 1),
        "load_average_before": load,
        "load_average_after": _loadavg(),
        "python_reference_ms": reference,
    }
    result["gunicorn"] = server.description
    result["dashboard"] = dashboard
    result["checks"] = checks(result)
    return result


def _per_page(endpoint: Endpoint) -> int:
    from django.urls import resolve

    path = _path(endpoint, SLUG)
    view = resolve(path).func.view_class
    return getattr(view, "paginate_by", None) or 25


def _summarise(claims, clients, requests, targets, results, seconds, sizes, deepest) -> dict:
    rows = []
    for target in targets:
        mine = [r for r in results if r[0] is target]
        latencies = [r[2] for r in mine]
        counted = [r[3] for r in mine if r[3] is not None]
        # the usual count: a session is renewed (one UPDATE) once a minute, a cold dashboard
        # cache costs its queries once in five minutes
        usual = statistics.mode(counted) if counted else None
        rows.append(
            {
                "endpoint": target.endpoint.label,
                "page": target.page,
                "requests": len(mine),
                "errors": sum(1 for r in mine if r[1] != 200),
                "error_statuses": sorted({str(r[1]) for r in mine if r[1] != 200}),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(_percentile(latencies, 0.95), 1),
                "p99_ms": round(_percentile(latencies, 0.99), 1),
                "queries": usual,
                "queries_seen": sorted(set(counted)),
            }
        )
    lists = []
    for label, page in deepest.items():
        first = next(r for r in rows if r["endpoint"] == label and r["page"] == "1")
        deep = next(r for r in rows if r["endpoint"] == label and r["page"] == str(page))
        if page == 1:
            deep = {**first, "page": "1"}
        lists.append(
            {
                "endpoint": label,
                "deep_page": page,
                "ratio_p50": round(deep["p50_ms"] / first["p50_ms"], 2) if page > 1 else None,
                "queries_page_1": first["queries"],
                "queries_deep": deep["queries"],
                "queries_page_size_10": sizes[label][10],
                "queries_page_size_200": sizes[label][200],
            }
        )
    result = {
        "claims": claims,
        "clients": clients,
        "requests_per_target": requests,
        "seconds": round(seconds, 1),
        "requests_per_second": round(len(results) / seconds, 1) if seconds else None,
        "cpus": os.cpu_count(),
        "endpoints": rows,
        "lists": lists,
    }
    result["checks"] = checks(result)
    return result


def checks(result: dict) -> list[dict]:
    """PRODUCT §12, one line each: p95, errors, deep/first ratio, query counts."""
    rows, lists = result["endpoints"], result["lists"]
    worst = max(rows, key=lambda r: r["p95_ms"])
    errors = sum(r["errors"] for r in rows)

    # the deep page's cost: measured alone (``_deep_alone``) when the run did, else the medians
    # under load (which add the queueing of 20 clients to both)
    def cost_ratio(row):
        return row["alone"]["ratio"] if row.get("alone") else row["ratio_p50"]

    ratios = [x for x in lists if x["ratio_p50"] is not None]
    worst_ratio = max(ratios, key=cost_ratio, default=None)
    uneven = [
        x["endpoint"]
        for x in lists
        if len({str(x[k]) for k in ("queries_page_1", "queries_deep")}) > 1
        or x["queries_page_size_10"] != x["queries_page_size_200"]
    ]
    dashboard = [
        {
            "check": f"dashboard uncached < {DASHBOARD_COLD_MS:.0f} ms, cached < "
            f"{DASHBOARD_WARM_MS:.0f} ms (medians, one request at a time)",
            "ok": all(
                row["p50_ms"] < (DASHBOARD_COLD_MS if row["cache"] == "cold" else DASHBOARD_WARM_MS)
                for row in result["dashboard"]
            ),
            "detail": ", ".join(
                f"{row['endpoint']} {row['cache']} {row['p50_ms']} ms (max {row['max_ms']})"
                for row in result["dashboard"]
            ),
        }
    ] if result.get("dashboard") else []  # fmt: skip
    return [
        *dashboard,
        {
            "check": f"p95 < {P95_MS:.0f} ms on every endpoint",
            "ok": worst["p95_ms"] < P95_MS,
            "detail": f"worst {worst['endpoint']} page {worst['page']}: {worst['p95_ms']} ms",
        },
        {"check": "no errors", "ok": errors == 0, "detail": f"{errors} errors"},
        {
            "check": f"deep page / page 1 ≤ {RATIO_MAX} (medians, one request at a time)",
            "ok": worst_ratio is None or cost_ratio(worst_ratio) <= RATIO_MAX,
            "detail": "no list deeper than one page"
            if worst_ratio is None
            else f"worst {worst_ratio['endpoint']} (page {worst_ratio['deep_page']}): "
            f"{cost_ratio(worst_ratio)}",
        },
        {
            "check": "queries per request independent of page and page size",
            "ok": not uneven,
            "detail": "differ: " + ", ".join(uneven) if uneven else "equal on every list",
        },
    ]
