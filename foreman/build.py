"""``make build``: run ``sam build`` as a user deploying Foreman would, then prove the result is deployable.

``sam build`` (aws-sam-cli from ``.sam-venv``, pinned in requirements-sam.lock) turns ``template.yaml`` into
``.aws-sam/build``: one folder per function (Foreman's own code, from ``functions/``) and one for
``DependenciesLayer`` (every third-party package, from ``layer/requirements.txt``, installed by ``layer/Makefile``
as the CPython 3.12 manylinux aarch64 wheels). Then this module checks, and exits 1 naming what failed:

- **sizes**: each artifact's files, bytes and zipped bytes (what ``sam deploy`` uploads) are printed; a function
  package of 1 MB or more fails, since third-party code belongs in the layer;
- **the layer is for the runtime**: every wheel in it is tagged for CPython 3.12 on manylinux aarch64 (or pure
  Python), every compiled module is named for that interpreter, and every package's requirements (with their
  markers evaluated for Python 3.12 on Linux aarch64) are met inside the layer: nothing is borrowed from the
  machine that built it;
- **every handler imports**: in a fresh interpreter (``-I -S``: no site-packages, no PYTHONPATH) whose path is the
  standard library, the function's built folder and the layer's ``python/`` folder, as on Lambda, the handler
  module imports, its function is callable, and every module it loaded came from those three places;
- **the built template passes cfn-lint**.

The functions' runtime is Python 3.12. Where no ``python3.12`` is found (``$FOREMAN_BUILD_PYTHON``, ``PATH``, or a
pyenv install), ``sam build`` runs with a copy of the template whose ``Runtime`` is the local Python (SAM's Python
builder insists on finding that interpreter), the built template gets ``python3.12`` back, and the handlers are
imported by the local Python. That is sound for this bundle, and this module says so when it happens: a function
package is Foreman's own source, copied as it is, and the layer never depends on the building interpreter (its
wheels are chosen for 3.12 on arm64 and checked above).
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name
from packaging.version import Version

from foreman.local.deployer import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
BUILD_DIR = ROOT / ".aws-sam" / "build"
SAM = ROOT / ".sam-venv" / "bin" / "sam"
RUNTIME = "python3.12"
TARGET_VERSION = (3, 12)
TARGET_PLATFORMS = [f"manylinux_2_{minor}_aarch64" for minor in range(34, 16, -1)] + ["manylinux2014_aarch64"]
TARGET_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "extra": "",
}
"""The environment markers of the Lambda runtime python3.12 on arm64, to evaluate a package's requirements."""
COMPILED_SUFFIXES = (".cpython-312-aarch64-linux-gnu.so", ".abi3.so")
FUNCTION_LIMIT = 1_000_000
"""A function package holds Foreman's own code only; 1 MB or more means a dependency crept back in."""


class BuildError(Exception):
    """The build, or one of its proofs, failed; the message says which artifact and why."""


@dataclass(frozen=True)
class Artifact:
    """One built folder of ``.aws-sam/build``: a function's package or the layer."""

    logical_id: str
    kind: str  # "function" or "layer"
    path: Path
    handler: str | None = None

    def files(self) -> Iterator[Path]:
        """Every file in the folder, in a stable order."""
        return (path for path in sorted(self.path.rglob("*")) if path.is_file())

    def size(self) -> tuple[int, int, int]:
        """(files, bytes, zipped bytes): zipped as ``sam deploy`` uploads it, deflated."""
        count = total = 0
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in self.files():
                count += 1
                total += path.stat().st_size
                bundle.write(path, path.relative_to(self.path))
        return count, total, len(archive.getvalue())


# ---- finding the runtime's interpreter -----------------------------------------------------------------------


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    return int(out[0]), int(out[1])


def runtime_python() -> str | None:
    """A ``python3.12`` that runs: ``$FOREMAN_BUILD_PYTHON``, then ``PATH``, then a pyenv install; None if none."""
    candidates = [os.environ.get("FOREMAN_BUILD_PYTHON", ""), shutil.which("python3.12") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)
    for candidate in candidates:
        if candidate == "local":
            return None  # FOREMAN_BUILD_PYTHON=local: build as a machine without Python 3.12 does
        if candidate and _version_of(candidate) == TARGET_VERSION:
            return candidate
    return None


