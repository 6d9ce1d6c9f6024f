"""The project's static checks run with the suite, so `make test` (and CI) fail on a lint finding.

cfn-lint covers the SAM template and every state machine definition (wrapped so its ASL rules apply); ruff and
mypy cover the code. `make lint` runs the same checks with their full output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from foreman import lint

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_cfn_lint_is_clean_on_the_template_and_the_state_machines() -> None:
    assert lint.main() == 0


def test_every_state_machine_of_the_template_is_linted() -> None:
    wrapped = lint.wrapped_state_machines()
    assert "Orchestrator" in wrapped
    # the Orchestrator once per OrchestratorType value: the same definition as a Standard and as an Express workflow
    assert wrapped["Orchestrator"]["Resources"]["Orchestrator"]["Properties"]["StateMachineType"] == "STANDARD"
    assert wrapped["OrchestratorExpress"]["Resources"]["Orchestrator"]["Properties"]["StateMachineType"] == "EXPRESS"
    for template in wrapped.values():
        (resource,) = template["Resources"].values()
        assert resource["Type"] == "AWS::StepFunctions::StateMachine"
        assert "${" not in str(resource["Properties"]["Definition"])


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [BIN / "ruff", "check", "--quiet", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([BIN / "mypy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
