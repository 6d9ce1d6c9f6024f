"""Deploy the real ``template.yaml`` into moto: the template a user deploys with ``sam deploy`` is the one that runs.

moto's own CloudFormation puts state machines in a backend that cannot execute them, so this small deployer reads
the SAM template itself and creates what the local stack needs through ordinary AWS API calls: DynamoDB tables,
S3 buckets, Lambda functions (whose code is then run by ``LambdaRuntime`` from their ``CodeUri``), their dependency
layer, SNS topics and Step Functions state machines with their ``DefinitionSubstitutions`` (one that names another
after it). It understands Parameters (with
overrides), Conditions, ``Globals.Function`` and the intrinsics the template uses (Ref, GetAtt, Sub, Join, If,
Equals, Not, And, Or, Select, Split). Resources it does not emulate (IAM roles and policies, log groups, schedules,
alarms, dashboards) are listed in ``Deployment.skipped`` so nothing is silently pretended.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

ACCOUNT = "123456789012"
REGION = "us-east-1"

ClientFactory = Callable[[str], Any]


class TemplateError(ValueError):
    """The template uses something the local deployer cannot resolve; the message names the resource or path."""


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (``!Ref``, ``!Sub``...) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str) -> dict[str, Any]:
    """Read a CloudFormation/SAM YAML template, short tags included."""
    with open(path, encoding="utf-8") as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)
    return template


_NO_VALUE = object()


@dataclass
class Deployment:
    """One deployment of a template into moto (in-process or a moto server, through ``clients``)."""

    template_path: str
    clients: ClientFactory
    parameters: Mapping[str, Any] = field(default_factory=dict)
    stack_name: str = "foreman"
    environment: Mapping[str, str] = field(default_factory=dict)
    """Variables every function gets on top of the template's (what differs locally, e.g. no X-Ray daemon)."""
    template: dict[str, Any] = field(init=False)
    physical: dict[str, Any] = field(init=False, default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(init=False, default_factory=dict)
    code: dict[str, tuple[str, str]] = field(init=False, default_factory=dict)
    """Function name -> (code folder, handler), for the Lambda runtime."""
    state_machine_definitions: dict[str, dict[str, Any]] = field(init=False, default_factory=dict)
    """Logical id -> the substituted definition as deployed."""
    state_machine_types: dict[str, str] = field(init=False, default_factory=dict)
    """Logical id -> ``STANDARD`` or ``EXPRESS``, as deployed (the template's ``Type``, resolved)."""
    skipped: list[tuple[str, str]] = field(init=False, default_factory=list)
    outputs: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.template_path = os.path.abspath(self.template_path)
        self.template = load_template(self.template_path)
        declared = self.template.get("Parameters", {})
        unknown = sorted(set(self.parameters) - set(declared))
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
        for name, spec in declared.items():
            if name in self.parameters:
                value = self.parameters[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"template parameter {name!r} has no default: give it a value")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [item.strip() for item in value.split(",") if item.strip()]
            self.physical[name] = value
        self._conditions: dict[str, bool] = {}

    @property
    def root(self) -> str:
        return os.path.dirname(self.template_path)

    # -- resolution ---------------------------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        """The value of one of the template's Conditions."""
        if name not in self._conditions:
            expression = self.template.get("Conditions", {}).get(name)
            if expression is None:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(expression))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in ``value`` (recursively)."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name not in self.physical:
            raise TemplateError(f"Ref to {name!r}, which is neither a parameter nor a deployed resource")
        return self.physical[name]

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        key = (logical_id, self.resolve(attribute))
        if key not in self.attributes:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: not available in the local deployment")
        return self.attributes[key]

    def _sub(self, argument: Any) -> str:
        text, extra = (argument, {}) if isinstance(argument, str) else (argument[0], self.resolve(argument[1]))

        def replace(match: re.Match[str]) -> str:
            reference = match.group(1)
            if reference in extra:
                return str(extra[reference])
            if "." in reference:
                return str(self._get_att(reference.split(".", 1)))
            value = self._ref(reference)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)

    # -- deployment ---------------------------------------------------------------------------------------------

    def deploy(self) -> Deployment:
        """Create every emulated resource, in dependency order (tables and topics, functions, state machines)."""
        resources = self.template.get("Resources", {})
        creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SNS::Topic": self._topic,
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Serverless::Function": self._function,
            "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::Serverless::StateMachine": self._state_machine,
        }
        for resource_type, create in creators.items():
            pending = [
                (logical_id, resource)
                for logical_id, resource in resources.items()
                if resource["Type"] == resource_type and self._wanted(resource)
            ]
            while pending:  # one that refers to another of its type (a state machine starting another) waits for it
                waiting = [item for item in pending if self._refers_to_pending(item[1], pending)]
                ready = [item for item in pending if item not in waiting]
                if not ready:
                    raise TemplateError(f"{', '.join(name for name, _ in waiting)}: they refer to each other")
                for logical_id, resource in ready:
                    create(logical_id, resource.get("Properties", {}))
                pending = waiting
        for logical_id, resource in resources.items():
            if resource["Type"] not in creators:
                self.skipped.append((logical_id, resource["Type"]))
        for name, output in self.template.get("Outputs", {}).items():
            if "Condition" in output and not self.condition(output["Condition"]):
                continue
            try:
                self.outputs[name] = self.resolve(output["Value"])
            except TemplateError:
                continue  # an output about a resource that is not emulated (an alarm, a dashboard)
        return self

    @staticmethod
    def _refers_to_pending(resource: dict[str, Any], pending: list[tuple[str, dict[str, Any]]]) -> bool:
        """Whether ``resource`` names (Ref, GetAtt, Sub) another of ``pending`` than itself."""
        text = json.dumps(resource.get("Properties", {}))
        return any(
            other is not resource
            and (
                f'"Ref": "{name}"' in text
                or f'"{name}", ' in text
                or "${" + name + "}" in text
                or "${" + name + "." in text
            )
            for name, other in pending
        )

    def _wanted(self, resource: dict[str, Any]) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    def _table(self, logical_id: str, properties: dict[str, Any]) -> None:
        p = self.resolve(properties)
        name = p.get("TableName") or f"{self.stack_name}-{logical_id}"
        kwargs = {
            key: p[key]
            for key in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            if key in p
        }
        if p.get("BillingMode") == "PAY_PER_REQUEST":
            kwargs["BillingMode"] = "PAY_PER_REQUEST"
        else:
            kwargs["ProvisionedThroughput"] = p.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        description = self.clients("dynamodb").create_table(TableName=name, **kwargs)["TableDescription"]
        self.physical[logical_id] = name
        self.attributes[(logical_id, "Arn")] = description["TableArn"]

    def _bucket(self, logical_id: str, properties: dict[str, Any]) -> None:
        """A bucket named as CloudFormation names one (the stack's name and the logical id, lower case, with a
        random suffix) unless ``BucketName`` is given; its lifecycle rules are not emulated (nothing expires)."""
        p = self.resolve(properties)
        name = p.get("BucketName") or f"{self.stack_name}-{logical_id}-{os.urandom(6).hex()}".lower()[:63]
        self.clients("s3").create_bucket(Bucket=name)
        self.physical[logical_id] = name
        self.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"

    def _topic(self, logical_id: str, properties: dict[str, Any]) -> None:
        p = self.resolve(properties)
        name = p.get("TopicName") or f"{self.stack_name}-{logical_id}"
        arn = self.clients("sns").create_topic(Name=name)["TopicArn"]
        self.physical[logical_id] = arn
        self.attributes[(logical_id, "TopicArn")] = arn
        self.attributes[(logical_id, "TopicName")] = name

    def _layer(self, logical_id: str, properties: dict[str, Any]) -> None:
        """A layer's packages run from this interpreter's site-packages, so it must have exactly the versions the
        layer pins (``<ContentUri>/requirements.txt``, what ``sam build`` puts in the layer): checked here."""
        p = self.resolve(properties)
        requirements = os.path.join(self.root, p["ContentUri"], "requirements.txt")
        mismatches = layer_mismatches(requirements)
        if mismatches:
            raise TemplateError(
                f"{logical_id}: this Python does not have the versions {requirements} pins, so the local stack "
                f"would not run what Lambda runs: {'; '.join(mismatches)} ({layer_fix(self.root)})"
            )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("python/README.txt", "the local runtime imports the layer's packages from site-packages")
        version = self.clients("lambda").publish_layer_version(
            LayerName=p.get("LayerName") or f"{self.stack_name}-{logical_id}",
            Content={"ZipFile": archive.getvalue()},
            CompatibleRuntimes=p.get("CompatibleRuntimes", []),
        )
        self.physical[logical_id] = version["LayerVersionArn"]
        self.attributes[(logical_id, "Arn")] = version["LayerVersionArn"]

    def _managed_policy(self, logical_id: str, properties: dict[str, Any]) -> None:
        """Created in IAM, which checks its document (after the functions, which it may name); not enforced here."""
        p = self.resolve(properties)
        arn = self.clients("iam").create_policy(
            PolicyName=p.get("ManagedPolicyName") or f"{self.stack_name}-{logical_id}",
            PolicyDocument=json.dumps(p["PolicyDocument"]),
            Description=p.get("Description", "")[:1000],
        )["Policy"]["Arn"]
        self.physical[logical_id] = arn

    def role_arn(self) -> str:
        """A role for functions created locally (IAM is not enforced on the embedded stack)."""
        return self._role_arn()

    def _role_arn(self) -> str:
        if ("_LocalRole", "Arn") not in self.attributes:
            role = self.clients("iam").create_role(RoleName=f"{self.stack_name}-local", AssumeRolePolicyDocument="{}")
            self.attributes[("_LocalRole", "Arn")] = role["Role"]["Arn"]
        return str(self.attributes[("_LocalRole", "Arn")])

    def _function(self, logical_id: str, properties: dict[str, Any]) -> None:
        defaults = self.template.get("Globals", {}).get("Function", {})
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        # IAM is not enforced here: a function's policies (which may name resources made after it) are not resolved
        merged = self.resolve({key: value for key, value in {**defaults, **properties}.items() if key != "Policies"})
        environment = {key: str(value) for key, value in self.resolve({**variables, **self.environment}).items()}
        name = merged.get("FunctionName") or f"{self.stack_name}-{logical_id}"
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("README.txt", "the local runtime runs this function from its CodeUri")
        arn = self.clients("lambda").create_function(
            FunctionName=name,
            Runtime=merged.get("Runtime", "python3.12"),
            Role=self._role_arn(),
            Handler=merged["Handler"],
            Code={"ZipFile": archive.getvalue()},
            Timeout=int(merged.get("Timeout", 3)),
            MemorySize=int(merged.get("MemorySize", 128)),
            Environment={"Variables": environment},
            Layers=merged.get("Layers", []),
        )["FunctionArn"]
        self.physical[logical_id] = name
        self.attributes[(logical_id, "Arn")] = arn
        self.code[name] = (os.path.join(self.root, merged["CodeUri"]), merged["Handler"])

    def _state_machine(self, logical_id: str, properties: dict[str, Any]) -> None:
        if "DefinitionUri" in properties:
            with open(os.path.join(self.root, properties["DefinitionUri"]), encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = json.dumps(self.resolve(properties["Definition"]))
        substitutions = self.resolve(properties.get("DefinitionSubstitutions", {}))
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", str(value))
        leftover = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)))
        if leftover:
            raise TemplateError(f"{logical_id}: DefinitionSubstitutions missing for {', '.join(leftover)}")
        name = self.resolve(properties.get("Name")) or f"{self.stack_name}-{logical_id}"
        machine_type = str(self.resolve(properties.get("Type", "STANDARD")))
        arn = self.clients("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=self._role_arn(), type=machine_type
        )["stateMachineArn"]
        self.physical[logical_id] = arn
        self.attributes[(logical_id, "Name")] = name
        self.attributes[(logical_id, "Arn")] = arn
        self.state_machine_definitions[logical_id] = json.loads(text)
        self.state_machine_types[logical_id] = machine_type


