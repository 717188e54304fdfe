"""`make production` takes every port it uses from a variable with a default, and refuses bad ones in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from devinfra.production import PORT_VARIABLES, ports_from
from tests.support import REPO


def test_every_port_has_its_default_and_each_variable_sets_its_port():
    defaults = ports_from({})
    assert defaults["api_port"] == 8000 and defaults["notifier_port"] == 8001
    assert defaults["relay_metrics_ports"] == {"relay-1": 9101, "relay-2": 9102}
    assert len({v for k, v in defaults.items() if k != "relay_metrics_ports"} | {9101, 9102}) == len(PORT_VARIABLES)

    moved = ports_from({"PRODUCTION_POSTGRES_PORT": "6543", "PRODUCTION_RELAY_2_METRICS_PORT": "19102"})
    assert moved["postgres_port"] == 6543
    assert moved["relay_metrics_ports"]["relay-2"] == 19102


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PRODUCTION_SMTP_PORT": "mail"}, "PRODUCTION_SMTP_PORT='mail': not a TCP port"),
        ({"PORT": "70000"}, "PORT='70000': not a TCP port"),
        ({"PRODUCTION_REDIS_PORT": "8001"}, "NOTIFIER_PORT and PRODUCTION_REDIS_PORT: the same port twice"),
    ],
)
def test_a_bad_port_is_refused_naming_its_variable(environ, message):
    with pytest.raises(ValueError, match=message):
        ports_from(environ)


def test_the_command_says_which_variable_is_wrong_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "devinfra.production"], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PRODUCTION_PROMETHEUS_PORT": "-1"},
    )  # fmt: skip

    assert done.returncode == 1
    assert done.stderr.strip() == "make production: PRODUCTION_PROMETHEUS_PORT='-1': not a TCP port (1-65535)"
