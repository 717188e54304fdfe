"""File paths: normalized relative POSIX paths, or a reason why not."""

from __future__ import annotations

import pytest

from projects.errors import InvalidFilePath
from projects.paths import project_file_path_normalize


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("src/app.py", "src/app.py"), ("./src//app.py", "src/app.py"), ("a/./b/", "a/b"), ("é/ü.txt", "é/ü.txt")],
)
def test_paths_are_normalized(raw, normalized):
    assert project_file_path_normalize(raw, max_bytes=1024) == normalized


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("src/../../etc", r"'\.\.'"),
        ("..", r"'\.\.'"),
        ("src\\app.py", "backslash"),
        ("src/\x00.py", "control"),
        ("src/\n.py", "control"),
        ("./.", "name a file"),
        ("a" * 1025, "1024 bytes"),
        ("é" * 513, "1024 bytes"),
    ],
)
def test_bad_paths_are_refused_with_the_reason(raw, reason):
    with pytest.raises(InvalidFilePath, match=reason):
        project_file_path_normalize(raw, max_bytes=1024)
