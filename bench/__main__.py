"""`make bench`: start PostgreSQL and Redis, run every workload against its baseline, write the results."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "services" / "projects")]

from bench.harness import (  # noqa: E402
    Measurement,
    Result,
    Workload,
    now_iso,
    results_markdown,
    results_write,
    run_workload,
)
from devinfra.postgres import PostgresServer  # noqa: E402
from devinfra.redis import RedisServer  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="samples per side of each workload (default 7)")
    parser.add_argument("--quick", action="store_true", help="smaller batches and shorter runs, for a smoke run")
    parser.add_argument("--only", help="run only workloads whose name contains this")
    return parser.parse_args()


def run_all(
    args: argparse.Namespace, postgres: PostgresServer, database_url: str, redis_url: str
) -> tuple[list[Result], list[Measurement]]:
    from bench import memory_workloads, notifier_workloads, relay_workloads, webhook_workloads
    from bench.projects_workloads import projects_workloads

    def wanted(name: str) -> bool:
        return not args.only or args.only in name

    def run(workload: Workload, rounds: int) -> Result | None:
        if not wanted(workload.name):
            return None
        print(f"running {workload.name} ({max(rounds, workload.min_rounds)} rounds)", flush=True)
        results.append(run_workload(workload, rounds))
        return results[-1]

    results: list[Result] = []
    measurements: list[Measurement] = []
    for factory in projects_workloads(args.quick):
        made = factory()
        for workload in made if isinstance(made, list) else [made]:
            run(workload, args.rounds)
    drain, naive = (20_000, 2_000) if args.quick else (100_000, 10_000)
    for workload in relay_workloads.drain_workloads(drain, naive, redis_url):
        run(workload, min(args.rounds, 3))
    run(relay_workloads.bloat_workload(15.0 if args.quick else 60.0, 10_000, redis_url), min(args.rounds, 3))
    if wanted("replicas") or wanted("failover"):
        from bench import replication_workloads
        from devinfra.sentinel import SentinelGroup

        group = SentinelGroup().start()
        try:
            run(
                replication_workloads.min_replicas_workload(20_000 if args.quick else 50_000, group),
                min(args.rounds, 5),
            )
        finally:
            group.stop()
        if wanted("failover"):
            print("measuring events lost across Redis failovers", flush=True)
            log = Path(tempfile.mkdtemp(prefix="bench-failover-")) / "relays.log"
            measurements += replication_workloads.failover_measurements(database_url, 3, 20_000, log)
    if wanted("latency"):
        print("measuring commit-to-queue latency", flush=True)
        seconds = 15.0 if args.quick else 30.0  # 3,000 / 6,000 events at 200/s: enough for a p99
        measurements += relay_workloads.latency_measurements(database_url, redis_url, seconds=seconds)
    if wanted("scale"):
        print("measuring 1, 2 and 4 relays", flush=True)
        count = 20_000 if args.quick else 60_000
        measurements += relay_workloads.scale_measurements(database_url, redis_url, count)
    if wanted("notifier"):
        print("measuring the notifier's consume rate", flush=True)
        measurements += notifier_workloads.consume_measurements(postgres, redis_url, 5_000 if args.quick else 20_000)
    if wanted("e2e"):
        print("measuring end-to-end latency", flush=True)
        measurements += notifier_workloads.e2e_latency_measurements(
            postgres, database_url, redis_url, 15.0 if args.quick else 30.0
        )
    if wanted("webhook"):
        measurements += webhook_workloads.webhook_measurements(postgres, database_url, redis_url, quick=args.quick)
    if wanted("tracing"):
        from bench.tracing_workloads import tracing_measurements

        print("measuring what tracing costs", flush=True)
        measurements += tracing_measurements(run, postgres, redis_url, args.quick, args.rounds)
    if wanted("rss"):
        print("measuring memory growth under steady load", flush=True)
        # the same in --quick: shorter, the warm-up does not reach the plateau and the figure means nothing
        measurements += memory_workloads.rss_growth_measurements(postgres, database_url, redis_url, 100_000, 20_000)
    return results, measurements


def main() -> int:
    args = arguments()
    started = now_iso()
    postgres = PostgresServer().start(commit_timestamps=True)  # when a notification was committed
    redis_server = RedisServer().start()
    try:
        database_url = postgres.create_database("bench")
        os.environ.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_server.url,
            OUTBOX_WAKEUP="notify",  # what runs on PostgreSQL; the relays started here inherit it
            DJANGO_SETTINGS_MODULE="projects_service.settings.test",
        )
        os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
        import django
        from django.core.management import call_command

        django.setup()
        logging.getLogger("outbox.relay").setLevel(logging.WARNING)  # no line per batch in the report
        call_command("migrate", verbosity=0)
        results, measurements = run_all(args, postgres, database_url, redis_server.url)
    finally:
        redis_server.stop()
        postgres.stop()

    context = {
        "started": started,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        "PostgreSQL and Redis on loopback (PostgreSQL fsync off)",
        "rounds": args.rounds,
    }
    folder = results_write(results, context, measurements)
    print(results_markdown(results, context, measurements))
    print(f"results written to {folder.relative_to(REPO)}/ (results.md, results.json, chart.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
