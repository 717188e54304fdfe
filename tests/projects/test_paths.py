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


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("a\u0085b", r"control characters \(U\+0085\)"),  # C1 (NEL)
        ("a\x7fb", r"control characters \(U\+007F\)"),
        ("\u202etxt.exe", r"format characters \(U\+202E\)"),  # right-to-left override
        ("\u200b../x", r"format characters \(U\+200B\)"),  # zero-width space
        ("a\ufeffb", r"format characters \(U\+FEFF\)"),
        ("a\u2028b", r"line separator characters \(U\+2028\)"),
        ("a\u2029b", r"paragraph separator characters \(U\+2029\)"),
        ("\uff0e\uff0e/x", r"NFKC.*'\.\./x'.*'\.\.' segments"),  # fullwidth full stops
        ("\u2024\u2024/x", r"NFKC.*'\.\./x'.*'\.\.' segments"),  # one-dot leaders
        ("\uff0f\uff0fetc/passwd", r"NFKC.*relative"),  # fullwidth solidus
        ("a/\uff3c/b", r"NFKC.*backslashes"),  # fullwidth reverse solidus
        ("C:/Windows/x", "drive letter"),
        ("c:x", "drive letter"),
        ("src/CON", "reserved device: 'CON'"),
        ("src/nul.txt", "reserved device"),
        ("lpt9.tar.gz", "reserved device"),
        ("COM\u00b9", "reserved device"),
        ("aux /x", "space or dot"),
        (" a/b", "starting with a space"),
        ("a/b ", "ending with a space or dot"),
        ("a./b", "ending with a space or dot"),
    ],
)
def test_invisible_confusable_and_unportable_paths_are_refused(raw, reason):
    with pytest.raises(InvalidFilePath, match=reason):
        project_file_path_normalize(raw, max_bytes=1024)


@pytest.mark.parametrize(
    "raw",
    ["console.log", "src/com10/x", "nul-device.md", "ab:c/d", ".gitignore", "docs/ü/ﬁle.txt", "a\uff0fb", "連絡/表.md"],
)
def test_paths_close_to_the_rules_are_kept(raw):
    assert project_file_path_normalize(raw, max_bytes=1024) == raw
