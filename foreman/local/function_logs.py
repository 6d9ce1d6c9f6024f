"""What a locally run Lambda function prints, on the server's stderr, each line prefixed by the function's name.

On AWS each function's stdout and stderr go to its own log group. ``foreman local serve`` runs every function in one
process, so ``function_output(stream)`` replaces ``sys.stdout`` and ``sys.stderr`` for the block with streams that
write a line printed inside ``running(name)`` (the Lambda runtime wraps each invocation in it) to ``stream`` as
``name | line``, whole lines only so concurrent invocations never interleave within a line. What is printed outside
a function goes where it went before. As Lambda's Python runtime does, it also gives the root logger a handler, so a
function's ``logging`` records (at or above the level the function sets; the root logger's default is WARNING) reach
the same stream, prefixed too; records logged outside a function are left to the process's own handlers.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_current = threading.local()
_write_lock = threading.Lock()


def current_function() -> str | None:
    """The name of the function this thread is running, or None outside an invocation."""
    return getattr(_current, "name", None)


@contextmanager
def running(name: str) -> Iterator[None]:
    """Mark this thread as running function ``name`` for the block (nested invocations restore the outer name)."""
    outer = current_function()
    _current.name = name
    try:
        yield
    finally:
        _flush_partial_lines()
        _current.name = outer


class PrefixedStream(io.TextIOBase):
    """A text stream: a line written by a running function goes to ``target`` as ``name | line``; anything else to
    ``fallback`` unchanged."""

    def __init__(self, target: TextIO, fallback: TextIO, *, metrics: TextIO | None = None) -> None:
        super().__init__()
        self.target = target
        self.fallback = fallback
        self.metrics = metrics
        """Where a running function's CloudWatch metric blobs go (``None``: nowhere)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        name = current_function()
        if name is None:
            return self.fallback.write(text)
        pending: dict[int, tuple[PrefixedStream, str]] = _partial_lines()
        key = id(self)
        _, before = pending.get(key, (self, ""))
        *lines, rest = (before + text).split("\n")
        if rest:
            pending[key] = (self, rest)
        else:
            pending.pop(key, None)
        if lines:
            self._emit(name, lines)
        return len(text)

    def flush(self) -> None:
        self.target.flush()
        self.fallback.flush()

    def _emit(self, name: str, lines: list[str]) -> None:
        shown = []
        for line in lines:
            metric = metric_blob(line)
            if metric is None:
                shown.append(line)
                continue
            if self.metrics is not None:
                self.metrics.write(line + "\n")
            said = say_metric(metric)
            if said is not None:
                shown.append(said)
        if not shown:
            return
        with _write_lock:
            self.target.write("".join(f"{name} | {line}\n" for line in shown))
            self.target.flush()


def metric_blob(line: str) -> dict[str, Any] | None:
    """The CloudWatch embedded-metric-format object a line holds (a JSON object with ``_aws``), else ``None``."""
    text = line.strip()
    if not (text.startswith("{") and '"_aws"' in text):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("_aws"), dict) else None


def say_metric(blob: dict[str, Any]) -> str | None:
    """A line for a person for the metric blobs that carry news (tasks closed as dead), else ``None``."""
    dead = blob.get("DeadTasks")
    if isinstance(dead, int | float) and dead > 0 and blob.get("Labourer"):
        count = int(dead)
        return (
            f"closed {count} task{'' if count == 1 else 's'} of {blob['Labourer']} as dead after their last attempt "
            f"(`foreman status`: closed-dead; `foreman tasks show ID`: why)"
        )
    return None


def _partial_lines() -> dict[int, tuple[PrefixedStream, str]]:
    if not hasattr(_current, "partial"):
        _current.partial = {}
    partial: dict[int, tuple[PrefixedStream, str]] = _current.partial
    return partial


def _flush_partial_lines() -> None:
    name = current_function()
    pending = _partial_lines()
    for stream, rest in list(pending.values()):
        if name is not None:
            stream._emit(name, [rest])
    pending.clear()


@contextmanager
def function_output(stream: TextIO, *, metrics: TextIO | None = None) -> Iterator[None]:
    """Within the block, what functions print goes to ``stream`` prefixed by their name (see the module doc), except
    their CloudWatch metric blobs (embedded metric format, one JSON line each: most of what the steps print), which
    go to ``metrics`` (default: nowhere); a blob with news (``DeadTasks`` above 0) is said in a line instead."""
    saved = sys.stdout, sys.stderr
    sys.stdout = PrefixedStream(stream, saved[0], metrics=metrics)
    sys.stderr = PrefixedStream(stream, saved[1], metrics=metrics)
    root = logging.getLogger()
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(asctime)s %(name)s: %(message)s"))
    handler.addFilter(lambda record: current_function() is not None)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        sys.stdout, sys.stderr = saved


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (the prefixing stream inside a function)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """The stream is always the current ``sys.stderr``."""
