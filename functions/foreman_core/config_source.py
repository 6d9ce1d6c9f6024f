"""Where the orchestrator config lives, and a short-lived cache of it, so a change applies without a redeploy.

A *location* string names the config (the deployment passes it, e.g. in an environment variable):

- ``file:<path>``, or a plain path ending in ``.json``: a JSON file (a relative path is read from the working
  directory);
- ``ssm:<parameter name>``, e.g. ``ssm:/foreman/orchestrator_config``: an SSM Parameter Store parameter (String or
  SecureString) whose value is the JSON;
- ``dynamodb:<table>/<env>/<config_name>``, e.g. ``dynamodb:config/production/sosw_orchestrator_config``: a row of
  sosw's config table (hash key ``env``, range key ``config_name``, the JSON in the string attribute
  ``config_value``), so an existing sosw deployment's config can be read where it already is;
- ``s3:<bucket>/<key>``, e.g. ``s3:my-bucket/foreman/orchestrator_config.json``: an S3 object holding the JSON, for a
  config too large for the others (an SSM parameter value holds 4 KB, 8 KB in the Advanced tier; a DynamoDB item
  400 KB). In a versioned bucket, a run reads back the very version its LoadConfig read.

``load_for_run`` parses what it reads with ``parse_config`` and keeps the result for ``ttl`` seconds (60 by
default) per location, per process: in a warm Lambda container an edited config is picked up within a minute. A
failed read is never cached and never hidden behind an older copy: it raises, and the next call reads again.

Errors: a location, a read or JSON text that is wrong raises ``ConfigSourceError`` naming the location and the
problem; JSON that is not a valid config raises the ``ConfigError`` of ``parse_config``. Both are ``ValueError``.
AWS clients are created on first use with ``boto3.client(service)``, never at import time, unless given.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from foreman_core.aws_errors import error_code
from foreman_core.config import OrchestratorConfig, Tables, loads_json, parse_config
from foreman_core.task_budget import STANDARD

DEFAULT_TTL = 60.0
"""Seconds a loaded config is reused before the location is read again."""

LOCATION_FORMS = (
    "file:<path>",
    "<path>.json",
    "ssm:<parameter name>",
    "dynamodb:<table>/<env>/<config_name>",
    "s3:<bucket>/<key>",
)
"""The accepted forms of a location string."""

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
"""``s3:``, ``https:``...: a plain path never starts like this (a one-letter drive such as ``C:`` does not match)."""

ClientFactory = Callable[[str], Any]
"""Returns a boto3 low-level client for a service name (``"ssm"``, ``"dynamodb"``, ``"s3"``)."""

Version = int | str
"""What identifies one stored version of a config: an SSM parameter's version number, an S3 object's VersionId."""


class ConfigSourceError(ValueError):
    """The config could not be read: a bad location, a missing parameter/item/file, or text that is not JSON."""


@dataclass(frozen=True)
class FileLocation:
    """A JSON file."""

    location: str
    path: Path

    def read(self, clients: ClientFactory) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigSourceError(f"{self.location}: no such file ({self.path.resolve()})") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigSourceError(f"{self.location}: cannot read the file: {error}") from error


@dataclass(frozen=True)
class SsmLocation:
    """An SSM Parameter Store parameter holding the JSON; SecureString values are decrypted."""

    location: str
    name: str

    def read(self, clients: ClientFactory) -> str:
        return self.read_version(clients)[0]

    def read_version(self, clients: ClientFactory, version: int | None = None) -> tuple[str, int | None]:
        """The value and its version number; with ``version``, that version of the parameter (``name:version``)."""
        name = self.name if version is None else f"{self.name}:{version}"
        try:
            response = clients("ssm").get_parameter(Name=name, WithDecryption=True)
        except ClientError as error:
            if error_code(error) in ("ParameterNotFound", "ParameterVersionNotFound"):
                what = "parameter" if version is None else f"version {version} of the parameter"
                raise ConfigSourceError(f"{self.location}: {what} not found") from None
            if error_code(error) == "AccessDeniedException" and _is_kms_denial(error):
                key = _kms_key_in(error) or "the key it is encrypted with (aws ssm describe-parameters shows its KeyId)"
                raise ConfigSourceError(f"{self.location}: {kms_advice(key)}") from None
            raise ConfigSourceError(f"{self.location}: cannot read the parameter: {_error_text(error)}") from error
        except BotoCoreError as error:
            raise ConfigSourceError(f"{self.location}: cannot reach SSM: {error}") from error
        found = response["Parameter"].get("Version")
        return str(response["Parameter"]["Value"]), None if found is None else int(found)


@dataclass(frozen=True)
class DynamoDbLocation:
    """A row of sosw's config table: ``env`` (hash), ``config_name`` (range), JSON in ``config_value`` (S)."""

    location: str
    table: str
    env: str
    config_name: str

    def item_key(self) -> dict[str, dict[str, str]]:
        """The row's key in the table."""
        return {"env": {"S": self.env}, "config_name": {"S": self.config_name}}

    def read(self, clients: ClientFactory) -> str:
        try:
            response = clients("dynamodb").get_item(TableName=self.table, Key=self.item_key(), ConsistentRead=True)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise ConfigSourceError(f"{self.location}: table {self.table!r} not found") from None
            raise ConfigSourceError(f"{self.location}: cannot read the item: {_error_text(error)}") from error
        except BotoCoreError as error:
            raise ConfigSourceError(f"{self.location}: cannot reach DynamoDB: {error}") from error
        item = response.get("Item")
        if item is None:
            raise ConfigSourceError(
                f"{self.location}: no item with env={self.env!r} and config_name={self.config_name!r}"
            )
        value = item.get("config_value", {})
        if "S" not in value:
            raise ConfigSourceError(f"{self.location}: the item has no string (S) attribute 'config_value'")
        return str(value["S"])


