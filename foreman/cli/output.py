"""Plain-text tables and JSON, as the commands print them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1, text: Sequence[int] = (), indent: str = ""
) -> str:
    """Plain-text columns, aligned: the first ``left`` columns and those in ``text`` to the left, the others (numbers)
    to the right."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.ljust(w) if i < left or i in text else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, indent=2, default=str) + "\n")


def time_text(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return "an unknown time"
