"""The commands' shared exit codes and wording (codegen_config.commands)."""

from __future__ import annotations

from codegen_config.commands import BadArgument, ExitCode, NothingMatched, PartlyFailed, ids_listed, plural


def test_each_error_carries_its_exit_code():
    assert BadArgument("--days: must be at least 1").returncode == ExitCode.BAD_ARGUMENT == 2
    assert NothingMatched("no row matches").returncode == ExitCode.NOTHING_MATCHED == 3
    assert PartlyFailed("1 of 2 failed").returncode == ExitCode.PARTLY_FAILED == 4


def test_plurals_agree_with_their_count():
    assert [plural(n, "row") for n in (0, 1, 2)] == ["0 rows", "1 row", "2 rows"]
    assert plural(3, "delivery", "deliveries") == "3 deliveries"


def test_long_id_lists_are_cut_with_a_count():
    assert ids_listed(range(3)) == "0, 1, 2"
    assert ids_listed(range(12), most=10).endswith("9 and 2 more")
