"""The dependency layer: one LayerVersion for every function, built for their runtime, pinned as the tests ran,
and the proofs ``make build`` runs on a built layer (foreman/build.py) catch what they claim to catch."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from foreman.build import Artifact, check_imports, check_layer, check_sizes
from foreman.local.deployer import Deployment, TemplateError, layer_mismatches, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(str(ROOT / "template.yaml"))
GLOBALS = TEMPLATE["Globals"]["Function"]
LAYERS = {k: r for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::LayerVersion"}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_function_takes_the_one_dependency_layer_and_holds_only_foremans_code() -> None:
    assert list(LAYERS) == ["DependenciesLayer"]
    assert GLOBALS["Layers"] == [{"Ref": "DependenciesLayer"}]
    assert GLOBALS["CodeUri"] == "functions/"
    assert not (ROOT / "functions" / "requirements.txt").exists(), "sam build would install it into every function"
    for logical_id, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Layers" not in resource["Properties"], f"{logical_id} replaces the global Layers"
            assert "CodeUri" not in resource["Properties"], f"{logical_id} has its own CodeUri"


def test_the_layer_is_built_for_the_functions_runtime_and_architecture() -> None:
    layer = LAYERS["DependenciesLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == [GLOBALS["Runtime"]]
    assert layer["Properties"]["CompatibleArchitectures"] == GLOBALS["Architectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = (ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
    version = GLOBALS["Runtime"].removeprefix("python")
    assert f"--python-version {version} --abi cp{version.replace('.', '')}" in makefile
    assert re.findall(r"--platform (\S+)", makefile) == ["manylinux2014_aarch64", "manylinux_2_34_aarch64"]
    assert "--no-deps" in makefile, "the layer installs exactly its pinned closure"


def test_the_layer_pins_the_versions_the_tests_run() -> None:
    layer = _pins(ROOT / "layer" / "requirements.txt")
    lock = _pins(ROOT / "requirements-dev.lock")
    assert {"aws-lambda-powertools", "aws-xray-sdk", "boto3", "botocore", "wrapt"} <= set(layer)
    assert {name: lock.get(name) for name in layer} == layer
    assert layer_mismatches(str(ROOT / "layer" / "requirements.txt")) == []


def test_a_layer_pin_this_python_does_not_have_is_named(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nboto3==0.0.1\nnot-installed-anywhere==1.0\npyyaml>=6\n")

    problems = layer_mismatches(str(requirements))

    assert problems[0].startswith("boto3: pinned 0.0.1, installed ")
    assert problems[1] == "not-installed-anywhere: pinned 1.0, installed none"
    assert problems[2] == f"{requirements}:4: 'pyyaml>=6' is not an exact pin (name==version)"


def test_the_local_stack_refuses_a_layer_whose_pins_it_cannot_run(tmp_path: Path) -> None:
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "requirements.txt").write_text("boto3==0.0.1\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  DependenciesLayer:\n    Type: AWS::Serverless::LayerVersion\n"
        "    Properties:\n      ContentUri: layer/\n"
    )

    def no_clients(service: str) -> Any:
        raise AssertionError(f"nothing may be created: {service}")

    with pytest.raises(TemplateError, match=r"DependenciesLayer: .*layer/requirements.txt.*boto3: pinned 0\.0\.1"):
        Deployment(str(tmp_path / "template.yaml"), clients=no_clients).deploy()


def _dist(site: Path, name: str, version: str, tag: str, *requires: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {tag}\n")
    lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("Metadata-Version: 2.1\n" + "\n".join(lines) + "\n")


def test_a_layer_for_python_3_12_on_arm64_passes(tmp_path: Path) -> None:
    site = tmp_path / "python"
    _dist(site, "wrapt", "2.5.2", "cp312-cp312-manylinux_2_17_aarch64")
    _dist(site, "six", "1.17.0", "py2-none-any\nTag: py3-none-any")
    _dist(site, "lib", "1.0", "py3-none-any", "wrapt>=2", "six", "tomli; python_version < '3.11'", "x; extra == 'y'")
    (site / "wrapt").mkdir()
    (site / "wrapt" / "_wrappers.cpython-312-aarch64-linux-gnu.so").write_bytes(b"\x7fELF")

    assert check_layer(Artifact("Layer", "layer", tmp_path)) == []


def test_a_layer_with_the_build_machines_wheels_or_a_missing_requirement_fails(tmp_path: Path) -> None:
    site = tmp_path / "python"
    _dist(site, "wrapt", "2.5.2", "cp311-cp311-manylinux_2_17_x86_64")
    _dist(site, "lib", "1.0", "py3-none-any", "wrapt<2", "absent; python_version >= '3.12'")
    (site / "wrapt").mkdir()
    (site / "wrapt" / "_wrappers.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    (site / "wrapt" / "__pycache__").mkdir()
    (site / "wrapt" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")

    problems = check_layer(Artifact("Layer", "layer", tmp_path))

    assert problems == [
        "wrapt-2.5.2.dist-info: wheel tags ['cp311-cp311-manylinux_2_17_x86_64'] are not for CPython 3.12 on "
        "manylinux aarch64",
        "python/wrapt/__pycache__/x.cpython-311.pyc: bytecode of the building interpreter",
        "python/wrapt/_wrappers.cpython-311-x86_64-linux-gnu.so: compiled for another interpreter or platform",
        "lib needs wrapt<2 on python3.12 arm64; the layer has 2.5.2",
        'lib needs absent; python_version >= "3.12" on python3.12 arm64; the layer has none',
    ]


def test_a_function_package_of_a_megabyte_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_bytes(b"#" * 1_000_000)

    problems = check_sizes([Artifact("Fn", "function", tmp_path / "fn", "app.handler")])

    assert problems == [f"{tmp_path / 'fn'}: 1,000,000 bytes; a function package must stay under 1,000,000"]
    assert re.search(r"Fn\s+function\s+1\s+1,000,000", capsys.readouterr().out)


def test_a_handler_that_needs_what_neither_its_folder_nor_the_layer_holds_fails_to_import(tmp_path: Path) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "dep.py").write_text("VALUE = 1\n")
    for name, source in {
        "good": "import json\nfrom dep import VALUE\n\ndef handler(event, context):\n    return VALUE\n",
        "stray": "import yaml  # installed in the test's virtualenv, in neither the package nor the layer\n",
        "broken": "def handler(:\n",
    }.items():
        (tmp_path / name / "step").mkdir(parents=True)
        (tmp_path / name / "step" / "app.py").write_text(source)
    built = [Artifact("Layer", "layer", tmp_path / "layer")] + [
        Artifact(name, "function", tmp_path / name, "step.app.handler") for name in ("good", "stray", "broken")
    ]

    problems = check_imports(built, sys.executable)

    assert [problem.split(" ", 1)[0] for problem in problems] == ["stray", "broken"]
    assert "ModuleNotFoundError: No module named 'yaml'" in problems[0]
    assert "SyntaxError" in problems[1]
