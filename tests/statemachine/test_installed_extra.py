"""``pip install "foreman[local]"`` into a fresh virtualenv runs ``foreman local demo`` from anywhere (issue 25,
item 1).

``pip install .`` alone used to fail at ``foreman local demo`` with ``No module named 'moto'``, then PIL, then
antlr4, then a layer-version error that said "run `make dev`". The ``local`` extra declares all of it. Unlike
``test_installed_wheel.py``, nothing is borrowed from this virtualenv: the wheel and its extra are installed into a
fresh one, with pip resolving them, from a wheelhouse (``build/wheelhouse``) that ``pip download`` fills once from
the lock's versions (``-c requirements-dev.lock``) and later runs reuse offline (``--no-index``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
LOCK = ROOT / "requirements-dev.lock"


def _run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _pip(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "pip", "--disable-pip-version-check", *argv, cwd=cwd)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with ``foreman[local]`` installed from the wheel of this tree; its ``bin`` directory."""
    base = tmp_path_factory.mktemp("extra")
    built = _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", base / "dist", ROOT, cwd=base)
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("foreman-*.whl")
    requirement = f"foreman[local] @ {wheel.as_uri()}"
    wanted = ("--dest", WHEELHOUSE, "--constraint", LOCK, requirement)
    # the wheelhouse already holds the extra's closure after the first run: then no index is asked
    if _pip("download", "--quiet", "--no-index", "--find-links", WHEELHOUSE, *wanted, cwd=base).returncode != 0:
        downloaded = _pip("download", "--quiet", *wanted, cwd=base)
        assert downloaded.returncode == 0, downloaded.stderr
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    assert made.returncode == 0, made.stderr
    pip = _pip("--python", venv / "bin" / "python", "install", "--quiet", "--no-index", "--find-links", WHEELHOUSE,
               "--constraint", LOCK, requirement, cwd=base)  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    return venv / "bin"


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH" and not key.startswith("AWS_")}


def test_foreman_with_the_local_extra_runs_the_demo_from_outside_the_clone(installed: Path, tmp_path: Path) -> None:
    where = _run(installed / "python", "-c", "import foreman, moto; print(foreman.__file__, moto.__file__)",
                 cwd=tmp_path, env=_env())  # fmt: skip
    assert all(path.startswith(str(installed.parent)) for path in where.stdout.split()), where.stdout + where.stderr

    demo = _run(installed / "foreman", "local", "demo", "--ticks", "3", cwd=tmp_path, env=_env())

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "FAIL" not in demo.stdout
    assert "every Orchestrator execution succeeded (3 of 3)" in demo.stdout
    assert (tmp_path / "demo-output" / "foreman-demo.png").is_file()


def test_without_the_extra_foreman_local_says_what_to_install(installed: Path, tmp_path: Path) -> None:
    # the same install with moto hidden (find_spec answers None for it): what `pip install .` alone meets
    code = "import sys; sys.modules['moto'] = None; from foreman.cli import main; sys.exit(main())"

    demo = _run(installed / "python", "-c", code, "local", "demo", "--ticks", "1", cwd=tmp_path, env=_env())

    assert demo.returncode == 1
    assert 'pip install "foreman[local]"' in demo.stderr