# ---- sam build -----------------------------------------------------------------------------------------------


def sam_build(python: str | None) -> None:
    """Run ``sam build`` into BUILD_DIR: with ``python``'s folder first on PATH, or (None) with the local Python
    standing in for the runtime, the built template then set back to python3.12."""
    if not SAM.exists():
        raise BuildError(f"{SAM} is missing: run `make build`, which installs aws-sam-cli first")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable}
    template = TEMPLATE
    stand_in = None
    if python is not None:
        env["PATH"] = os.path.dirname(python) + os.pathsep + env.get("PATH", "")
    else:
        local = f"python{sys.version_info.major}.{sys.version_info.minor}"
        stand_in = f"Runtime: {local}"
        text = TEMPLATE.read_text(encoding="utf-8")
        template = ROOT / ".sam-build.template.yaml"  # beside template.yaml: SAM reads CodeUri relative to it
        template.write_text(re.sub(rf"\bRuntime: {RUNTIME}\b", stand_in, text), encoding="utf-8")
    try:
        command = [str(SAM), "build", "--template-file", str(template), "--build-dir", str(BUILD_DIR)]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    finally:
        if stand_in is not None:
            template.unlink()
    if result.returncode != 0:
        noise = "WARNING: Location "  # pip's notes about optional local indexes, one per package
        output = "\n".join(line for line in (result.stdout + result.stderr).splitlines() if noise not in line)
        raise BuildError(f"sam build failed (exit {result.returncode}):\n{output}")
    if stand_in is not None:
        built = BUILD_DIR / "template.yaml"
        built.write_text(built.read_text(encoding="utf-8").replace(stand_in, f"Runtime: {RUNTIME}"), encoding="utf-8")


def artifacts(build_dir: Path = BUILD_DIR) -> list[Artifact]:
    """The built template's functions and layers, each with its folder."""
    template = load_template(str(build_dir / "template.yaml"))
    found = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            found.append(Artifact(logical_id, "function", build_dir / properties["CodeUri"], properties["Handler"]))
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            found.append(Artifact(logical_id, "layer", build_dir / properties["ContentUri"]))
    if not any(artifact.kind == "layer" for artifact in found):
        raise BuildError(f"{build_dir / 'template.yaml'}: no AWS::Serverless::LayerVersion to hold the dependencies")
    return found


# ---- proofs --------------------------------------------------------------------------------------------------


def check_sizes(built: list[Artifact]) -> list[str]:
    """Print each artifact's size; return a problem for each function package of FUNCTION_LIMIT bytes or more."""
    print(f"{'artifact':32} {'kind':8} {'files':>6} {'bytes':>12} {'zipped':>12}")
    problems = []
    totals = [0, 0]
    for artifact in built:
        count, total, zipped = artifact.size()
        totals[0] += total
        totals[1] += zipped
        print(f"{artifact.logical_id:32} {artifact.kind:8} {count:>6} {total:>12,} {zipped:>12,}")
        if artifact.kind == "function" and total >= FUNCTION_LIMIT:
            problems.append(f"{artifact.path}: {total:,} bytes; a function package must stay under {FUNCTION_LIMIT:,}")
    print(f"{'total':32} {'':8} {'':>6} {totals[0]:>12,} {totals[1]:>12,}")
    return problems


def _target_tags() -> set[Tag]:
    return set(cpython_tags(TARGET_VERSION, platforms=TARGET_PLATFORMS)) | set(
        compatible_tags(TARGET_VERSION, "cp312", platforms=TARGET_PLATFORMS)
    )


