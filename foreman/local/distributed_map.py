"""The Distributed Map as Step Functions runs it: a Map Run of child workflow executions, each its own execution.

moto 5.2.5 parses ``ProcessorConfig.Mode: DISTRIBUTED`` but runs every item inside the parent execution (one
history, one state, no child to open), refuses ``ExecutionType: EXPRESS``, has no ``ItemBatcher``, no JSON Lines
reader, writes an empty ResultWriter manifest, and ignores ``ToleratedFailureCount``/``Percentage``.
``distributed_maps`` runs such a Map as AWS does:

- **Children.** Each item (or batch) is a child workflow execution of the Map Run's state machine
  ``arn:…:stateMachine:<machine>/<label or uuid>``: a STANDARD child is ``arn:…:execution:<machine>/<label>:<name>``,
  an EXPRESS child ``arn:…:express:<machine>/<label>:<name>:<uuid>``. Each has its own history and state;
  DescribeExecution opens either (with ``mapRunArn``), GetExecutionHistory a STANDARD one (an EXPRESS child's
  history is its log on AWS: ``InvalidArn`` here as there), ListExecutions(``mapRunArn``) lists them (with
  ``mapRunArn`` and ``itemCount``), StopExecution stops one. The parent's history holds only
  ``MapStateEntered``/``Started``, ``MapRunStarted``, ``MapRunSucceeded``/``Failed``/``Aborted`` and the Map's end.
- **A child's limits.** A STANDARD child has the 25,000-event history (``patches.history_limit``, or the
  lowered limit of the stack); an EXPRESS child has none, but fails TIMED_OUT at ``EXPRESS_CHILD_SECONDS`` (five
  minutes; ``express_child_limit`` lowers it for a test). In either, a state whose input or output passes 256 KiB
  fails the child with ``States.DataLimitExceeded`` (a Catch does not take it here; on AWS one naming it could).
- **Items.** ``ItemsPath`` (JSONPath), or ``ItemReader`` ``arn:aws:states:::s3:getObject`` with
  ``ReaderConfig.InputType`` ``JSON`` (an array) or ``JSONL`` (one value a line), and ``MaxItems``/``MaxItemsPath``;
  moto's own readers for ``CSV`` and ``s3:listObjectsV2``. ``ItemSelector`` (``$$.Map.Item.Index``/``Value``)
  shapes each item, then ``ItemBatcher`` (``MaxItemsPerBatch``/``Path``, ``MaxInputBytesPerBatch``/``Path``,
  ``BatchInput``) groups them: a batch child's input is ``{"Items": [...]}``, with ``"BatchInput": {...}`` when
  given.
- **Failures.** A child that ends FAILED, TIMED_OUT or ABORTED fails its items. With neither
  ``ToleratedFailureCount`` nor ``ToleratedFailurePercentage`` one failed item fails the Map Run; with either, the
  run fails once failed items pass it. The Map state then fails with ``States.ExceedToleratedFailureThreshold``
  (catchable), and the children still running are stopped. A stopped parent stops its children.
- **Output.** Without ResultWriter: the children's outputs in item order (over 256 KiB: ``States.DataLimitExceeded``).
  With ResultWriter ``arn:aws:states:::s3:putObject`` (``Bucket``, ``Prefix``): ``<Prefix>/<run id>/manifest.json``
  and ``SUCCEEDED_0.json`` / ``FAILED_0.json`` beside it, and the Map's output
  ``{"MapRunArn": …, "ResultWriterDetails": {"Bucket": …, "Key": <manifest key>}}``. ``WriterConfig`` is taken only
  with ``Transformation: NONE`` and ``OutputType: JSON`` (what the files hold without it).
- **Map Run.** ListMapRuns, DescribeMapRun (``itemCounts``, ``executionCounts``, ``status``), as moto records them.
- **Standard parents only.** Step Functions runs a Distributed Map in Standard workflows only: CreateStateMachine of
  an EXPRESS state machine whose definition has one (at any depth) is refused with ``InvalidDefinition`` naming the
  state (moto accepts it). The wording of AWS's message is not reproduced, only the refusal.

Not emulated: CSV headers beyond moto's, ``ItemReader`` manifests, JSONata in the Map's fields, PENDING files
(children not started when a run fails are not written), UpdateMapRun's effect on a running run, and more than
``MAX_LOCAL_WORKERS`` children running at once (AWS runs up to 10,000).
"""

from __future__ import annotations

import copy
import datetime
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

