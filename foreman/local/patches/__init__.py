"""The moto 5.2.5 internals the embedded stack patches: one module per patch, each named after what it makes moto do
as AWS does, and this list of them all.

moto is pinned (``moto==5.2.5``) because these are not public API. Each patch module names the internals it reads
or replaces (its ``INTERNALS``); ``PATCHED_INTERNALS`` gathers them, with those patched or read elsewhere, and
``tests/functional/test_moto_internals.py`` imports each one and fails loudly, naming the patch, if an upgrade moved
it. ``strict_patches`` is every patch the embedded stack applies (``foreman.local.stack.emulation``).

=============================  ==============================================================================
module                         what it makes moto do as AWS does
=============================  ==============================================================================
``named_executions``           name unnamed executions (a UUID); refuse names AWS refuses (``InvalidName``)
``reused_clients``             one boto3 client per service for the interpreter's task states (speed only)
``atomic_dynamodb``            each DynamoDB operation atomic: of two racing conditional claims, one wins
``async_lambda_invocations``   pass ``InvocationType`` through ``lambda:invoke`` (``Event`` is asynchronous)
``stable_heap_keys``           a Retry's count kept when Map iterations reach it at once
``strict_runtime_errors``      ``States.Runtime`` for path and intrinsic failures; no catcher takes it
``transaction_size_limit``     refuse a TransactWriteItems over 4 MB
``item_size_limit``            refuse an item over DynamoDB's 400 KB, counted as DynamoDB counts it
``ssm_parameter_size_limit``   refuse an SSM value over its tier's length; resolve ``Intelligent-Tiering``
``consumed_read_capacity``     answer ``ReturnConsumedCapacity`` with what DynamoDB charges
``history_limit``              fail a Standard execution at 25,000 history events
``express_workflows``          refuse the reads AWS refuses for Express; run StartSyncExecution
``aws_timestamps``             ``$$.State.EnteredTime`` written and timestamp rules read as AWS does
``start_execution_task``       run ``states:startExecution`` tasks with AWS's parameters and answer
``no_waits``                   (not AWS: for tests and the accelerated demo) skip Retry and Wait sleeps
=============================  ==============================================================================

Patched or read elsewhere: ``LambdaSimpleBackend.invoke`` runs the real handlers (``foreman.local.lambda_runtime``),
which reads each function's asynchronous-invocation config from ``EventInvokeConfig``; ``moto.core.config`` holds the
stack's moto config (``foreman.local.stack``).
"""

from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from typing import Any

from foreman.local.patches import (
    async_lambda_invocations,
    atomic_dynamodb,
    aws_timestamps,
    consumed_read_capacity,
    express_workflows,
    history_limit,
    item_size_limit,
    named_executions,
    no_waits,
    reused_clients,
    ssm_parameter_size_limit,
    stable_heap_keys,
    start_execution_task,
    strict_runtime_errors,
    transaction_size_limit,
)

PATCHES = (
    named_executions,
    reused_clients,
    atomic_dynamodb,
    async_lambda_invocations,
    stable_heap_keys,
    strict_runtime_errors,
    transaction_size_limit,
    item_size_limit,
    ssm_parameter_size_limit,
    consumed_read_capacity,
    history_limit,
    express_workflows,
    aws_timestamps,
    start_execution_task,
    no_waits,
)
"""Every patch module, in the order ``strict_patches`` applies them (``no_waits`` only when asked)."""

ELSEWHERE: tuple[tuple[str, str, str], ...] = (
    ("lambda_runtime", "moto.awslambda_simple.models", "LambdaSimpleBackend.invoke"),
    ("lambda_runtime", "moto.awslambda.models", "EventInvokeConfig"),
    ("stack", "moto.core.config", "default_user_config"),
)
"""The internals patched or read outside this package: (the foreman.local module, moto module, attribute)."""


def internals_by_patch() -> list[tuple[str, str, str]]:
    """(patch or module name, moto module, attribute) for every moto internal Foreman relies on."""
    found = [
        (patch.__name__.rsplit(".", 1)[-1], module, attribute)
        for patch in PATCHES
        for module, attribute in patch.INTERNALS
    ]
    return [*found, *ELSEWHERE]


PATCHED_INTERNALS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys((module, attribute) for _, module, attribute in internals_by_patch())
)
"""Every moto internal Foreman patches or reads, once each: (module, dotted attribute)."""


def resolve_internal(module: str, attribute: str) -> Any:
    """Import ``module`` and walk the dotted ``attribute``; AttributeError/ImportError if moto moved it."""
    target: Any = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def strict_patches(*, history_events: int, fast: bool) -> list[AbstractContextManager[None]]:
    """Every patch that makes moto behave as AWS does for Foreman, ready to enter in order; ``fast`` adds
    ``no_waits``; ``history_events`` is where a Standard execution's history ends."""
    patches: list[AbstractContextManager[None]] = [
        named_executions.named_executions(),
        reused_clients.reused_clients(),
        atomic_dynamodb.atomic_dynamodb(),
        async_lambda_invocations.async_lambda_invocations(),
        stable_heap_keys.stable_heap_keys(),
        strict_runtime_errors.strict_runtime_errors(),
        transaction_size_limit.transaction_size_limit(),
        item_size_limit.item_size_limit(),
        ssm_parameter_size_limit.ssm_parameter_size_limit(),
        consumed_read_capacity.consumed_read_capacity(),
        history_limit.history_limit(history_events),
        express_workflows.express_workflows(),
        aws_timestamps.aws_timestamps(),
        start_execution_task.start_execution_task(),
    ]
    if fast:
        patches.append(no_waits.no_waits())
    return patches