def check_layer(layer: Artifact) -> list[str]:
    """The layer is complete and built for the runtime: see the module's docstring. Returns the problems."""
    site = layer.path / "python"
    problems = []
    if not site.is_dir():
        return [f"{site}: missing; a Python layer's packages go in python/"]
    tags = _target_tags()
    installed: dict[str, Version] = {}
    metadata: dict[str, Any] = {}
    for info in sorted(site.glob("*.dist-info")):
        wheel = Parser().parsestr((info / "WHEEL").read_text(encoding="utf-8"))
        wheel_tags = wheel.get_all("Tag") or []
        if not any(Tag(*tag.split("-")) in tags for tag in wheel_tags):
            problems.append(f"{info.name}: wheel tags {wheel_tags} are not for CPython 3.12 on manylinux aarch64")
        meta = Parser().parsestr((info / "METADATA").read_text(encoding="utf-8"))
        name = canonicalize_name(meta["Name"])
        installed[name] = Version(meta["Version"])
        metadata[name] = meta
    for path in layer.files():
        if path.suffix in {".so", ".pyd", ".dylib"} and not path.name.endswith(COMPILED_SUFFIXES):
            problems.append(f"{path.relative_to(layer.path)}: compiled for another interpreter or platform")
        if path.suffix == ".pyc":
            problems.append(f"{path.relative_to(layer.path)}: bytecode of the building interpreter")
    for dist, meta in sorted(metadata.items()):
        for line in meta.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(TARGET_MARKERS):
                continue
            have = installed.get(canonicalize_name(requirement.name))
            if have is None or not requirement.specifier.contains(have, prereleases=True):
                problems.append(f"{dist} needs {requirement} on python3.12 arm64; the layer has {have or 'none'}")
    return problems


_IMPORT_PROOF = """
import importlib, sys, sysconfig
function_dir, layer_dir, handler = sys.argv[1:4]
sys.path[:0] = [function_dir, layer_dir]
module_name, attribute = handler.rsplit(".", 1)
function = getattr(importlib.import_module(module_name), attribute)
assert callable(function), f"{handler} is not callable"
allowed = (function_dir, layer_dir, sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"))
strays = sorted(
    f"{name}: {module.__file__}" for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and not module.__file__.startswith(allowed)
)
assert not strays, "loaded from outside the function and the layer: " + ", ".join(strays)
print(f"{handler}: imported with {len(sys.modules)} modules on Python {sys.version.split()[0]}")
"""


def check_imports(built: list[Artifact], python: str) -> list[str]:
    """Import every function's handler in a fresh ``python -I -S``: only the standard library, the function's
    folder and the layer's python/ folder are on its path. Returns the failures, with the interpreter's output."""
    layers = [artifact for artifact in built if artifact.kind == "layer"]
    env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    problems = []
    for artifact in built:
        if artifact.kind != "function" or artifact.handler is None:
            continue
        layer_dirs = [str(layer.path / "python") for layer in layers]
        command = [python, "-I", "-S", "-B", "-c", _IMPORT_PROOF, str(artifact.path), *layer_dirs, artifact.handler]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            problems.append(f"{artifact.logical_id} ({artifact.path}): {result.stderr.strip() or result.stdout}")
        else:
            print(f"  {artifact.logical_id:30} {result.stdout.strip()}")
    return problems


def check_template(build_dir: Path = BUILD_DIR) -> list[str]:
    """cfn-lint on the built template (the project's pinned cfn-lint)."""
    command = [os.path.join(os.path.dirname(sys.executable), "cfn-lint"), str(build_dir / "template.yaml")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return [f"cfn-lint on {build_dir / 'template.yaml'}:\n{result.stdout}{result.stderr}"]
    return []


def main(argv: list[str] | None = None) -> int:
    """Build (unless ``--no-build``: check what is in .aws-sam/build), prove, print; 0 if every proof holds."""
    parser = argparse.ArgumentParser(prog="python -m foreman.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="only check the existing .aws-sam/build")
    args = parser.parse_args(argv)
    python = runtime_python()
    try:
        if not args.no_build:
            if python is None:
                print(
                    f"No python3.12 on this machine: building with Python {sysconfig.get_python_version()} standing "
                    f"in for the runtime {RUNTIME}. Sound for this bundle: the function packages are Foreman's own "
                    "source, copied as is, and the layer holds the wheels for CPython 3.12 on arm64 (checked below)."
                )
            print(f"sam build ({SAM.parent.parent.name}) -> {BUILD_DIR.relative_to(ROOT)}")
            sam_build(python)
        built = artifacts()
        problems = check_sizes(built)
        for layer in (artifact for artifact in built if artifact.kind == "layer"):
            problems += check_layer(layer)
        print(f"Importing every handler from its built folder and the layer, in a fresh {python or sys.executable}:")
        problems += check_imports(built, python or sys.executable)
        problems += check_template()
    except BuildError as error:
        problems = [str(error)]
    for problem in problems:
        print(f"build: error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("build: ok: the layer is for python3.12 arm64, every handler imports, the built template passes cfn-lint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