PATCHED_INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.stepfunctions.parser.asl.parse.asl_parser", "AmazonStateLanguageParser.parse"),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map", "StateMap._eval_execution"),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record",
        "MapRunRecord",
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
        "boto_client_for",
    ),
    ("moto.stepfunctions.parser.backend.execution", "Execution._get_start_execution_worker"),
    ("moto.stepfunctions.parser.backend.execution", "Execution._get_start_execution_worker_comm"),
    ("moto.stepfunctions.parser.backend.execution", "BaseExecutionWorkerCommunication.terminated"),
    ("moto.stepfunctions.parser.backend.execution_worker", "ExecutionWorker._get_evaluation_environment"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.create_state_machine"),
    ("moto.stepfunctions.parser.api", "InvalidDefinition"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.describe_execution"),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend.get_execution_history"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.list_executions"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.describe_execution"),
    ("moto.stepfunctions.responses", "StepFunctionResponse.get_execution_history"),
    ("moto.stepfunctions.parser.asl.eval.states", "MapData"),
    ("moto.stepfunctions.parser.asl.eval.states", "ItemData"),
)

STATE_LIMIT_BYTES = 256 * 1024
"""The most a state's input or output may hold (``States.DataLimitExceeded`` above it)."""
EXPRESS_CHILD_SECONDS = 300
"""An Express child workflow execution's longest duration (five minutes)."""
MAX_LOCAL_WORKERS = 100
"""The most children the embedded stack runs at once (threads of this process); AWS runs up to 10,000."""
TOLERANCE_ERROR = "States.ExceedToleratedFailureThreshold"
TOLERANCE_CAUSE = "The specified tolerated failure threshold was exceeded"
DATA_LIMIT_ERROR = "States.DataLimitExceeded"
MARKER = "foreman-distributed-map:"
"""The Comment a Distributed Map state carries, in the definition moto parses, to find its ``DistributedSpec``."""
_limits = {"express_seconds": EXPRESS_CHILD_SECONDS}


@dataclass
class DistributedSpec:
    """What moto's grammar does not keep of a Distributed Map state, read from the definition itself."""

    execution_type: str
    processor: dict[str, Any]
    query_language: str | None
    item_batcher: dict[str, Any] | None = None
    input_type: str | None = None
    tolerance_declared: bool = False
    batch_input: Any = None  # moto's parsed Parameters for BatchInput


_specs: dict[str, DistributedSpec] = {}
_specs_lock = threading.Lock()


class DefinitionError(ValueError):
    """A Distributed Map field AWS refuses (the create or update answers ``InvalidDefinition``)."""


def _check_batcher(state_name: str, batcher: Any) -> None:
    if not isinstance(batcher, dict):
        raise DefinitionError(f"{state_name}: ItemBatcher must be an object")
    known = {
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
        "BatchInput",
    }
    unknown = set(batcher) - known
    if unknown:
        raise DefinitionError(f"{state_name}: ItemBatcher has unknown fields {sorted(unknown)}")
    if not set(batcher) & (known - {"BatchInput"}):
        raise DefinitionError(f"{state_name}: ItemBatcher needs MaxItemsPerBatch(Path) or MaxInputBytesPerBatch(Path)")
    for name in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
        if name in batcher and (not isinstance(batcher[name], int) or batcher[name] < 1):
            raise DefinitionError(f"{state_name}: ItemBatcher.{name} must be a positive integer")
    if batcher.get("MaxInputBytesPerBatch", 0) > STATE_LIMIT_BYTES:
        raise DefinitionError(f"{state_name}: ItemBatcher.MaxInputBytesPerBatch is at most {STATE_LIMIT_BYTES}")


