"""Lint the deployable parts with cfn-lint: the SAM template, and each state machine definition.

cfn-lint validates ASL (rule E3601) only inside an ``AWS::StepFunctions::StateMachine`` with an inline
``Definition``, not in a SAM ``DefinitionUri`` file, so each ``statemachine/*.asl.json`` is also wrapped, with its
``DefinitionSubstitutions`` filled in with well-formed ARNs, in a one-resource template and linted there: once per
workflow type it may be deployed as (a ``Type`` that is a parameter, ``OrchestratorType``, gives each allowed value).
Run as ``python -m foreman.lint`` (``make lint``); exits non-zero on any finding.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

from foreman.local.deployer import ACCOUNT, REGION, load_template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "template.yaml")


def wrapped_state_machines(template_path: str = TEMPLATE) -> dict[str, dict[str, Any]]:
    """Each state machine of the template as a one-resource CloudFormation template with an inline Definition."""
    template = load_template(template_path)
    root = os.path.dirname(template_path)
    wrapped = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::StateMachine":
            continue
        properties = resource["Properties"]
        with open(os.path.join(root, properties["DefinitionUri"]), encoding="utf-8") as handle:
            text = handle.read()
        for key in properties.get("DefinitionSubstitutions", {}):
            text = text.replace("${" + key + "}", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{key}")
        leftover = re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)
        if leftover:
            raise SystemExit(f"{logical_id}: no DefinitionSubstitutions for {', '.join(sorted(set(leftover)))}")
        for machine_type in _machine_types(template, properties.get("Type", "STANDARD")):
            name = logical_id if machine_type == "STANDARD" else f"{logical_id}{machine_type.title()}"
            wrapped[name] = {
                "AWSTemplateFormatVersion": "2010-09-09",
                "Resources": {
                    logical_id: {
                        "Type": "AWS::StepFunctions::StateMachine",
                        "Properties": {
                            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/lint",
                            "StateMachineType": machine_type,
                            "Definition": json.loads(text),
                        },
                    }
                },
            }
    return wrapped


def _machine_types(template: dict[str, Any], declared: Any) -> list[str]:
    """The workflow types a state machine's ``Type`` allows: itself, or every allowed value of its parameter."""
    if isinstance(declared, dict) and "Ref" in declared:
        return [str(value) for value in template["Parameters"][declared["Ref"]]["AllowedValues"]]
    return [str(declared)]


def main() -> int:
    """Lint the template and every state machine; print findings; return cfn-lint's worst exit code."""
    paths = [TEMPLATE]
    with tempfile.TemporaryDirectory() as folder:
        for logical_id, template in wrapped_state_machines().items():
            path = os.path.join(folder, f"{logical_id}.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(template, handle)
            paths.append(path)
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cfn-lint"), *paths], check=False)
    if result.returncode == 0:
        print(f"cfn-lint: clean ({len(paths)} templates: the SAM template and {len(paths) - 1} state machine(s))")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