@dataclass(frozen=True)
class S3Location:
    """An S3 object holding the JSON. In a versioned bucket its VersionId is the version a run reads back; an
    unversioned object (or one written while versioning was suspended: VersionId ``null``) has none."""

    location: str
    bucket: str
    key: str

    def read(self, clients: ClientFactory) -> str:
        return self.read_version(clients)[0]

    def read_version(self, clients: ClientFactory, version: str | None = None) -> tuple[str, str | None]:
        """The object's text and its VersionId; with ``version``, that version of the object (GetObject VersionId,
        which needs ``s3:GetObjectVersion``)."""
        request = {"Bucket": self.bucket, "Key": self.key, **({} if version is None else {"VersionId": version})}
        try:
            response = clients("s3").get_object(**request)
            body = response["Body"].read()
        except ClientError as error:
            code = error_code(error)
            if code in ("NoSuchKey", "404"):
                raise ConfigSourceError(f"{self.location}: no object {self.key!r} in bucket {self.bucket!r}") from None
            if code == "NoSuchBucket":
                raise ConfigSourceError(f"{self.location}: bucket {self.bucket!r} not found") from None
            if version is not None and code in ("NoSuchVersion", "InvalidArgument"):
                raise ConfigSourceError(f"{self.location}: version {version} of the object not found") from None
            if code == "AccessDenied":  # the functions may not ListBucket, so S3 answers this for a missing key too
                key = self._kms_key(clients, request)
                if key is not None:  # the object is there, under a KMS key this role may not decrypt with
                    raise ConfigSourceError(f"{self.location}: {kms_advice(key)}") from None
                raise ConfigSourceError(
                    f"{self.location}: access denied: no object {self.key!r} in bucket {self.bucket!r}, or this role "
                    "may not read it (the template grants s3:GetObject on exactly ConfigBucketName/ConfigObjectKey)"
                ) from None
            raise ConfigSourceError(f"{self.location}: cannot read the object: {_error_text(error)}") from error
        except BotoCoreError as error:
            raise ConfigSourceError(f"{self.location}: cannot reach S3: {error}") from error
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigSourceError(f"{self.location}: the object is not UTF-8 text: {error}") from None
        found = response.get("VersionId")
        return text, None if found in (None, "", "null") else str(found)

    def _kms_key(self, clients: ClientFactory, request: Mapping[str, Any]) -> str | None:
        """The customer-managed KMS key of the object, when a HeadObject (which decrypts nothing) says it has one."""
        try:
            head = clients("s3").head_object(**request)
        except (ClientError, BotoCoreError, AttributeError):  # AttributeError: a client that only reads
            return None
        key = head.get("SSEKMSKeyId")
        if head.get("ServerSideEncryption") != "aws:kms" or not key or str(key).endswith("alias/aws/s3"):
            return None
        return str(key)


ConfigLocation = FileLocation | SsmLocation | DynamoDbLocation | S3Location


def parse_location(location: str) -> ConfigLocation:
    """What a location string names; ``ConfigSourceError`` listing the accepted forms if it names nothing."""
    text = location.strip()
    scheme, _, rest = text.partition(":")
    if scheme == "file" and rest:
        return FileLocation(location, Path(rest.removeprefix("//")))
    if scheme == "ssm" and rest:
        return SsmLocation(location, rest)
    if scheme == "s3":
        bucket, _, key = rest.removeprefix("//").partition("/")
        if bucket and key:
            return S3Location(location, bucket, key)
    elif scheme == "dynamodb":
        table, env, config_name = [*rest.split("/", 2), "", ""][:3]
        if table and env and config_name:
            return DynamoDbLocation(location, table, env, config_name)
    elif not _SCHEME.match(text) and text.endswith(".json"):
        return FileLocation(location, Path(text))
    raise ConfigSourceError(
        f"unrecognised config location {location!r}; expected one of: {', '.join(LOCATION_FORMS)} "
        "(e.g. 'ssm:/foreman/orchestrator_config', 'dynamodb:config/production/sosw_orchestrator_config' or "
        "'s3:my-bucket/foreman/orchestrator_config.json')"
    )