def _rewrite_map(name: str, state: dict[str, Any], query_language: str | None) -> None:
    """Turn a Distributed Map state into what moto's grammar takes, and record what it dropped."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    processor = state["ItemProcessor"]
    config = processor.setdefault("ProcessorConfig", {})
    execution_type = config.get("ExecutionType", "STANDARD")
    if execution_type not in ("STANDARD", "EXPRESS"):
        raise DefinitionError(f"{name}: ProcessorConfig.ExecutionType must be STANDARD or EXPRESS")
    spec = DistributedSpec(
        execution_type=execution_type,
        processor={key: copy.deepcopy(value) for key, value in processor.items() if key != "ProcessorConfig"},
        query_language=state.get("QueryLanguage", query_language),
        tolerance_declared=any(key.startswith("ToleratedFailure") for key in state),
    )
    config["ExecutionType"] = "STANDARD"  # all moto's grammar takes; the spec keeps the real one
    if isinstance(state.get("ToleratedFailurePercentage"), int):  # AWS takes 20; moto's grammar only 20.0
        state["ToleratedFailurePercentage"] = float(state["ToleratedFailurePercentage"])
    if "ItemBatcher" in state:
        spec.item_batcher = state.pop("ItemBatcher")
        _check_batcher(name, spec.item_batcher)
        if "BatchInput" in spec.item_batcher:
            probe = {
                "StartAt": "B",
                "States": {"B": {"Type": "Pass", "Parameters": spec.item_batcher["BatchInput"], "End": True}},
            }
            program = _original_parse(json.dumps(probe))[0]
            spec.batch_input = program.states.states["B"].parameters
    reader_config = state.get("ItemReader", {}).get("ReaderConfig")
    if isinstance(reader_config, dict) and "InputType" in reader_config:
        spec.input_type = reader_config["InputType"]
        if spec.input_type == "JSONL":
            reader_config["InputType"] = "JSON"
    writer = state.get("ResultWriter")
    if isinstance(writer, dict) and "WriterConfig" in writer:
        writer_config = writer.pop("WriterConfig")
        if writer_config not in (
            {"Transformation": "NONE", "OutputType": "JSON"},
            {"Transformation": "NONE"},
            {"OutputType": "JSON"},
        ):
            raise DefinitionError(f"{name}: the embedded stack writes results only as Transformation NONE, JSON")
        if "Resource" not in writer:
            raise DefinitionError(f"{name}: the embedded stack needs ResultWriter's Resource and Parameters")
    key = uuid.uuid4().hex
    with _specs_lock:
        _specs[key] = spec
    state["Comment"] = MARKER + key
    del AmazonStateLanguageParser  # imported for its side effect of loading the parser


def _rewrite_states(states: dict[str, Any], query_language: str | None) -> None:
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor")
            if isinstance(processor, dict):
                inner_language = state.get("QueryLanguage", query_language)
                mode = (processor.get("ProcessorConfig") or {}).get("Mode")
                if isinstance(processor.get("States"), dict):
                    _rewrite_states(processor["States"], processor.get("QueryLanguage", inner_language))
                if mode == "DISTRIBUTED":
                    _rewrite_map(name, state, query_language)
        for branch in state.get("Branches", []) if state.get("Type") == "Parallel" else []:
            if isinstance(branch, dict) and isinstance(branch.get("States"), dict):
                _rewrite_states(branch["States"], branch.get("QueryLanguage", query_language))


def rewrite_definition(definition: str) -> str:
    """The definition moto's grammar takes: each Distributed Map keeps a marker to its ``DistributedSpec``."""
    try:
        document = json.loads(definition)
    except (TypeError, ValueError):
        return definition
    if not isinstance(document, dict) or not isinstance(document.get("States"), dict):
        return definition
    if "DISTRIBUTED" not in definition:
        return definition
    _rewrite_states(document["States"], document.get("QueryLanguage"))
    return json.dumps(document)


