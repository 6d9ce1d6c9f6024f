"""``foreman local serve --labourer NAME=DIR:module.function`` is checked when it starts (issue 25, item 11): a
module or function that does not exist used to start silently and fail at the first invoke."""

from __future__ import annotations

from pathlib import Path

import pytest

from foreman.serve import LabourerCode, ServeError


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(
        "import json\nfrom os import path as p\n\n\ndef handler(event, context):\n    return event\n\n\n"
        "other = handler\nrate: int = 3\n"
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("async def run(event, context):\n    return 1\n")
    return tmp_path


@pytest.mark.parametrize("handler", ["app.handler", "app.other", "app.p", "pkg.mod.run"])
def test_a_handler_the_module_defines_is_accepted(code: Path, handler: str) -> None:
    parsed = LabourerCode.parse(f"mine={code}:{handler}")

    assert (parsed.name, parsed.code_dir, parsed.handler) == ("mine", str(code), handler)


def test_a_module_that_does_not_exist_is_refused_naming_the_file_it_looked_for(code: Path) -> None:
    with pytest.raises(ServeError) as refused:
        LabourerCode.parse(f"mine={code}:ap.handler")

    expected = f"--labourer 'mine={code}:ap.handler': no module 'ap' in {code} (expected {code}/ap.py)"
    assert str(refused.value) == expected


def test_a_function_the_module_does_not_define_is_refused_with_what_it_defines(code: Path) -> None:
    with pytest.raises(ServeError) as refused:
        LabourerCode.parse(f"mine={code}:app.handlr")

    assert str(refused.value).endswith(f"{code}/app.py defines no 'handlr' (it defines: handler, json, other, p, rate)")


def test_a_module_that_is_not_python_is_refused(code: Path) -> None:
    (code / "broken.py").write_text("def handler(:\n")

    with pytest.raises(ServeError, match=r"broken\.py cannot be read as Python"):
        LabourerCode.parse(f"mine={code}:broken.handler")
