"""`make test`'s first step names the Debian packages it cannot install, and fails under CI only."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "devinfra" / "system-packages.sh"


def run_without_tools(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    """The script on a PATH that holds only the shell and coreutils it uses: no apt-get, no test programs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id", "ls"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), **({"CI": "true"} if ci else {})}
    return subprocess.run([str(bin_dir / "bash"), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_what_cannot_be_installed_is_named_with_its_package(tmp_path):
    done = run_without_tools(tmp_path, ci=False)

    assert done.returncode == 0, done.stderr
    for package in ("chromium", "docker-compose", "prometheus"):
        assert f"  {package}: " in done.stdout
    assert "sudo apt-get install" in done.stdout
    assert "Their tests will be skipped." in done.stdout


def test_under_ci_a_missing_program_fails_the_run(tmp_path):
    done = run_without_tools(tmp_path, ci=True)

    assert done.returncode == 1
    assert "chromium" in done.stdout
    assert "skipped" not in done.stdout


def test_nothing_is_said_when_every_program_is_there():
    done = subprocess.run(["bash", str(SCRIPT)], env={**os.environ, "CI": "true"}, capture_output=True, text=True,
                          timeout=600)  # fmt: skip

    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr
