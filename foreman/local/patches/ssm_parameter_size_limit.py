"""Parameter Store's limits on a parameter value, per tier.

``SimpleSystemManagerBackend.put_parameter``: moto stores an SSM parameter value of any length, in whatever tier it
is given (``Intelligent-Tiering`` kept as such); Parameter Store refuses a value over 4,096 characters in the
Standard tier and over 8,192 in the Advanced tier (``ValidationException``), and with ``Intelligent-Tiering`` makes
the parameter Advanced only when its value is over 4,096 characters. ``ssm_parameter_size_limit`` does the same, so
a config too large for SSM fails here as it would on AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

SSM_VALUE_LIMITS = {"Standard": 4096, "Advanced": 8192}
"""The longest SSM parameter value of each tier, in characters."""

SSM_STANDARD_TOO_LONG = (
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter "
    "value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
)
"""Parameter Store's message (a ``ValidationException``) for a Standard parameter value over 4,096 characters."""

SSM_ADVANCED_TOO_LONG = "Advanced tier parameters support a maximum parameter value of 8192 characters."
"""The message for an Advanced parameter value over 8,192 characters (worded as the Standard tier's)."""


def ssm_tier(requested: str | None, previous: str | None, default: str, value: str) -> str:
    """The tier Parameter Store gives a parameter: the one requested, else the parameter's own, else the account's
    default; ``Intelligent-Tiering`` is Advanced when the value is over 4,096 characters or the parameter already
    is Advanced (a parameter never goes back to Standard), Standard otherwise."""
    tier = requested or previous or default
    if tier == "Intelligent-Tiering":
        return "Advanced" if len(value) > SSM_VALUE_LIMITS["Standard"] or previous == "Advanced" else "Standard"
    return tier


@contextmanager
def ssm_parameter_size_limit() -> Iterator[None]:
    """Refuse an SSM parameter value longer than its tier holds, and resolve ``Intelligent-Tiering``, as AWS does."""
    from moto.ssm.exceptions import ValidationException
    from moto.ssm.models import SimpleSystemManagerBackend

    original = SimpleSystemManagerBackend.put_parameter

    def put_parameter(self: Any, name: str, description: str, value: str, *args: Any, **kwargs: Any) -> Any:
        # moto's ParameterDict finds a name through __getitem__/__contains__ only (its .get misses it)
        versions = self._parameters[name] if name in self._parameters else []  # noqa: SIM401
        previous = versions[-1].tier if versions else None
        tier = ssm_tier(kwargs.get("tier"), previous, self.default_parameter_tier, value or "")
        if value and len(value) > SSM_VALUE_LIMITS.get(tier, SSM_VALUE_LIMITS["Advanced"]):
            raise ValidationException(SSM_STANDARD_TOO_LONG if tier == "Standard" else SSM_ADVANCED_TOO_LONG)
        return original(self, name, description, value, *args, **{**kwargs, "tier": tier})

    with mock.patch.object(SimpleSystemManagerBackend, "put_parameter", put_parameter):
        yield


INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.ssm.models", "SimpleSystemManagerBackend.put_parameter"),
    ("moto.ssm.exceptions", "ValidationException"),
)
"""The moto internals this patch reads or replaces (their canary: tests/functional/test_moto_internals.py)."""
