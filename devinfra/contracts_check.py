"""The committed JSON Schemas of the event catalogue: write them, or check them (``make lint``).

``python -m devinfra.contracts_check write`` regenerates ``shared/schemas/`` from the msgspec types.
``python -m devinfra.contracts_check check`` fails (exit 1) when

- the committed schemas differ from what the code generates (run ``make contracts``), or
- the code changes a schema that was ever committed in a way the rules refuse (compared with every
  committed form of it in git history, naming the schema, the field and the rule).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codegen_contracts.compat import catalogue_breaches, catalogue_schemas, schema_text

REPO = Path(__file__).resolve().parent.parent
#: Where the catalogue's schemas are committed, relative to the repository.
SCHEMAS = Path("shared/schemas")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout


def released_catalogues() -> dict[str, dict[str, dict]]:
    """Every committed form of the schemas directory, by commit: {commit: {file name: schema}}."""
    import json

    try:
        commits = _git("log", "--format=%H", "--", str(SCHEMAS)).split()
    except (OSError, subprocess.CalledProcessError):
        return {}
    catalogues = {}
    for commit in commits:
        names = _git("ls-tree", "--name-only", f"{commit}:{SCHEMAS}").split()
        catalogues[commit] = {
            name: json.loads(_git("show", f"{commit}:{SCHEMAS / name}")) for name in names if name.endswith(".json")
        }
    return catalogues


def write() -> int:
    directory = REPO / SCHEMAS
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in catalogue_schemas().items():
        (directory / name).write_text(schema_text(schema))
    print(f"wrote {len(catalogue_schemas())} schemas to {SCHEMAS}")
    return 0


def check() -> int:
    generated = catalogue_schemas()
    directory = REPO / SCHEMAS
    problems = []
    committed = {path.name: path.read_text() for path in sorted(directory.glob("*.json"))}
    for name, schema in generated.items():
        if committed.get(name) != schema_text(schema):
            problems.append(f"{SCHEMAS / name}: differs from the code (run `make contracts` and commit it)")
    for name in committed.keys() - generated.keys():
        problems.append(f"{SCHEMAS / name}: no longer generated (a released type or version stays listed)")
    for commit, released in released_catalogues().items():
        problems += [f"{breach} (against {commit[:10]})" for breach in catalogue_breaches(released, generated)]
    for problem in dict.fromkeys(problems):
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"contracts: {len(generated)} schemas match the code and keep every released form")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    sys.exit({"write": write, "check": check}[command]())
