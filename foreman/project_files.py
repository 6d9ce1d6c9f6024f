"""Where the project's own files are: what the embedded stack deploys and the demo runs.

``template.yaml``, ``statemachine/``, ``functions/`` (the handlers' ``CodeUri``) and ``examples/`` sit beside the
``foreman`` package in a source tree. An installed ``foreman`` (``pip install .``, a wheel, ``pipx install``) carries
the same files as package data in ``foreman/_project/`` (see ``[tool.setuptools.package-data]`` in
``pyproject.toml``), so ``foreman local demo`` and ``foreman local serve`` work wherever it is installed.
"""

from __future__ import annotations

from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent
"""The repository, when ``foreman`` runs from a source tree (or an editable install)."""

INSTALLED_ROOT = Path(__file__).resolve().parent / "_project"
"""The package data of an installed ``foreman``."""


def project_root() -> Path:
    """The directory holding ``template.yaml`` and the rest: the source tree's, else the installed package data's.

    If neither holds a template (a broken install), the source tree is returned and reading the template there
    fails with a ``FileNotFoundError`` naming the path.
    """
    for root in (SOURCE_ROOT, INSTALLED_ROOT):
        if (root / "template.yaml").is_file():
            return root
    return SOURCE_ROOT