def distributed_map_states(states: dict[str, Any], path: str = "/States") -> list[str]:
    """The paths of the ``Mode: DISTRIBUTED`` Map states of ``states``, nested ones included."""
    found = []
    for name, state in states.items():
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if state.get("Type") == "Map" and (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
            found.append(f"{path}/{name}")
        for branch_index, branch in enumerate(state.get("Branches", [])):
            found += distributed_map_states(branch.get("States", {}), f"{path}/{name}/Branches[{branch_index}]/States")
        if processor:
            found += distributed_map_states(processor.get("States", {}), f"{path}/{name}/ItemProcessor/States")
    return found


def _original_parse(definition: str) -> Any:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = _saved.get("parse", AmazonStateLanguageParser.parse)
    return parse(definition)


_saved: dict[str, Any] = {}


# ---- children --------------------------------------------------------------------------------------------------


@dataclass
class MapRun:
    """One Map Run: its record (moto's ``MapRunRecord``, read by ListMapRuns/DescribeMapRun) and its children."""

    record: Any
    execution_type: str
    children: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_children: dict[str, Any] = {}
_runs: dict[str, MapRun] = {}
_registry_lock = threading.Lock()


@dataclass
class _ChildMachine:
    """The Map Run's state machine, as a child execution sees it (moto's ``StateMachineInstance`` fields)."""

    arn: str
    name: str
    sm_type: str
    definition: str
    roleArn: str  # noqa: N815 - moto's attribute name
    create_date: datetime.datetime
    revision_id: str | None = None
    logging_config: Any = None


def _child_classes() -> tuple[type, type, type]:
    """ChildExecution, its worker and its communication, built on moto's classes (imported lazily)."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class ChildCommunication(BaseExecutionWorkerCommunication):
        def terminated(self) -> None:
            super().terminated()
            self.execution.__dict__["_foreman_done"].set()

    class ChildWorker(ExecutionWorker):
        express: bool = False

        def _get_evaluation_environment(self) -> Any:
            env = super()._get_evaluation_environment()
            if self.express:
                env.event_manager.__dict__.pop("_foreman_history", None)  # Express has no 25,000-event history
            _limit_state_sizes(env)
            return env

    class ChildExecution(Execution):
        map_run_arn: str = ""
        item_count: int = 1

        def _get_start_execution_worker_comm(self) -> Any:
            return ChildCommunication(self)

        def _get_start_execution_worker(self) -> Any:
            worker = super()._get_start_execution_worker()
            worker.__class__ = ChildWorker
            worker.express = self.sm_type == "EXPRESS"  # type: ignore[attr-defined]
            return worker

    return ChildExecution, ChildWorker, ChildCommunication


def _limit_state_sizes(env: Any) -> None:
    """Fail the execution of ``env`` with ``States.DataLimitExceeded`` when a state's input or output passes
    256 KiB, instead of recording it."""
    manager = env.event_manager
    add_event = manager.add_event

    def add_limited(*args: Any, **kwargs: Any) -> int:
        details = kwargs.get("event_details") or {}
        for key, field_name in (("stateEnteredEventDetails", "input"), ("stateExitedEventDetails", "output")):
            part = details.get(key) if isinstance(details, dict) else None
            text = part.get(field_name) if isinstance(part, dict) else None
            if isinstance(part, dict) and isinstance(text, str) and len(text.encode()) > STATE_LIMIT_BYTES:
                raise _failure(
                    env,
                    DATA_LIMIT_ERROR,
                    f"The state/task '{part.get('name')}' {field_name} has a size exceeding the maximum number of "
                    "bytes service limit.",
                )
        result: int = add_event(*args, **kwargs)
        return result

    manager.add_event = add_limited


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _child_definition(spec: DistributedSpec) -> str:
    definition = dict(spec.processor)
    if spec.query_language and "QueryLanguage" not in definition:
        definition["QueryLanguage"] = spec.query_language
    if spec.execution_type == "EXPRESS":
        limit = _limits["express_seconds"]
        definition["TimeoutSeconds"] = min(int(definition.get("TimeoutSeconds", limit)), limit)
    return json.dumps(definition)


def _start_child(run: MapRun, machine: _ChildMachine, parent: Any, child_input: Any, items: int) -> Any:
    child_class = _child_classes()[0]
    name = str(uuid.uuid4())
    prefix = machine.arn.replace(":stateMachine:", ":express:" if run.execution_type == "EXPRESS" else ":execution:")
    arn = f"{prefix}:{name}" + (f":{uuid.uuid4()}" if run.execution_type == "EXPRESS" else "")
    child = child_class(
        name=name,
        sm_type=run.execution_type,
        role_arn=machine.roleArn,
        exec_arn=arn,
        account_id=parent["account"],
        region_name=parent["region"],
        state_machine=machine,
        start_date=_now(),
        cloud_watch_logging_session=None,
        activity_store={},
        input_data=json.dumps(child_input),
    )
    child.map_run_arn = run.record.map_run_arn
    child.item_count = items
    done = threading.Event()
    child.__dict__["_foreman_done"] = done
    child.__dict__["_foreman_on_abort"] = [lambda error, cause: done.set()]
    with _registry_lock:
        _children[arn] = child
    with run.lock:
        run.children.append(child)
    child.start()
    if parent.get("stopped", lambda: False)():
        from foreman.local.aborts import abort_execution

        abort_execution(child, None, None)  # the parent was stopped while this child was being started
    return child


def _on_parent_abort(env: Any, parent_arn: str, run: MapRun) -> None:
    """Stop the Map Run's children the moment StopExecution stops the parent, as AWS does."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from foreman.local.aborts import abort_execution

    def stop_children(error: str | None, cause: str | None) -> None:
        with run.lock:
            children = list(run.children)
        for child in children:
            abort_execution(child, None, None)

    try:
        backend = stepfunctions_parser_backends[env.aws_execution_details.account][env.aws_execution_details.region]
        parent = backend.describe_execution(parent_arn)
    except Exception:
        return
    parent.__dict__.setdefault("_foreman_on_abort", []).append(stop_children)


# ---- the Map state ---------------------------------------------------------------------------------------------


def _failure(env: Any, error: str, cause: str) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=next(typ for typ in StatesErrorNameType if typ.to_name() == error)),
            event_type=HistoryEventType.MapStateFailed,
            event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(error=error, cause=cause)),  # type: ignore[typeddict-item]
        )
    )


