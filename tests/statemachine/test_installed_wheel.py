"""``foreman`` installed from a wheel, away from the source tree, runs its demo (issue 17, item 10).

``pip install .`` (not editable) used to break ``foreman local demo`` with a raw ``FileNotFoundError`` for
``site-packages/examples/config.json``: the template, the state machines, the handlers and the examples were not in
the package. The test builds the wheel as pip does, installs it (without its dependencies, which it borrows from this
virtualenv) into a fresh virtualenv, and runs the installed ``foreman`` from an empty directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the wheel of this tree installed; its ``bin`` directory."""
    base = tmp_path_factory.mktemp("wheel")
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", base / "dist", ROOT,
                 cwd=base)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("foreman-*.whl")
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel,
               cwd=base)  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    # the dependencies (boto3, moto, ...) come from this virtualenv's site-packages, appended after the wheel's own;
    # its .pth files (this tree's editable install) are not read from there, so `foreman` is the installed one
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=base).stdout.strip()
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def _env() -> dict[str, str]:
    return {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH",) and not key.startswith("AWS_")
    }


def test_the_installed_package_carries_the_project_files(installed: Path, tmp_path: Path) -> None:
    shown = _run(installed / "python", "-c",
                 "import foreman, foreman.project_files as p; print(foreman.__file__); print(p.project_root())",
                 cwd=tmp_path, env=_env())  # fmt: skip

    assert shown.returncode == 0, shown.stderr
    package, root = shown.stdout.split()
    assert package.startswith(str(installed.parent))  # the installed copy, not this source tree
    assert root == str(Path(package).parent / "_project")
    for name in ("template.yaml", "statemachine/orchestrator.asl.json", "functions/load_config/app.py",
                 "functions/foreman_core/run.py", "examples/config.json", "examples/labourers/reports.py",
                 "examples/tasks/reports.jsonl"):  # fmt: skip
        assert (Path(root) / name).is_file(), name


def test_the_installed_foreman_runs_the_demo_from_anywhere(installed: Path, tmp_path: Path) -> None:
    demo = _run(installed / "foreman", "local", "demo", "--ticks", "2", cwd=tmp_path, env=_env())

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "FAIL" not in demo.stdout
    assert "every Orchestrator execution succeeded (2 of 2)" in demo.stdout
    assert (tmp_path / "demo-output" / "foreman-demo.png").is_file()
    validated = _run(installed / "foreman", "--version", cwd=tmp_path, env=_env())
    assert validated.stdout.strip() == "foreman 0.1.0"
