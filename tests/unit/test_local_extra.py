"""The ``local`` extra (``pip install "foreman[local]"``) declares what ``foreman local`` needs, pinned as the
dependency layer and the lock pin it (issue 25, item 1)."""

from __future__ import annotations

import argparse
import importlib.util
import tomllib
from pathlib import Path

import pytest

from foreman.cli import local
from foreman.cli.errors import CliError
from foreman.local.deployer import layer_fix

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, version = text.split("==")
            pins[name.split("[")[0].strip().lower().replace("_", "-")] = version.strip()
    return pins


def _extra() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _pins(project["optional-dependencies"]["local"])


def test_the_local_extra_pins_every_package_of_the_layer_at_the_layers_version() -> None:
    layer = _pins((ROOT / "layer" / "requirements.txt").read_text().splitlines())

    assert {name: _extra().get(name) for name in layer} == layer


def test_the_local_extra_pins_what_the_lock_pins() -> None:
    lock = _pins((ROOT / "requirements-dev.lock").read_text().splitlines())

    assert {name: lock.get(name) for name in _extra()} == _extra()


def test_the_local_extra_holds_every_module_foreman_local_checks_for() -> None:
    assert set(local.LOCAL_MODULES.values()) <= set(_extra())


def test_a_layer_mismatch_in_a_clone_says_make_dev() -> None:
    assert "make dev" in layer_fix(str(ROOT))


def test_a_layer_mismatch_in_an_installed_package_says_which_pip_install(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("{}")  # an installed package's data: no Makefile, no lock

    fix = layer_fix(str(tmp_path))

    assert 'pip install "foreman[local]"' in fix
    assert "make dev" not in fix


def test_foreman_local_without_the_extra_names_what_is_missing_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("moto", "PIL") else real(name))

    with pytest.raises(CliError) as refused:
        local.cmd_local_demo(argparse.Namespace(ticks=3, output="x.png", seed=7), out=None)  # type: ignore[arg-type]

    assert str(refused.value) == (
        'the local stack needs moto, pillow, which this environment lacks: pip install "foreman[local]" '
        "(in a clone: make dev)"
    )