def layer_fix(root: str) -> str:
    """What to do when this interpreter lacks the layer's versions: in a source tree (a clone, with its Makefile),
    ``make dev``; in an installed ``foreman``, install the ``local`` extra, which pins the layer's versions."""
    if os.path.isfile(os.path.join(root, "Makefile")) and os.path.isfile(os.path.join(root, "requirements-dev.lock")):
        return "run `make dev` in the clone"
    return 'install the versions it pins into this environment: pip install "foreman[local]"'


def layer_mismatches(requirements: str) -> list[str]:
    """Each ``name==version`` pin of a layer's requirements file that this interpreter does not have installed at
    that version, as ``"name: pinned X, installed Y"``. A line that is not an exact pin is reported too."""
    problems = []
    with open(requirements, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            name, separator, pinned = line.partition("==")
            if not separator or not pinned.strip():
                problems.append(f"{requirements}:{number}: {line!r} is not an exact pin (name==version)")
                continue
            try:
                installed = importlib.metadata.version(name.strip())
            except importlib.metadata.PackageNotFoundError:
                installed = "none"
            if installed != pinned.strip():
                problems.append(f"{name.strip()}: pinned {pinned.strip()}, installed {installed}")
    return problems


def _join(deployment: Deployment, argument: Any) -> str:
    separator, values = argument
    resolved = deployment.resolve(values)
    return str(separator).join(str(item) for item in resolved)


def _if(deployment: Deployment, argument: Any) -> Any:
    name, when_true, when_false = argument
    return deployment.resolve(when_true if deployment.condition(name) else when_false)


def _select(deployment: Deployment, argument: Any) -> Any:
    index, values = argument
    return deployment.resolve(values)[int(deployment.resolve(index))]


def _split(deployment: Deployment, argument: Any) -> list[str]:
    separator, text = argument
    return str(deployment.resolve(text)).split(separator)


_INTRINSICS: dict[str, Callable[[Deployment, Any], Any]] = {
    "Ref": lambda d, a: d._ref(a),
    "Fn::GetAtt": lambda d, a: d._get_att(a),
    "Fn::Sub": lambda d, a: d._sub(a),
    "Fn::Join": _join,
    "Fn::If": _if,
    "Fn::Equals": lambda d, a: d.resolve(a[0]) == d.resolve(a[1]),
    "Fn::Not": lambda d, a: not d.resolve(a[0]),
    "Fn::And": lambda d, a: all(d.resolve(x) for x in a),
    "Fn::Or": lambda d, a: any(d.resolve(x) for x in a),
    "Condition": lambda d, a: d.condition(a),
    "Fn::Select": _select,
    "Fn::Split": _split,
}
