"""Schemathesis hooks: values of the formats the APIs' schemas define beyond JSON Schema's own.

``project-file-path``, ``webhook-url``, ``repository-url`` and ``outbox-age`` are rules no regular expression states
(NFKC folding, reserved device names, non-public addresses). Schemathesis cannot invent valid values
for a format it does not know, so these strategies build them; each value is checked by the same
function the API validates with, so a valid-by-schema request is valid to the server as well.
Loaded through ``hooks`` in schemathesis.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "shared"), str(REPO / "services" / "projects")]

from codegen_contracts.targets import webhook_url_problem  # noqa: E402
from projects.errors import InvalidFilePath  # noqa: E402
from projects.paths import project_file_path_normalize  # noqa: E402

#: Letters, digits and a few marks real file names use, ASCII and not.
_NAME_CHARACTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+. éßøж文字")
_SEGMENT = st.text(_NAME_CHARACTERS, min_size=1, max_size=24)
_LABEL = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=16)
_HOST = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "org", "net", "dev", "io"]),
)
_URL_PATH = st.lists(_LABEL, max_size=3).map(lambda parts: "/" + "/".join(parts))


def _path_valid(path: str) -> bool:
    try:
        project_file_path_normalize(path, max_bytes=1024)
    except InvalidFilePath:
        return False
    return True


project_file_paths = st.lists(_SEGMENT, min_size=1, max_size=5).map("/".join).filter(_path_valid)
webhook_urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    _HOST,
    st.one_of(st.just(""), st.integers(1, 65535).map(":{}".format)),
    _URL_PATH,
).filter(lambda url: webhook_url_problem(url) is None)
repository_urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}{path}.git",
    st.sampled_from(["https", "http", "ssh", "git"]),
    _HOST,
    _URL_PATH,
)

#: Ages from a second to a century (outbox.filters refuses longer ones).
outbox_ages = st.one_of(
    st.integers(0, 36525).map("{}d".format),
    st.integers(0, 876_600).map("{}h".format),
    st.integers(0, 3_155_760_000).map("{}s".format),
    st.builds("{}.{}m".format, st.integers(0, 52_595_999), st.integers(0, 999)),
)

schemathesis.openapi.format("project-file-path", project_file_paths)
schemathesis.openapi.format("outbox-age", outbox_ages)
schemathesis.openapi.format("age", outbox_ages)  # the notifier's ages: the same rule
schemathesis.openapi.format("webhook-url", webhook_urls)
schemathesis.openapi.format("repository-url", repository_urls)