def load_raw_config(location: str, *, session_or_clients: Any = None) -> dict[str, Any]:
    """Read the config at ``location`` and return its JSON object, not yet validated.

    ``session_or_clients`` says where AWS clients come from: ``None`` (``boto3.client``), a ``boto3.Session``, a
    ``{service: client}`` mapping, or a ``ClientFactory``. Raises ``ConfigSourceError`` if the location is not
    understood, cannot be read, or does not hold a JSON object. Its objects are ``JsonObject``s: a key given twice is
    remembered, and ``parse_config`` reports it.
    """
    return _parsed_json(location, parse_location(location).read(_client_factory(session_or_clients)))


def _parsed_json(location: str, text: str) -> dict[str, Any]:
    try:
        value = loads_json(text)  # remembers repeated keys, which parse_config reports
    except json.JSONDecodeError as error:
        raise ConfigSourceError(
            f"{location}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(value, dict):
        raise ConfigSourceError(f"{location}: expected a JSON object with 'task_config', got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class ConfigReference:
    """What a run's state carries in place of the config: where it was read, which orchestrator type parsed it, its
    fingerprint (``OrchestratorConfig.fingerprint``) and the version read: an SSM parameter's number (an int), a
    versioned S3 object's VersionId (a string), none for the others. Every step after
    LoadConfig gets the same config back from it (``load_pinned``), so a state stays the same size whatever the
    config holds. ``labourers`` is for people reading the state."""

    location: str
    sha256: str
    orchestrator_type: str = STANDARD
    version: Version | None = None
    labourers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as it travels in the state (``version`` only when there is one)."""
        data: dict[str, Any] = {
            "location": self.location,
            "sha256": self.sha256,
            "orchestrator_type": self.orchestrator_type,
            "labourers": self.labourers,
        }
        if self.version is not None:
            data["version"] = self.version
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfigReference:
        """Read back ``to_dict``; ``ConfigSourceError`` when ``data`` is not a reference (e.g. a whole config)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("location"), str) or "sha256" not in data:
            raise ConfigSourceError(f"not a config reference ({{'location', 'sha256'}} expected): {str(data)[:200]}")
        version = data.get("version")
        return cls(
            location=data["location"],
            sha256=str(data["sha256"]),
            orchestrator_type=str(data.get("orchestrator_type", STANDARD)),
            version=None if version is None else version if isinstance(version, str) else int(version),
            labourers=int(data.get("labourers", 0)),
        )


class ConfigChangedError(ConfigSourceError):
    """The config at a run's location is no longer the one its LoadConfig read, and that one cannot be read back
    (only an SSM parameter and an object in a versioned S3 bucket keep their old versions). The run stops; the next
    one reads the new config."""


@dataclass(frozen=True)
class _CachedConfig:
    loaded_at: float
    config: OrchestratorConfig
    reference: ConfigReference


_cache: dict[tuple[str, Tables | None, str], _CachedConfig] = {}

PINNED_KEPT = 8
"""How many configs (by fingerprint) a process keeps for ``load_pinned``: a config is immutable under its
fingerprint, so these never expire; the oldest is forgotten first."""

_pinned: OrderedDict[tuple[str, Tables | None], OrchestratorConfig] = OrderedDict()


def load_for_run(
    location: str,
    *,
    tables: Tables | None = None,
    ttl: float = DEFAULT_TTL,
    clock: Callable[[], float] = time.monotonic,
    clients: Any = None,
    orchestrator_type: str = STANDARD,
) -> tuple[OrchestratorConfig, ConfigReference]:
    """The validated config at ``location``, read again once ``ttl`` seconds have passed since the last read, and the
    reference a run's state carries instead of it (LoadConfig's output).

    ``tables`` are the table names used where the config names none (see ``parse_config``). ``clock`` measures
    the age of the cached copy (inject a fake one in tests); ``ttl=0`` reads every time. ``clients`` is passed to
    ``load_raw_config``; ``orchestrator_type`` to ``parse_config``. Raises ``ConfigSourceError`` if the config
    cannot be read and ``ConfigError`` if it is not valid; neither is cached.
    """
    key = (location, tables, orchestrator_type)
    now = clock()
    cached = _cache.get(key)
    if cached is not None and now - cached.loaded_at < ttl:
        return cached.config, cached.reference
    config, version = _read_config(location, tables, clients, orchestrator_type)
    reference = ConfigReference(location, config.fingerprint(), orchestrator_type, version, len(config.labourers))
    _cache[key] = _CachedConfig(now, config, reference)
    return config, reference


def load_pinned(reference: ConfigReference, *, tables: Tables | None = None, clients: Any = None) -> OrchestratorConfig:
    """The config ``reference`` names, exactly: the steps after LoadConfig call this with the reference in the state.

    Kept in this process by fingerprint (a warm function reads nothing); otherwise the location is read again, and
    if it changed meanwhile, the version LoadConfig read is read back (an SSM parameter's, a versioned S3 object's).
    ``tables`` must be what LoadConfig parsed with (the deployment's: every function has the same). Raises
    ``ConfigChangedError`` when the config was edited since LoadConfig read it and its old text is gone (a file, a
    sosw config table row, an unversioned S3 object), ``ConfigSourceError`` / ``ConfigError`` as ``load_for_run``
    does.
    """
    key = (reference.sha256, tables)
    if key in _pinned:
        _pinned.move_to_end(key)
        return _pinned[key]
    config, version = _read_config(reference.location, tables, clients, reference.orchestrator_type)
    if config.fingerprint() != reference.sha256 and reference.version is not None and version != reference.version:
        config, version = _read_config(
            reference.location, tables, clients, reference.orchestrator_type, version=reference.version
        )
    found = config.fingerprint()
    if found != reference.sha256:
        raise ConfigChangedError(
            f"{reference.location}: the config changed after this run's LoadConfig read it (sha256 "
            f"{reference.sha256[:12]} then, {found[:12]} now) and the old one cannot be read back; this run stops "
            "here, the next one reads the new config"
        )
    return config


def _read_config(
    location: str, tables: Tables | None, clients: Any, orchestrator_type: str, *, version: Version | None = None
) -> tuple[OrchestratorConfig, Version | None]:
    """Read, parse and remember (by fingerprint, for ``load_pinned``) the config at ``location``."""
    source = parse_location(location)
    factory = _client_factory(clients)
    found: Version | None = None
    if isinstance(source, SsmLocation):
        text, found = source.read_version(factory, None if version is None else int(version))
    elif isinstance(source, S3Location):
        text, found = source.read_version(factory, None if version is None else str(version))
    else:
        text = source.read(factory)
    config = parse_config(_parsed_json(location, text), tables=tables, orchestrator_type=orchestrator_type)
    _pinned[(config.fingerprint(), tables)] = config
    _pinned.move_to_end((config.fingerprint(), tables))
    while len(_pinned) > PINNED_KEPT:
        _pinned.popitem(last=False)
    return config, found


def clear_cache() -> None:
    """Forget every cached config, so the next ``load_for_run`` or ``load_pinned`` reads its location again."""
    _cache.clear()
    _pinned.clear()


def _client_factory(source: Any) -> ClientFactory:
    if source is None:
        return _boto3_client
    if isinstance(source, Mapping):
        return lambda service: _client_from_mapping(source, service)
    if callable(getattr(source, "client", None)):
        return source.client
    if callable(source):
        return source
    raise TypeError(f"expected None, a boto3 Session, a {{service: client}} mapping or a factory, got {source!r}")


def _boto3_client(service: str) -> Any:
    return boto3.client(service)


def _client_from_mapping(clients: Mapping[str, Any], service: str) -> Any:
    if service not in clients:
        raise ConfigSourceError(f"no {service!r} client given (have: {', '.join(clients) or 'none'})")
    return clients[service]


KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")


def kms_advice(key: str) -> str:
    """What to do when a step may not decrypt the config: name the key, and what the deployment grants."""
    granted = os.environ.get("CONFIG_KMS_KEY_ARN") or ""
    now = f"it grants {granted}" if granted else "it grants none (ConfigKmsKeyArn is empty)"
    return (
        f"the config is encrypted with the KMS key {key}, which this deployment may not decrypt with ({now}): "
        "deploy with ConfigKmsKeyArn set to that key's ARN, and let the key's policy allow the account's IAM "
        "policies (the default key policy does)"
    )


def _is_kms_denial(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return "kms:Decrypt" in message or "AWSKMS" in message or "ciphertext refers to a customer master key" in message


def _kms_key_in(error: ClientError) -> str | None:
    found = KMS_KEY_ARN.search(str(error.response.get("Error", {}).get("Message", "")))
    return found.group(0) if found else None


def _error_text(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'error')}: {details.get('Message', str(error))}"