def _read_items(state: Any, spec: DistributedSpec, env: Any) -> list[Any]:
    if state.item_reader is None:
        state.items_path.eval(env=env)
        items = env.stack.pop()
        if not isinstance(items, list):
            raise _failure(env, "States.Runtime", f"Map state input must be an array but was: {type(items).__name__}")
        return items
    reader = state.item_reader
    if spec.input_type != "JSONL":
        reader.eval(env=env)
        items = env.stack.pop()
        return list(items)
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3

    reader.reader_config.eval(env=env)
    config = env.stack.pop()
    reader.parargs.eval(env=env)
    parameters = env.stack.pop()
    client = resource_eval_s3.boto_client_for(
        region=env.aws_execution_details.region, service="s3", state_credentials=None
    )
    body = client.get_object(**parameters)["Body"].read().decode()
    try:
        items = [json.loads(line) for line in body.splitlines() if line.strip()]
    except ValueError as error:
        raise _failure(env, "States.ItemReaderFailed", f"Invalid JSON Lines object: {error}") from error
    return items[: config["MaxItemsValue"]]


def _select(state: Any, env: Any, items: list[Any]) -> list[Any]:
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    selector = state.item_selector or state.parameters
    if selector is None:
        return items
    map_input = env.states.get_input()
    selected = []
    frame = env.open_frame()
    try:
        for index, item in enumerate(items):
            frame.states.context_object.context_object_data["Map"] = MapData(Item=ItemData(Index=index, Value=item))
            frame.states.reset(input_value=copy.deepcopy(map_input))
            frame.stack.append(frame.states.get_input())
            selector.eval(frame)
            selected.append(frame.stack.pop())
    finally:
        env.close_frame(frame)
    return selected


def _batch_limit(batcher: dict[str, Any], name: str, env: Any) -> int | None:
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    if name in batcher:
        return int(batcher[name])
    if name + "Path" in batcher:
        value = extract_json(batcher[name + "Path"], env.states.get_input())
        if not isinstance(value, int) or value < 1:
            raise _failure(env, "States.Runtime", f"{name}Path must point to a positive integer, got {value!r}")
        return value
    return None


def _batches(spec: DistributedSpec, env: Any, items: list[Any]) -> list[tuple[Any, int]]:
    """Each child's input and how many items it carries."""
    if spec.item_batcher is None:
        return [(item, 1) for item in items]
    batcher = spec.item_batcher
    most_items = _batch_limit(batcher, "MaxItemsPerBatch", env)
    most_bytes = _batch_limit(batcher, "MaxInputBytesPerBatch", env) or STATE_LIMIT_BYTES
    base: dict[str, Any] = {}
    if spec.batch_input is not None:
        frame = env.open_frame()
        try:
            frame.states.reset(input_value=copy.deepcopy(env.states.get_input()))
            frame.stack.append(frame.states.get_input())
            spec.batch_input.eval(frame)
            base["BatchInput"] = frame.stack.pop()
        finally:
            env.close_frame(frame)

    def size(batch: list[Any]) -> int:
        return len(json.dumps({"Items": batch, **base}, separators=(",", ":")).encode())

    batches: list[list[Any]] = []
    for item in items:
        if (
            batches
            and (most_items is None or len(batches[-1]) < most_items)
            and size([*batches[-1], item]) <= most_bytes
        ):
            batches[-1].append(item)
        else:
            batches.append([item])
    return [({"Items": batch, **base}, len(batch)) for batch in batches]


def _tolerance(state: Any, env: Any) -> tuple[int, float]:
    frame = env.open_frame()
    try:
        frame.states.reset(input_value=env.states.get_input())
        state.tolerated_failure_count_decl.eval(env=frame)
        count = int(frame.stack.pop())
        state.tolerated_failure_percentage_decl.eval(env=frame)
        percentage = float(frame.stack.pop())
    finally:
        env.close_frame(frame)
    return count, percentage


def _exceeded(spec: DistributedSpec, count: int, percentage: float, failed: int, total: int) -> bool:
    if failed == 0:
        return False
    if not spec.tolerance_declared:
        return True
    return failed > count if count or not percentage else failed * 100.0 > percentage * total


