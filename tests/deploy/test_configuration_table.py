"""docs/configuration.md lists every environment variable the two services read (their code, the shared
packages and the deployment's gunicorn config), and nothing else: a variable read without a row, or a
row no code reads, fails here."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.support import REPO

#: Where the services' code is: what `make run`, the images and compose run.
SOURCES = [REPO / "services", REPO / "shared", REPO / "deploy"]
#: The helpers that read one variable, named by their first argument (codegen_config, os).
READERS = {
    "env_str", "env_int", "env_float", "env_bool", "env_list", "env_duration", "env_durations", "env_master_key",
    "getenv",
}  # fmt: skip
#: The variable a reader reads when called without one.
DEFAULT_NAMES = {"env_master_key": "WEBHOOK_MASTER_KEY"}
#: Read by the libraries the services configure, not by their code, and documented in the table.
LIBRARY_READS = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}
TABLE = REPO / "docs" / "configuration.md"


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _name(node: ast.expr, constants: dict[str, str], where: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    raise AssertionError(f"{where}: an environment variable read by a name this test cannot resolve")


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def variables_read(path: Path) -> Iterator[str]:
    """The variables ``path`` reads: through a reader helper, ``os.environ.get/setdefault`` or ``os.environ[...]``.

    A helper that passes its own ``name`` parameter on is a reader itself: its callers are what count.
    """
    tree = ast.parse(path.read_text(), str(path))
    constants = _constants(tree)
    parameters: dict[int, set[str]] = {}  # id of each call node -> the parameters of the function it is in
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            names = {arg.arg for arg in function.args.args + function.args.kwonlyargs}
            for inner in ast.walk(function):
                parameters.setdefault(id(inner), set()).update(names)
    for node in ast.walk(tree):
        where = f"{path}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            environ_method = (
                isinstance(func, ast.Attribute) and _is_environ(func.value) and name in ("get", "setdefault")
            )
            if not (name in READERS or environ_method):
                continue
            if not node.args:
                yield DEFAULT_NAMES[name]
            elif not (isinstance(node.args[0], ast.Name) and node.args[0].id in parameters.get(id(node), set())):
                yield _name(node.args[0], constants, where)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
            yield _name(node.slice, constants, where)


def code_reads() -> set[str]:
    found: set[str] = set()
    for source in SOURCES:
        for path in source.rglob("*.py"):
            if "migrations" not in path.parts:
                found.update(variables_read(path))
    return found


def table_lists() -> set[str]:
    rows = [line for line in TABLE.read_text().splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_variable_the_code_reads_is_in_the_table():
    missing = code_reads() - table_lists()
    assert not missing, f"read by the code but not listed in docs/configuration.md: {sorted(missing)}"


def test_the_table_lists_only_what_the_code_reads():
    extra = table_lists() - code_reads() - LIBRARY_READS
    assert not extra, f"listed in docs/configuration.md but read by no code: {sorted(extra)}"


def test_the_scan_sees_each_way_of_reading(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom os import environ\nDIR = 'A_DIR'\n"
        "env_int('AN_INT', 1)\nos.environ.get('A_GET')\nos.environ['AN_ITEM']\nenviron.get(DIR)\n"
        "os.environ.setdefault('A_DEFAULT', 'x')\nos.getenv('A_GETENV')\nos.environ['WRITTEN'] = '1'\n"
    )
    assert set(variables_read(sample)) == {"AN_INT", "A_GET", "AN_ITEM", "A_DIR", "A_DEFAULT", "A_GETENV"}
