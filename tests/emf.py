"""Reading what the Lambda steps print: CloudWatch EMF blobs and Powertools' JSON log lines, from captured output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def json_lines(text: str) -> Iterator[dict[str, Any]]:
    """Every line of ``text`` that is a JSON object."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


@dataclass(frozen=True)
class Blob:
    """One EMF blob: its namespace, dimension sets, dimension values, metric values and units, and metadata."""

    raw: dict[str, Any]

    @property
    def directive(self) -> dict[str, Any]:
        (directive,) = self.raw["_aws"]["CloudWatchMetrics"]
        return dict(directive)

    @property
    def namespace(self) -> str:
        return str(self.directive["Namespace"])

    @property
    def dimension_sets(self) -> list[tuple[str, ...]]:
        return [tuple(names) for names in self.directive["Dimensions"]]

    @property
    def units(self) -> dict[str, str]:
        return {metric["Name"]: metric["Unit"] for metric in self.directive["Metrics"]}

    @property
    def values(self) -> dict[str, float]:
        return {
            name: float(self.raw[name][0] if isinstance(self.raw[name], list) else self.raw[name])
            for name in self.units
        }

    def dimension(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None else str(value)


def emf_blobs(text: str) -> list[Blob]:
    """The EMF blobs among the JSON lines of ``text``, in order."""
    return [Blob(line) for line in json_lines(text) if "_aws" in line]


def log_lines(text: str) -> list[dict[str, Any]]:
    """Powertools' structured log lines among the JSON lines of ``text`` (they have ``level`` and ``message``)."""
    return [line for line in json_lines(text) if "level" in line and "message" in line]
