"""On the embedded stack a conditional write is atomic, as on DynamoDB: of many racing claims, exactly one wins."""

from __future__ import annotations

import threading
import time

import boto3
from moto import mock_aws

from foreman.local.patches.atomic_dynamodb import atomic_dynamodb
from foreman_core.config import Tables
from foreman_core.greenfield import RunMarkers
from foreman_core.task_store import TaskStore
from tests.builders import create_sosw_tables


def test_racing_claims_of_one_task_have_exactly_one_winner() -> None:
    with mock_aws(), atomic_dynamodb():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_sosw_tables(client)
        store = TaskStore(client, Tables())
        tasks = store.create_tasks("worker", [{"n": i} for i in range(30)])
        markers = RunMarkers.at(time.time(), duration=900, cooldown=300)
        wins: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def claim_all() -> None:
            start.wait()
            for task in tasks:
                if store.claim(task.task_id, "worker", markers).claimed:
                    with lock:
                        wins.append(task.task_id)

        threads = [threading.Thread(target=claim_all) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(wins) == sorted(task.task_id for task in tasks)
        assert all(store.get_task(task.task_id).attempts == 1 for task in tasks)  # type: ignore[union-attr]
