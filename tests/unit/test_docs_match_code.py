"""The docs say what the code does (issue 25, items 3, 10, 13, 15): read from the files and from the CLI's own
parser, so a new option or state that the docs miss fails here."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

import pytest

from foreman import cli

ROOT = Path(__file__).resolve().parents[2]


def _text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _subparser(*names: str) -> argparse.ArgumentParser:
    parser = cli.build_parser()
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("command", [("local", "serve"), ("tasks", "create"), ("run",)], ids=" ".join)
def test_cli_md_synopsis_names_every_option_of_the_command(command: tuple[str, ...]) -> None:
    doc = _text("docs/cli.md")
    synopsis = re.search(rf"```\nforeman {' '.join(command)} (.*?)```", doc, re.S)
    assert synopsis is not None, command
    options = {o for a in _subparser(*command)._actions for o in a.option_strings if o.startswith("--")}
    stack = {o for a in cli.aws_options()._actions for o in a.option_strings}
    missing = sorted(o for o in options - stack - {"--help"} if o not in synopsis.group(1))
    assert missing == [], f"foreman {' '.join(command)}: {missing}"


def test_the_state_diagrams_show_every_top_level_state_and_fit_the_page() -> None:
    for name in ("README.md", "docs/index.md"):
        diagram = re.search(r"```\n(Orchestrator\nLoadConfig ─►.*?)```", _text(name), re.S)
        assert diagram is not None, name
        orchestrator, found, invocations = diagram.group(1).partition("\nInvocations")
        assert found, f"{name}: no Invocations part"
        for machine, part in (("orchestrator", orchestrator), ("invocations", invocations)):
            states = json.loads(_text(f"statemachine/{machine}.asl.json"))["States"]
            assert [state for state in states if not re.search(rf"\b{state}\b", part)] == [], (name, machine)
        assert max(len(line) for line in diagram.group(1).splitlines()) <= 100, name  # the home page clipped it


def test_the_readme_lists_every_page_of_the_site() -> None:
    readme = _text("README.md")
    pages = sorted(path.name for path in (ROOT / "docs").glob("*.md") if path.name != "index.md")
    assert [page for page in pages if f"(docs/{page})" not in readme] == []


def test_the_readmes_demo_excerpt_has_every_example_labourer() -> None:
    config = json.loads(_text("examples/config.json"))
    excerpt = re.search(r"```\n(tick 2/15.*?)```", _text("README.md"), re.S)
    assert excerpt is not None
    rows = {line.split()[0] for line in excerpt.group(1).splitlines()[2:]}
    assert rows == set(config["task_config"]["labourers"])


def test_the_site_loads_no_web_fonts() -> None:
    assert re.search(r"^  font: false", _text("mkdocs.yml"), re.M)


def test_what_the_docs_examples_write_is_ignored() -> None:
    for path in ("endpoint.json", "docs/examples/local-development/labourer/out/shout.txt"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, path


def test_the_walk_through_says_when_a_retry_comes_and_which_role_a_function_needs() -> None:
    walk = _text("docs/local-development.md")
    assert "`--every` does not shorten it" in walk
    assert '"retry_delay_seconds": 10' in walk
    assert "The role must exist in the endpoint's IAM" in walk
    assert "[Task lifecycle: hooking up a labourer](lifecycle.md#hooking-up-a-labourer)" in walk


def test_cli_md_documents_what_makes_a_succeeded_run_exit_1() -> None:
    assert "a\nrun that SUCCEEDED as an execution but claimed tasks it could not invoke" in _text("docs/cli.md")
