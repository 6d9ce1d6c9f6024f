"""Malformed task items of every shape DynamoDB accepts, for the poison-input tests.

DynamoDB itself enforces only the key types: ``task_id`` (the table's key) is a string, and ``labourer_id`` and
``greenfield`` are a string and a number wherever the greenfield index holds the item. Every other attribute may be
of any type, or missing, and a producer with a bug (or a person with the console) can write any of them.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from foreman_core.task_store import Item

CHECKED = ("created_at", "attempts", "payload")
"""The attributes the Claim state reads besides the keys; each must be of one type (and, for ``payload``, hold a
strict JSON object)."""

WRONG_TYPES: dict[str, list[dict[str, Any]]] = {
    "created_at": [
        {"S": "yesterday"},
        {"B": b"\x00\x01"},
        {"BOOL": True},
        {"NULL": True},
        {"M": {"at": {"N": "1"}}},
        {"L": [{"N": "1"}]},
        {"SS": ["a"]},
        {"NS": ["1"]},
    ],
    "attempts": [
        {"S": "two"},
        {"N": "1.5"},
        {"N": "-1"},
        {"B": b"2"},
        {"BOOL": False},
        {"NULL": True},
        {"L": []},
        {"M": {}},
    ],
    "payload": [
        {"B": b'{"n": 1}'},
        {"N": "1"},
        {"M": {"n": {"N": "1"}}},
        {"L": [{"S": "x"}]},
        {"NULL": True},
        {"BOOL": True},
        {"SS": ["{}"]},
        {"S": "not json"},
        {"S": "[1, 2]"},
        {"S": "null"},
        {"S": ""},
        {"S": '{"a": NaN}'},
        {"S": '{"a": Infinity}'},
        {"S": '{"a": 1e999}'},
        {"S": "{'a': 1}"},
        {"S": '{"a": ' * 2000 + "1" + "}" * 2000},
    ],
}
"""Each checked attribute, written wrong in every way this suite tries by hand."""


def valid_item(task_id: str, labourer_id: str, greenfield: int, *, now: float) -> Item:
    """A well-formed queued task in sosw's format."""
    return {
        "task_id": {"S": task_id},
        "labourer_id": {"S": labourer_id},
        "greenfield": {"N": str(greenfield)},
        "created_at": {"N": str(int(now))},
        "attempts": {"N": "0"},
        "payload": {"S": json.dumps({"task": task_id})},
    }


def malformed_family(labourer_id: str, *, now: float, first_greenfield: int = 100) -> list[Item]:
    """One item per wrong value of ``WRONG_TYPES``, one per missing checked attribute, and two whose claim result
    would be over the state limit (a large payload, and a fitting payload plus leftovers of earlier attempts)."""
    items: list[Item] = []

    def add(name: str, change: dict[str, Any] | None) -> None:
        item = valid_item(f"bad-{len(items):03d}-{name}", labourer_id, first_greenfield + len(items), now=now)
        if change is None:
            del item[name]
        else:
            item[name] = change
        items.append(item)

    for name, values in WRONG_TYPES.items():
        for value in values:
            add(name, value)
    for name in CHECKED:
        add(name, None)
    add("payload", {"S": json.dumps({"blob": "x" * 300_000})})
    add("payload", {"S": json.dumps({"blob": "y" * 120_000})})
    items[-1]["result_report"] = {"S": "z" * 150_000}  # left by an earlier attempt's completion
    return items


def attribute_values(max_leaves: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """Any DynamoDB attribute value (every type, nested maps and lists)."""
    scalars = st.one_of(
        st.text(max_size=20).map(lambda text: {"S": text}),
        st.integers(min_value=-(10**12), max_value=10**12).map(lambda number: {"N": str(number)}),
        st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1000, max_value=1000).map(
            lambda number: {"N": str(number)}
        ),
        st.binary(max_size=10).map(lambda data: {"B": data}),
        st.booleans().map(lambda flag: {"BOOL": flag}),
        st.just({"NULL": True}),
        st.sets(st.text(min_size=1, max_size=5), min_size=1, max_size=3).map(lambda texts: {"SS": sorted(texts)}),
        st.sets(st.integers(0, 99), min_size=1, max_size=3).map(lambda ns: {"NS": sorted(str(n) for n in ns)}),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda values: {"L": values}),
            st.dictionaries(st.text(min_size=1, max_size=5), children, max_size=3).map(lambda values: {"M": values}),
        ),
        max_leaves=max_leaves,
    )


def malformed_items(labourer_id: str, *, now: float) -> st.SearchStrategy[Item]:
    """A queued task item with one or more checked attributes replaced by any value or removed (it may, by chance,
    still be valid: the tests decide by ``stored_task_problem`` what they expect)."""
    replacement = st.one_of(st.none(), attribute_values())
    return st.builds(
        _with_changes,
        st.text(alphabet="abcdef0123456789", min_size=8, max_size=12),
        st.integers(min_value=1, max_value=1999),
        st.dictionaries(st.sampled_from(CHECKED), replacement, min_size=1),
        st.just(labourer_id),
        st.just(now),
    )


def _with_changes(
    suffix: str, greenfield: int, changes: dict[str, dict[str, Any] | None], labourer_id: str, now: float
) -> Item:
    item = valid_item(f"gen-{suffix}", labourer_id, greenfield, now=now)
    for name, value in changes.items():
        if value is None:
            item.pop(name, None)
        else:
            item[name] = value
    return item
