"""A run's groups in S3: what FetchGreenfieldTasks hands to the Invocations execution, and what its children did.

A *group* is one child workflow execution's share of a run: up to ``run_limits.GROUP_TASKS_MOST`` tasks of one
labourer, with the labourer's fields (``labourer_id``, ``arn``, ``concurrency``) and its tasks' claim items
(``task_store.claim_item``). FetchGreenfieldTasks writes the run's groups as JSON Lines (``write``), one group a line,
to ``runs/<run id>/invocations.jsonl`` in the deployment's runs bucket; the state carries only where they are
(``Location``). The Invocations execution's Distributed Map (``InvokeLabourers``) reads that object (``ItemReader``,
``JSONL``), runs one child per line and writes the children's results beside it (``ResultWriter``:
``runs/<run id>/results/<map run id>/manifest.json`` and the files it lists). Summarize reads both back
(``read_results``): every group gets a result, so the report and the lease's record of what the run left claimed
never miss a task, whatever became of its child.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GROUPS_FILE = "invocations.jsonl"
RESULTS_FOLDER = "results"


@dataclass(frozen=True)
class Location:
    """Where a run's groups are, and how many: the state's ``invocations`` (plain JSON, ``to_dict``)."""

    bucket: str
    key: str
    results: str
    """The ResultWriter's prefix: the Map Run writes its manifest and files under it."""
    groups: int
    tasks: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "results": self.results,
            "groups": self.groups,
            "tasks": self.tasks,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Location:
        return cls(
            bucket=str(value["bucket"]),
            key=str(value["key"]),
            results=str(value["results"]),
            groups=int(value["groups"]),
            tasks=int(value["tasks"]),
        )


def run_folder(run_id: str) -> str:
    """The run's folder in the runs bucket."""
    return f"runs/{run_id}"


def write(s3: Any, bucket: str, run_id: str, groups: Sequence[Mapping[str, Any]]) -> Location:
    """Write ``groups`` to the runs bucket as JSON Lines (nothing when there are none: a run with nothing to invoke
    starts no Invocations execution); where they are."""
    folder = run_folder(run_id)
    key = f"{folder}/{GROUPS_FILE}"
    tasks = sum(len(group["tasks"]) for group in groups)
    if groups:
        body = "".join(json.dumps(group, separators=(",", ":"), ensure_ascii=False) + "\n" for group in groups)
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/jsonl")
    return Location(bucket=bucket, key=key, results=f"{folder}/{RESULTS_FOLDER}", groups=len(groups), tasks=tasks)


def read_groups(s3: Any, location: Location) -> list[dict[str, Any]]:
    """The groups ``write`` wrote, in order, each with its labourer's id and its tasks' ids only (``tasks``: one-item
    lists): read a line at a time, so Summarize never holds the run's payloads."""
    if location.groups == 0:
        return []
    groups = []
    for line in s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].iter_lines():
        if line.strip():
            group = json.loads(line)
            groups.append({"labourer_id": group["labourer_id"], "tasks": [[task[0]] for task in group["tasks"]]})
    return groups


def _group_key(group: Mapping[str, Any]) -> tuple[str, str, int]:
    tasks = group.get("tasks") or [[""]]
    return str(group.get("labourer_id")), str(tasks[0][0]), len(tasks)


def _entries(s3: Any, details: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every child's entry of a Map Run's results, with the status of the file it is in (SUCCEEDED, FAILED,
    PENDING), from the manifest at ``details`` (``ResultWriterDetails``)."""
    bucket = str(details["Bucket"])
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=str(details["Key"]))["Body"].read())
    for status, files in (manifest.get("ResultFiles") or {}).items():
        for listed in files or []:
            body = s3.get_object(Bucket=bucket, Key=str(listed["Key"]))["Body"].read()
            for entry in json.loads(body or b"[]"):
                yield str(status), entry


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


def read_results(s3: Any, location: Location, invoked: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One result per group of the run, from what the Invocations execution's Map returned (``invoked``: its
    ``results`` (``ResultWriterDetails``), or the error that stopped it). Each child's entry holds its input, which is
    its group: the groups file (the run's payloads) is read back only when some group left no entry (the Map failed).

    - a child that succeeded: its output, ``{"labourer_id", "outcomes": [...]}`` (or ``error``/``cause`` when its
      labourer's InvokeTasks Map failed as a whole, with ``task_ids``);
    - a child that failed, timed out or was stopped, and a group whose child left no result (the Map failed): its
      labourer, ``error`` and ``cause``, and ``task_ids``: every task of the group may have been claimed;
    - a group never started (a ``PENDING`` entry): ``outcomes`` of ``not_started`` for its tasks (none was claimed).
    """
    found: dict[tuple[str, str, int], tuple[str, dict[str, Any]]] = {}
    inputs: list[Mapping[str, Any]] = []
    details = invoked.get("results") if isinstance(invoked, Mapping) else None
    if isinstance(details, Mapping) and "Key" in details:
        for status, entry in _entries(s3, details):
            child_input = _json(entry.get("Input"))
            if isinstance(child_input, Mapping):
                found[_group_key(child_input)] = (status, entry)
                inputs.append(child_input)
    groups = inputs if len(found) >= location.groups else read_groups(s3, location)
    map_error = invoked.get("Error") if isinstance(invoked, Mapping) else None
    results: list[dict[str, Any]] = []
    for group in groups:
        labourer_id = str(group["labourer_id"])
        task_ids = [str(task[0]) for task in group["tasks"]]
        status, entry = found.get(_group_key(group), ("", {}))
        output = _json(entry.get("Output")) if status == "SUCCEEDED" else None
        if isinstance(output, Mapping) and isinstance(output.get("outcomes"), list) and not output.get("error"):
            results.append({"labourer_id": labourer_id, "outcomes": list(output["outcomes"])})
        elif status == "PENDING":
            outcomes = [{"task_id": task_id, "outcome": "not_started"} for task_id in task_ids]
            results.append({"labourer_id": labourer_id, "outcomes": outcomes})
        else:
            if isinstance(output, Mapping):  # the child's own catch: LabourerFailed
                error, cause = output.get("error"), output.get("cause")
            elif entry:
                error = entry.get("Error") or f"States.{entry.get('Status', 'Failed').title().replace('_', '')}"
                cause = entry.get("Cause") or f"child execution {entry.get('ExecutionArn')} ended {entry.get('Status')}"
            else:
                error = str(map_error or "States.NoResult")
                cause = (invoked.get("Cause") if map_error else None) or "the Map Run left no result for this group"
            results.append({"labourer_id": labourer_id, "error": error, "cause": cause, "task_ids": task_ids})
    return results
