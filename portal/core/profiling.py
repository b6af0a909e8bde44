"""Where a page's time goes: ``python -m portal.core.profiling <path> [<path> …]``.

A development helper for the pages-and-API benchmark (README, "Pages and API under load"): it
serves each path in this process through the whole middleware stack (Django's test client, as
the customer ``benchmark-api``'s owner with a real session, or with ``--api`` as an API
client), with ``DEBUG`` off and the cached template loader as in production, and prints per
path the wall time per request, the SQL statements per request and the functions that cost the
most under cProfile. Run ``manage.py benchmark api`` once first: it creates the customer.

    DATABASE_URL=… python -m portal.core.profiling /c/benchmark-api/claims/ --repeat 30
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time


def main(argv: list[str] | None = None, *, quiet: bool = False) -> None:
    import django

    django.setup()
    if quiet:
        import logging

        logging.getLogger("payerwatch.requests").setLevel(logging.WARNING)  # a line per request
    from django.db import connection
    from django.test import Client

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (tottime, …)")
    parser.add_argument(
        "--api", action="store_true", help="As an API client (a new read token of the owner)."
    )
    parser.add_argument("--slug", default="benchmark-api")
    parser.add_argument(
        "--queries", action="store_true", help="Print the SQL of a request, with median times."
    )
    args = parser.parse_args(argv)

    from portal.accounts.models import Customer, Membership

    customer = Customer.objects.get(slug=args.slug)
    owner = Membership.objects.filter(customer=customer, role="owner").first().user
    client = Client(HTTP_HOST="127.0.0.1")
    if args.api:
        from portal.accounts.models import TokenScope
        from portal.accounts.services import api_token_create

        _, token = api_token_create(
            customer=customer, user=owner, name="profiling", scope=TokenScope.READ, actor=None
        )
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    else:
        client.force_login(owner)
    for path in args.paths:
        path = path.replace("{slug}", args.slug)
        for _ in range(3):  # warm: imports, template compilation, the dashboard cache
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        queries: list[list] = []

        def capture(execute, sql, params, many, context, queries=queries):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append([sql, (time.perf_counter() - started) * 1000])

        with connection.execute_wrapper(capture):
            for _ in range(5):
                client.get(path)
        n = len(queries) // 5  # statements per request; each one's median over the five
        medians = [statistics.median(queries[i + k * n][1] for k in range(5)) for i in range(n)]
        queries = [[queries[i][0], medians[i]] for i in range(n)]
        started = time.perf_counter()
        for _ in range(args.repeat):
            client.get(path)
        plain = (time.perf_counter() - started) / args.repeat * 1000
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(args.repeat):
            client.get(path)
        profile.disable()
        per_request = (time.perf_counter() - started) / args.repeat * 1000
        print(
            f"\n=== {path}: {plain:.1f} ms/request ({per_request:.1f} profiled), "
            f"{len(queries)} queries"
        )
        if args.queries:
            for sql, ms in queries:
                print(f"    {ms:6.2f} ms  {' '.join(sql.split())[:200]}")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main(quiet=True)