def _eval_distributed(state: Any, env: Any, spec: DistributedSpec) -> None:
    from moto.stepfunctions.parser.api import (
        HistoryEventType,
        MapRunFailedEventDetails,
        MapRunStartedEventDetails,
        MapRunStatus,
        MapStateStartedEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (
        MapRunRecord,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    state.max_concurrency_decl.eval(env=env)
    max_concurrency = int(env.stack.pop())
    items = _read_items(state, spec, env)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapStateStarted,
        event_details=EventDetails(  # type: ignore[typeddict-item]
            mapStateStartedEventDetails=MapStateStartedEventDetails(
                length=0 if state.item_reader is not None else len(items)
            )
        ),
    )
    count, percentage = _tolerance(state, env)
    batches = _batches(spec, env, _select(state, env, items))
    context = env.states.context_object.context_object_data
    record = MapRunRecord(
        state_machine_arn=context["StateMachine"]["Id"],
        execution_arn=context["Execution"]["Id"],
        max_concurrency=max_concurrency,
        tolerated_failure_count=count,
        tolerated_failure_percentage=percentage,
        label=state.label.label if state.label else None,
    )
    env.map_run_record_pool_manager.add(record)
    run = MapRun(record=record, execution_type=spec.execution_type)
    with _registry_lock:
        _runs[record.map_run_arn] = run
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapRunStarted,
        event_details=EventDetails(mapRunStartedEventDetails=MapRunStartedEventDetails(mapRunArn=record.map_run_arn)),  # type: ignore[typeddict-item]
    )
    machine = _ChildMachine(
        arn=record.map_state_machine_arn,
        name=record.map_state_machine_arn.split(":")[-1],
        sm_type=spec.execution_type,
        definition=_child_definition(spec),
        roleArn=env.aws_execution_details.role_arn,
        create_date=_now(),
    )
    parent = {"account": env.aws_execution_details.account, "region": env.aws_execution_details.region}
    parent["stopped"] = lambda: not env.is_running()
    _on_parent_abort(env, context["Execution"]["Id"], run)
    total_items = sum(size for _, size in batches)
    record.item_counter.total.count(total_items)
    record.execution_counter.total.count(len(batches))
    record.item_counter.pending.count(total_items)
    record.execution_counter.pending.count(len(batches))

    outputs: list[Any] = [None] * len(batches)
    children: list[Any] = [None] * len(batches)
    lock = threading.Lock()
    changed = threading.Condition(lock)
    progress = {"next": 0, "failed_items": 0, "open": 0, "halt": False}

    def settle(index: int, child: Any, items_here: int) -> None:
        status = child.exec_status.value if hasattr(child.exec_status, "value") else str(child.exec_status)
        record.item_counter.running.offset(-items_here)
        record.execution_counter.running.offset(-1)
        counters = {"SUCCEEDED": "succeeded", "FAILED": "failed", "TIMED_OUT": "timed_out", "ABORTED": "aborted"}
        name = counters.get(status, "failed")
        getattr(record.item_counter, name).count(items_here)
        getattr(record.execution_counter, name).count()
        if status == "SUCCEEDED":
            record.item_counter.results_written.count(items_here)
            record.execution_counter.results_written.count()
            outputs[index] = child.output
        else:
            progress["failed_items"] += items_here
            if _exceeded(spec, count, percentage, progress["failed_items"], total_items):
                progress["halt"] = True

    def worker() -> None:
        while True:
            with changed:
                index = progress["next"]
                if progress["halt"] or index >= len(batches) or not env.is_running():
                    changed.notify_all()
                    return
                progress["next"] += 1
                progress["open"] += 1
                child_input, items_here = batches[index]
                record.item_counter.pending.offset(-items_here)
                record.execution_counter.pending.offset(-1)
                record.item_counter.running.count(items_here)
                record.execution_counter.running.count()
            child = _start_child(run, machine, parent, child_input, items_here)
            children[index] = child
            child.__dict__["_foreman_done"].wait()
            with changed:
                settle(index, child, items_here)
                progress["open"] -= 1
                changed.notify_all()

    workers = [
        threading.Thread(target=worker, daemon=True, name=f"map-run-{index}")
        for index in range(min(max_concurrency or MAX_LOCAL_WORKERS, MAX_LOCAL_WORKERS, max(len(batches), 1)))
    ]
    for thread in workers:
        thread.start()
    with changed:
        while any(thread.is_alive() for thread in workers):
            if progress["halt"] or not env.is_running():
                break
            changed.wait(0.05)
    halted = progress["halt"] or not env.is_running()
    if halted:
        from foreman.local.aborts import abort_execution

        for child in list(run.children):
            abort_execution(child, None, None)
    for thread in workers:
        thread.join()

    if not env.is_running():  # the parent was stopped or timed out: its end is already recorded
        record.set_stop(status=MapRunStatus.ABORTED)
        return
    if progress["halt"]:
        record.set_stop(status=MapRunStatus.FAILED)
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                mapRunFailedEventDetails=MapRunFailedEventDetails(error=TOLERANCE_ERROR, cause=TOLERANCE_CAUSE)
            ),
        )
        if state.result_writer is not None:
            _write_results(state, env, record, children)
        raise _failure(env, TOLERANCE_ERROR, TOLERANCE_CAUSE)
    record.set_stop(status=MapRunStatus.SUCCEEDED)
    env.event_manager.add_event(context=env.event_history_context, event_type=HistoryEventType.MapRunSucceeded)
    if state.result_writer is not None:
        env.stack.append(_write_results(state, env, record, children))
    else:
        text = json.dumps(outputs, separators=(",", ":"))
        if len(text.encode()) > STATE_LIMIT_BYTES:
            raise _failure(
                env,
                DATA_LIMIT_ERROR,
                f"The state/task '{state.name}' returned a result with a size "
                "exceeding the maximum number of bytes service limit.",
            )
        env.stack.append(outputs)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapStateSucceeded,
        update_source_event_id=False,
    )


