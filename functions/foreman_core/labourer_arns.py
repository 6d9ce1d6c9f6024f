"""Which labourers a deployment may invoke: the stack's ``LabourerArns``, as its IAM policy reads them.

The Orchestrator's role may invoke exactly the functions named in ``LabourerArns`` and their versions and aliases
(``<arn>`` and ``<arn>:*``). A config naming any other function would be denied on every invoke, retried, released,
every run: LoadConfig refuses it instead, naming the labourer's path and the allowed ARNs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from foreman_core.config import OrchestratorConfig

_ARN = re.compile(r"arn:(?P<partition>[a-z-]+):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<rest>.+)")
_PARTIAL = re.compile(r"(?P<account>\d{12}):function:(?P<rest>.+)")


@dataclass(frozen=True)
class LabourerArns:
    """The deployment's ``LabourerArns`` (IAM resource patterns: ``*`` and ``?`` are wildcards) and where it runs
    (partition, region, account: a bare function name in the config means a function there, as Lambda reads it)."""

    allowed: tuple[str, ...]
    partition: str
    region: str
    account: str

    @classmethod
    def of(cls, allowed: str | Sequence[str], *, function_arn: str) -> LabourerArns:
        """``allowed`` as the template hands it (comma-separated) or a list; ``function_arn`` is the calling
        function's own ARN (the Lambda context's ``invoked_function_arn``), which says where the deployment is."""
        patterns = allowed.split(",") if isinstance(allowed, str) else list(allowed)
        match = _ARN.fullmatch(function_arn)
        if match is None:
            raise ValueError(f"not a Lambda function ARN: {function_arn!r}")
        return cls(
            allowed=tuple(p.strip() for p in patterns if p.strip()),
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
        )

    def full_arn(self, configured: str) -> str:
        """The function ARN a config's ``arn`` (an ARN, ``<account>:function:<name>`` or a name) means here."""
        if _ARN.fullmatch(configured):
            return configured
        partial = _PARTIAL.fullmatch(configured)
        account, rest = (partial["account"], partial["rest"]) if partial else (self.account, configured)
        return f"arn:{self.partition}:lambda:{self.region}:{account}:function:{rest}"

    def allows(self, configured: str) -> bool:
        """Whether the Orchestrator's role may invoke the function a config's ``arn`` names."""
        arn = self.full_arn(configured)
        return any(_pattern(allowed).fullmatch(arn) for allowed in self.allowed)

    def problems(self, config: OrchestratorConfig) -> list[tuple[str, str]]:
        """``(path, reason)`` for every labourer whose function this deployment may not invoke."""
        allowed = ", ".join(self.allowed) or "none"
        return [
            (
                f"task_config.labourers.{labourer.id}.arn",
                f"{labourer.arn!r} is not in this deployment's LabourerArns ({allowed}): the Orchestrator may not "
                f"invoke it; add it to the stack's LabourerArns parameter, or name one of those",
            )
            for labourer in config.labourers
            if not self.allows(labourer.arn)
        ]


def _pattern(allowed: str) -> re.Pattern[str]:
    """IAM's resource match for ``allowed`` and its versions and aliases (``allowed:*``)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in allowed)
    return re.compile(f"{body}(?::.*)?")
