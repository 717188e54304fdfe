"""`make bench`: start PostgreSQL, run every workload against its baseline, write the results."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "services" / "projects")]

from bench.harness import Workload, now_iso, results_markdown, results_write, run_workload  # noqa: E402
from devinfra.postgres import PostgresServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="samples per side of each workload (default 7)")
    parser.add_argument("--quick", action="store_true", help="smaller batches, for a smoke run")
    parser.add_argument("--only", help="run only workloads whose name contains this")
    args = parser.parse_args()

    started = now_iso()
    postgres = PostgresServer().start()
    try:
        os.environ["DATABASE_URL"] = postgres.create_database("bench")
        os.environ["DJANGO_SETTINGS_MODULE"] = "projects_service.settings.test"
        os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)

        from bench.projects_workloads import projects_workloads

        results = []
        for factory in projects_workloads(args.quick):
            made = factory()
            for workload in made if isinstance(made, list) else [made]:
                assert isinstance(workload, Workload)
                if args.only and args.only not in workload.name:
                    continue
                print(f"running {workload.name} ({args.rounds} rounds)", flush=True)
                results.append(run_workload(workload, args.rounds))
    finally:
        postgres.stop()

    context = {
        "started": started,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        "PostgreSQL on loopback (fsync off)",
        "rounds": args.rounds,
    }
    folder = results_write(results, context)
    print(results_markdown(results, context))
    print(f"results written to {folder.relative_to(REPO)}/ (results.md, results.json, chart.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
