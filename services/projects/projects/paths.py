"""File paths of generated projects: relative, normalized, portable."""

from __future__ import annotations

from projects.errors import InvalidFilePath


def project_file_path_normalize(raw: str, *, max_bytes: int) -> str:
    """Return ``raw`` as a normalized relative POSIX path, or raise InvalidFilePath saying why.

    Empty segments and ``.`` segments are dropped (``a//./b`` is ``a/b``); absolute paths, ``..``
    segments, backslashes and control characters are refused.
    """
    if not raw:
        raise InvalidFilePath("must not be empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise InvalidFilePath("must not contain control characters")
    if "\\" in raw:
        raise InvalidFilePath("must use '/' as separator, not backslashes")
    if raw.startswith("/"):
        raise InvalidFilePath("must be relative, not absolute")
    segments = [segment for segment in raw.split("/") if segment not in ("", ".")]
    if ".." in segments:
        raise InvalidFilePath("must not contain '..' segments")
    if not segments:
        raise InvalidFilePath("must name a file")
    path = "/".join(segments)
    if len(path.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidFilePath(f"must be at most {max_bytes} bytes long")
    return path
