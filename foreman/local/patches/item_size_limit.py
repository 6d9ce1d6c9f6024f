"""DynamoDB's 400 KB item limit on the embedded stack, counted as DynamoDB counts it.

moto 5.2.5 refuses an item above 405,000 bytes of its own count (``LimitedSizeDict.__setitem__`` in
``moto.dynamodb.models.dynamo_type``): below DynamoDB's limit of 400 KB = 409,600 bytes ("DynamoDB denotes
1 KB = 1024 bytes"), so an item DynamoDB stores is refused locally, and it leaves out the 3 bytes of every list and
map and the byte of each of their elements, so a list- or map-heavy item DynamoDB refuses is stored locally.
``item_size_limit`` checks every stored item with ``foreman_core.item_size.item_bytes`` against
``ITEM_BYTES`` instead, raising moto's own ``ItemSizeTooLarge`` (``ValidationException``, "Item size has exceeded the
maximum allowed size"; on UpdateItem moto turns it into "Item size to update has exceeded ..."), so items exactly at
the limit can be tried here as on AWS. Numbers are counted a byte a digit (DynamoDB: about one per two), so an item
of many long numbers is refused a little before DynamoDB would: never kinder than AWS.

moto also applies an UpdateItem's actions one by one and raises when one takes the item past the limit, leaving the
earlier ones written; DynamoDB writes all of an update or nothing. ``item_size_limit`` puts the item back as it was
(``UpdateExpressionExecutor.execute``), so a refused update changes nothing here either.

The canaries are ``tests/functional/test_item_size_limit.py`` and ``tests/functional/test_moto_internals.py``
(this module's ``INTERNALS``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

PATCHED = (
    ("moto.dynamodb.models.dynamo_type", "LimitedSizeDict.__setitem__"),
    ("moto.dynamodb.parsing.executors", "UpdateExpressionExecutor.execute"),
)
"""The moto internals this module replaces."""
INTERNALS = PATCHED


def stored_value(value: Any) -> dict[str, Any]:
    """One of moto's stored attribute values (a ``DynamoType``, or the plain ``{"S": ...}`` a map keeps) in the
    low-level format ``item_size`` reads."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if isinstance(value, DynamoType):
        kind, data = value.type, value.value
    else:
        ((kind, data),) = value.items()
    if kind == "L":
        return {"L": [stored_value(element) for element in data]}
    if kind == "M":
        return {"M": {key: stored_value(element) for key, element in data.items()}}
    return {kind: data}


@contextmanager
def item_size_limit() -> Iterator[None]:
    """Refuse an item above 400 KB as DynamoDB counts it, and store one up to exactly that."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict
    from moto.dynamodb.parsing.executors import UpdateExpressionExecutor

    from foreman_core.item_size import ITEM_BYTES, item_bytes

    def setitem(self: Any, key: str, value: Any) -> None:
        sizes: dict[str, int] | None = getattr(self, "_foreman_sizes", None)
        if sizes is None or sizes.keys() != self.keys():  # a copy made without __setitem__: count it afresh
            sizes = {name: item_bytes({name: stored_value(stored)}) for name, stored in self.items()}
        size = item_bytes({key: stored_value(value)})
        if sum(sizes.values()) - sizes.get(key, 0) + size > ITEM_BYTES:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)
        sizes[key] = size
        self._foreman_sizes = sizes

    original_execute = UpdateExpressionExecutor.execute

    def execute(self: Any, node: Any = None) -> None:
        if node is not None:  # a nested call: the outermost one keeps the item as it was
            original_execute(self, node)
            return
        before = copy.deepcopy(self.item.attrs)
        try:
            original_execute(self)
        except ItemSizeTooLarge:
            self.item.attrs = before
            raise

    with (
        mock.patch.object(LimitedSizeDict, "__setitem__", setitem),
        mock.patch.object(UpdateExpressionExecutor, "execute", execute),
    ):
        yield
