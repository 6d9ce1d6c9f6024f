"""Issue 25, item 14 (and 10): what ``foreman`` says about itself, without any AWS: bare ``foreman``, ``--help``, an
unknown option, the options each command lists."""

from __future__ import annotations

import pytest

from foreman import cli


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_foreman_alone_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys)

    assert (code, err) == (0, "")
    assert out.startswith("usage: foreman ")
    assert "tasks" in out
    assert "local" in out


def test_the_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "--help")

    assert "130 interrupted (Ctrl-C)" in out
    assert "a run that claimed tasks it could\nnot invoke" in out  # item 10: what makes a SUCCEEDED run exit 1


def test_an_unknown_option_is_reported_with_its_commands_usage_and_the_closest_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "status", "--labourers", "x")

    assert (code, out) == (2, "")
    assert err.startswith("usage: foreman status ")
    assert "foreman status: error: unrecognized arguments: --labourers (did you mean --labourer?)" in err


def test_only_run_takes_a_state_machine_arn(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["config", "put"], ["tasks", "create"], ["status"]):
        _, out, _ = _run(capsys, *command, "--help")
        assert "--state-machine-arn" not in out, command
    _, out, _ = _run(capsys, "run", "--help")
    assert "--state-machine-arn ARN" in out
    assert "Scavenger" in out


def test_config_validate_names_every_location_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "config", "validate", "--help")

    assert "s3:my-bucket/config.json" in out
    assert "s3:BUCKET/KEY location" in out