# ---- ResultWriter ----------------------------------------------------------------------------------------------


def _iso(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def result_entry(child: Any) -> dict[str, Any]:
    """One child's line in a ResultWriter file (``Transformation: NONE``), as Step Functions writes it."""
    status = child.exec_status.value if hasattr(child.exec_status, "value") else str(child.exec_status)
    entry: dict[str, Any] = {
        "ExecutionArn": child.exec_arn,
        "Input": json.dumps(child.input_data, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "RedriveCount": 0,
        "StartDate": _iso(child.start_date),
        "StateMachineArn": child.state_machine.arn,
        "Status": status,
        "StopDate": _iso(child.stop_date),
    }
    if status == "SUCCEEDED":
        entry["Output"] = json.dumps(child.output, separators=(",", ":"))
        entry["OutputDetails"] = {"Included": True}
        entry["RedriveStatus"] = "NOT_REDRIVABLE"
        entry["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        if child.error is not None:
            entry["Error"] = child.error
        if child.cause is not None:
            entry["Cause"] = child.cause
        entry["RedriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
    return dict(sorted(entry.items()))


def _write_results(state: Any, env: Any, record: Any, children: list[Any]) -> dict[str, Any]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3

    state.result_writer.parargs.eval(env=env)
    parameters = env.stack.pop()
    bucket = parameters["Bucket"]
    prefix = str(parameters.get("Prefix", "")).rstrip("/")
    run_id = record.map_run_arn.split(":")[-1]
    folder = f"{prefix}/{run_id}" if prefix else run_id
    client = resource_eval_s3.boto_client_for(
        region=env.aws_execution_details.region, service="s3", state_credentials=None
    )
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    groups: dict[str, list[dict[str, Any]]] = {"FAILED": [], "SUCCEEDED": []}
    for child in children:
        if child is None:
            continue
        entry = result_entry(child)
        groups["SUCCEEDED" if entry["Status"] == "SUCCEEDED" else "FAILED"].append(entry)
    for status, entries in groups.items():
        if not entries:
            continue
        key = f"{folder}/{status}_0.json"
        body = json.dumps(entries).encode()
        client.put_object(Bucket=bucket, Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
    manifest_key = f"{folder}/manifest.json"
    client.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode())
    return {"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


# ---- the API: children and Map Runs ----------------------------------------------------------------------------


def child_execution(arn: str) -> Any | None:
    """The child workflow execution of that ARN, or None."""
    with _registry_lock:
        return _children.get(arn)


def map_run_children(map_run_arn: str) -> list[Any]:
    """The child executions a Map Run started, in start order."""
    with _registry_lock:
        run = _runs.get(map_run_arn)
    if run is None:
        return []
    with run.lock:
        return list(run.children)


@contextmanager
def express_child_limit(seconds: int) -> Iterator[None]:
    """Lower an Express child's longest duration for the block (a test of the five-minute limit)."""
    saved = _limits["express_seconds"]
    _limits["express_seconds"] = seconds
    try:
        yield
    finally:
        _limits["express_seconds"] = saved


@contextmanager
def distributed_maps() -> Iterator[None]:
    """Run ``Mode: DISTRIBUTED`` Map states as Map Runs of child workflow executions, as Step Functions does."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import InvalidArn
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    original_parse = AmazonStateLanguageParser.parse
    original_eval = StateMap._eval_execution
    from moto.stepfunctions.parser.api import InvalidDefinition

    original_create = StepFunctionsParserBackend.create_state_machine
    original_describe = StepFunctionsParserBackend.describe_execution
    original_history = StepFunctionsParserBackend.get_execution_history
    original_list = StepFunctionResponse.list_executions
    original_describe_response = StepFunctionResponse.describe_execution
    original_history_response = StepFunctionResponse.get_execution_history

    def parse(definition: str) -> Any:
        return original_parse(rewrite_definition(definition))

    def create_state_machine(self: Any, *args: Any, **kwargs: Any) -> Any:
        definition = kwargs.get("definition", args[1] if len(args) > 1 else None)
        machine_type = kwargs.get("sm_type") or "STANDARD"
        if str(machine_type).upper() == "EXPRESS" and isinstance(definition, str):
            try:
                states = json.loads(definition).get("States", {})
            except (ValueError, AttributeError):
                states = {}
            distributed = distributed_map_states(states) if isinstance(states, dict) else []
            if distributed:
                raise InvalidDefinition(
                    "Invalid State Machine Definition: the Distributed Map state (ProcessorConfig.Mode DISTRIBUTED) "
                    f"is not supported in Express workflows, at {', '.join(distributed)}"
                )
        return original_create(self, *args, **kwargs)

    def eval_execution(self: Any, env: Any) -> None:
        comment = getattr(getattr(self, "comment", None), "comment", None)
        spec = _specs.get(comment[len(MARKER) :]) if isinstance(comment, str) and comment.startswith(MARKER) else None
        if spec is None:
            original_eval(self, env)
            return
        _eval_distributed(self, env, spec)

    def describe_execution(self: Any, execution_arn: str) -> Any:
        child = child_execution(execution_arn)
        return child if child is not None else original_describe(self, execution_arn)

    def get_execution_history(self: Any, execution_arn: str) -> Any:
        child = child_execution(execution_arn)
        return child.to_history_output() if child is not None else original_history(self, execution_arn)

    def describe_response(self: Any) -> Any:
        arn = str(self._get_param("executionArn"))
        result: Any = original_describe_response(self)
        child = child_execution(arn)
        if child is not None:
            result.result["mapRunArn"] = child.map_run_arn
            result.result["stateMachineArn"] = child.state_machine.arn
        return result

    def history_response(self: Any) -> Any:
        child = child_execution(str(self._get_param("executionArn")))
        if child is not None and child.sm_type == "EXPRESS":
            raise InvalidArn("Invalid Arn: 'Resource type not valid in this context: express'")
        return original_history_response(self)

    def list_executions(self: Any) -> Any:
        map_run_arn = self._get_param("mapRunArn")
        if not map_run_arn:
            return original_list(self)
        status = self._get_param("statusFilter")
        listed = []
        for child in reversed(map_run_children(str(map_run_arn))):
            if status and child.status != status:
                continue
            item = {
                "executionArn": child.exec_arn,
                "stateMachineArn": child.state_machine.arn,
                "name": child.name,
                "status": child.status,
                "startDate": child.start_date,
                "mapRunArn": child.map_run_arn,
                "itemCount": child.item_count,
            }
            if child.stop_date is not None:
                item["stopDate"] = child.stop_date
            listed.append(item)
        return ActionResult({"executions": listed})

    _saved["parse"] = original_parse
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse)))
        stack.enter_context(mock.patch.object(StateMap, "_eval_execution", eval_execution))
        stack.enter_context(mock.patch.object(StepFunctionsParserBackend, "create_state_machine", create_state_machine))
        stack.enter_context(mock.patch.object(StepFunctionsParserBackend, "describe_execution", describe_execution))
        stack.enter_context(
            mock.patch.object(StepFunctionsParserBackend, "get_execution_history", get_execution_history)
        )
        stack.enter_context(mock.patch.object(StepFunctionResponse, "list_executions", list_executions))
        stack.enter_context(mock.patch.object(StepFunctionResponse, "describe_execution", describe_response))
        stack.enter_context(mock.patch.object(StepFunctionResponse, "get_execution_history", history_response))
        try:
            yield
        finally:
            with _registry_lock:
                _children.clear()
                _runs.clear()
            _saved.pop("parse", None)
