"""``run_groups``: a run's groups written to S3 and every group's result read back, whatever became of its child."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from foreman_core import run_groups

BUCKET = "runs"


def _task(task_id: str) -> list[str]:
    """A claim item: id, greenfield and attempts as fetched, attempts after the claim, payload, created_at."""
    return [task_id, "1", "0", "1", "{}", "5"]


GROUPS = [
    {"labourer_id": "a", "arn": "arn:a", "concurrency": 2, "tasks": [_task("a1"), _task("a2")]},
    {"labourer_id": "a", "arn": "arn:a", "concurrency": 2, "tasks": [_task("a3")]},
    {"labourer_id": "b", "arn": "arn:b", "concurrency": 1, "tasks": [_task("b1")]},
]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _results(s3: Any, location: run_groups.Location, entries: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Write a Map Run's results as ResultWriter does (a manifest and one file per status); its details."""
    files: dict[str, list[dict[str, Any]]] = {}
    for status, listed in entries.items():
        key = f"{location.results}/run/{status}_0.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(listed).encode())
        files[status] = [{"Key": key}]
    manifest = f"{location.results}/run/manifest.json"
    s3.put_object(Bucket=BUCKET, Key=manifest, Body=json.dumps({"ResultFiles": files}).encode())
    return {"results": {"Bucket": BUCKET, "Key": manifest}}


def _succeeded(group: dict[str, Any]) -> dict[str, Any]:
    outcomes = [{"task_id": task[0], "outcome": "invoked"} for task in group["tasks"]]
    return {
        "Input": json.dumps(group),
        "Output": json.dumps({"labourer_id": group["labourer_id"], "outcomes": outcomes}),
    }


def test_every_group_has_its_result_from_the_childrens_entries_alone(s3: Any) -> None:
    location = run_groups.write(s3, BUCKET, "run-1", GROUPS)
    invoked = _results(
        s3,
        location,
        {
            "SUCCEEDED": [_succeeded(GROUPS[0]), _succeeded(GROUPS[2])],
            "FAILED": [{"Input": json.dumps(GROUPS[1]), "Status": "ABORTED", "Error": "States.Aborted"}],
        },
    )
    s3.delete_object(Bucket=BUCKET, Key=location.key)  # every group has an entry: the groups file is not needed

    results = run_groups.read_results(s3, location, invoked)

    by_first = {(result.get("task_ids") or [o["task_id"] for o in result["outcomes"]])[0]: result for result in results}
    assert set(by_first) == {"a1", "a3", "b1"}
    assert [o["outcome"] for o in by_first["a1"]["outcomes"]] == ["invoked", "invoked"]
    assert (by_first["a3"]["error"], by_first["a3"]["task_ids"]) == ("States.Aborted", ["a3"])


def test_a_group_whose_child_left_no_entry_is_read_from_the_groups_file_and_may_be_claimed(s3: Any) -> None:
    location = run_groups.write(s3, BUCKET, "run-2", GROUPS)
    invoked = _results(s3, location, {"SUCCEEDED": [_succeeded(GROUPS[0])]})

    results = run_groups.read_results(s3, location, invoked)

    assert [result["labourer_id"] for result in results] == ["a", "a", "b"]  # the groups' order
    assert [o["task_id"] for o in results[0]["outcomes"]] == ["a1", "a2"]
    assert (results[1]["error"], results[1]["task_ids"]) == ("States.NoResult", ["a3"])
    assert results[2]["task_ids"] == ["b1"]


def test_a_map_that_failed_leaves_every_group_possibly_claimed_with_its_error(s3: Any) -> None:
    location = run_groups.write(s3, BUCKET, "run-3", GROUPS)

    results = run_groups.read_results(s3, location, {"Error": "States.ItemReaderFailed", "Cause": "denied"})

    assert [(r["error"], r["cause"], r["task_ids"]) for r in results] == [
        ("States.ItemReaderFailed", "denied", ["a1", "a2"]),
        ("States.ItemReaderFailed", "denied", ["a3"]),
        ("States.ItemReaderFailed", "denied", ["b1"]),
    ]
