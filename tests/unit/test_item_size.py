"""Item sizes as DynamoDB counts them, and requeue batches that fit DynamoDB's 4 MB per transaction."""

from __future__ import annotations

from foreman_core.item_size import TRANSACTION_BYTES, item_bytes, value_bytes
from foreman_core.task_store import TRANSACTION_TASKS, Task, transaction_batches


def test_each_type_counts_as_dynamodbs_item_size_rules_say() -> None:
    assert value_bytes({"S": "héllo"}) == 6  # UTF-8 bytes
    assert value_bytes({"N": "12345"}) >= 4  # about a byte per two digits, plus one: never counted below
    assert value_bytes({"B": b"\x00\x01\x02"}) == 3  # raw bytes, not base64
    assert value_bytes({"BOOL": True}) == value_bytes({"NULL": True}) == 1
    assert value_bytes({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_bytes({"M": {"k": {"S": "ab"}}}) == 3 + 1 + 1 + 2
    assert item_bytes({"task_id": {"S": "abc"}, "payload": {"S": "{}"}}) == 7 + 3 + 7 + 2


def task_of(number: int, size: int) -> tuple[Task, dict[str, dict[str, str]]]:
    item = {"task_id": {"S": f"t{number}"}, "labourer_id": {"S": "w"}, "payload": {"S": "x" * size}}
    return Task.from_item(item), item


def test_small_moves_go_fifty_to_a_transaction() -> None:
    moves = [task_of(n, 100) for n in range(120)]

    assert [len(batch) for batch in transaction_batches(moves)] == [TRANSACTION_TASKS, TRANSACTION_TASKS, 20]


def test_large_moves_are_batched_under_4_mb_counting_the_put_and_the_deleted_row() -> None:
    moves = [task_of(n, 100_000) for n in range(50)]

    batches = list(transaction_batches(moves))

    assert [move for batch in batches for move in batch] == moves  # all of them, in order
    for batch in batches:
        assert sum(item_bytes(item) + item_bytes(task.to_item()) for task, item in batch) <= TRANSACTION_BYTES
    assert len(batches) == 3  # 20 moves of ~200 KB each per transaction
