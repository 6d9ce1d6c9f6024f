"""Storing an orchestrator config where a deployment's LoadConfig reads it, within that place's size limit.

A location is one of ``config_source``'s AWS forms: ``ssm:<parameter>``, ``dynamodb:<table>/<env>/<config_name>``
(sosw's config table) or ``s3:<bucket>/<key>``. What each holds (AWS's limits, checked here before any call, so a
config too large is refused with what to do instead of AWS's error halfway through):

- an SSM parameter: 4,096 characters in the Standard tier, 8,192 in the Advanced tier. A config is stored with
  ``Tier: Intelligent-Tiering``, so Parameter Store makes a parameter Advanced (charged per parameter per month) only
  when its value is over 4,096 characters;
- a row of the config table: a DynamoDB item of at most 400 KB (``item_size.ITEM_BYTES``), names and key included;
- an S3 object: 5 GB; far beyond any config.

Used by ``foreman config put`` and by the embedded stack (``EmbeddedStack.put_config``, ``foreman local serve
--config``), so both refuse what AWS refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foreman_core.config_source import (
    ConfigSourceError,
    DynamoDbLocation,
    FileLocation,
    S3Location,
    SsmLocation,
    parse_location,
)
from foreman_core.item_size import ITEM_BYTES, item_bytes

SSM_STANDARD_CHARACTERS = 4096
"""The longest value of a Standard-tier SSM parameter."""

SSM_ADVANCED_CHARACTERS = 8192
"""The longest value of an Advanced-tier SSM parameter (and so of any parameter)."""

SSM_TIER = "Intelligent-Tiering"
"""The tier a config parameter is written with: Standard while the value fits 4,096 characters, else Advanced."""

IN_S3 = (
    "Store it in S3 instead: deploy with ConfigBucketName (and ConfigObjectKey) set, which makes the stack output "
    "ConfigLocation s3:<bucket>/<key>"
)
"""What to do about a config too large for its parameter or row."""


class ConfigTooLargeError(ValueError):
    """The config does not fit where it would be stored; nothing was stored."""


def config_item(row: DynamoDbLocation, text: str) -> dict[str, Any]:
    """The row of sosw's config table holding ``text`` (its key, and the JSON in ``config_value``)."""
    return {**row.item_key(), "config_value": {"S": text}}


def size_problem(location: str, text: str) -> str | None:
    """Why ``text`` cannot be stored at ``location`` because of its size, or None when it fits."""
    return _size_problem(_writable(location), text)


def store_config(client: Callable[[str], Any], location: str, text: str) -> None:
    """Store config ``text`` at ``location`` through ``client(service)``: PutParameter (overwriting, String,
    Intelligent-Tiering), PutItem in sosw's config table, or PutObject (``application/json``). Raises
    ``ConfigTooLargeError`` before any call when it would not fit, ``ValueError`` for a location it cannot write,
    and the client's own errors (``ClientError``...) as they come."""
    target = _writable(location)
    problem = _size_problem(target, text)
    if problem:
        raise ConfigTooLargeError(f"cannot store the config at {location}: {problem}")
    if isinstance(target, SsmLocation):
        client("ssm").put_parameter(Name=target.name, Value=text, Type="String", Overwrite=True, Tier=SSM_TIER)
    elif isinstance(target, DynamoDbLocation):
        client("dynamodb").put_item(TableName=target.table, Item=config_item(target, text))
    else:
        client("s3").put_object(
            Bucket=target.bucket, Key=target.key, Body=text.encode("utf-8"), ContentType="application/json"
        )


def _writable(location: str) -> SsmLocation | DynamoDbLocation | S3Location:
    """The AWS place ``location`` names (``config_source.parse_location``); ``ValueError`` for any other."""
    try:
        target = parse_location(location)
    except ConfigSourceError as error:
        raise ValueError(f"cannot store a config at {location}: {error}") from None
    if isinstance(target, FileLocation):
        raise ValueError(f"cannot store a config at {location}: only ssm:, dynamodb: and s3: locations")
    return target


def _size_problem(target: SsmLocation | DynamoDbLocation | S3Location, text: str) -> str | None:
    if isinstance(target, SsmLocation):
        if len(text) <= SSM_ADVANCED_CHARACTERS:
            return None
        return (
            f"the config is {len(text):,} characters of JSON; an SSM parameter value holds at most "
            f"{SSM_ADVANCED_CHARACTERS:,} (Advanced tier; {SSM_STANDARD_CHARACTERS:,} in the Standard tier). "
            f"{IN_S3}, or in sosw's config table (ConfigTableName, up to {ITEM_BYTES // 1024} KB)"
        )
    if isinstance(target, DynamoDbLocation):
        size = item_bytes(config_item(target, text))
        if size <= ITEM_BYTES:
            return None
        return (
            f"the config's row would be {size:,} bytes; a DynamoDB item holds at most {ITEM_BYTES:,} (400 KB). {IN_S3}"
        )
    return None
