"""File paths of generated projects: relative, normalized, portable.

The rules (the README's bad-input list says the same):

- not empty, at most ``max_bytes`` UTF-8 bytes once normalized;
- relative, ``/`` as separator (no backslash), no ``..`` segment; empty and ``.`` segments dropped;
- no control, format or separator characters (Unicode categories Cc, Cf, Zl, Zp, Cs: C0 and C1
  controls, DEL, bidirectional overrides, zero-width characters, line and paragraph separators,
  lone surrogates), which render invisibly or reorder what a reviewer sees;
- its NFKC form must pass the same rules: ``．．/x`` (fullwidth dots), ``․․/x`` (one-dot leaders) and
  ``／／etc/passwd`` (fullwidth slashes) are refused, since a tool that normalises them sees ``..``
  or an absolute path. (A path whose NFKC form passes is stored as sent.)
- portable to Windows checkouts: no drive designator (``C:``…) at the start, no segment named after
  a reserved device (``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``–``COM9``, ``LPT0``–``LPT9``, with
  any extension, in any case, superscript digits included), and no segment that starts with a space
  or ends with a space or a dot (Windows drops those, so two paths would collide).
"""

from __future__ import annotations

import re
import unicodedata

from projects.errors import InvalidFilePath

#: Unicode categories refused anywhere in a path.
_REFUSED_CATEGORIES = {"Cc": "control", "Cf": "format", "Zl": "line separator", "Zp": "paragraph separator",
                       "Cs": "surrogate"}  # fmt: skip
_DRIVE = re.compile(r"^[A-Za-z]:")
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$", re.IGNORECASE)


def project_file_path_normalize(raw: str, *, max_bytes: int) -> str:
    """Return ``raw`` as a normalized relative POSIX path, or raise InvalidFilePath saying why (rules above).

    Empty segments and ``.`` segments are dropped (``a//./b`` is ``a/b``).
    """
    path = _path_check(raw)
    folded = unicodedata.normalize("NFKC", raw)
    if folded != raw:
        try:
            _path_check(folded)
        except InvalidFilePath as exc:
            raise InvalidFilePath(f"must not normalise (NFKC) to a refused path {folded!r}: {exc}") from None
    if len(path.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidFilePath(f"must be at most {max_bytes} bytes long")
    return path


def _path_check(raw: str) -> str:
    if not raw:
        raise InvalidFilePath("must not be empty")
    for ch in raw:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind:
            raise InvalidFilePath(f"must not contain {kind} characters (U+{ord(ch):04X})")
    if "\\" in raw:
        raise InvalidFilePath("must use '/' as separator, not backslashes")
    if raw.startswith("/"):
        raise InvalidFilePath("must be relative, not absolute")
    if _DRIVE.match(raw):
        raise InvalidFilePath("must not start with a drive letter")
    segments = [segment for segment in raw.split("/") if segment not in ("", ".")]
    if ".." in segments:
        raise InvalidFilePath("must not contain '..' segments")
    if not segments:
        raise InvalidFilePath("must name a file")
    for segment in segments:
        if segment[0] == " " or segment[-1] in " .":
            raise InvalidFilePath(
                f"must not have a segment starting with a space or ending with a space or dot: {segment!r}"
            )
        if _DEVICE.match(segment.split(".", 1)[0].rstrip(" ")):
            raise InvalidFilePath(f"must not have a segment named after a reserved device: {segment!r}")
    return "/".join(segments)
