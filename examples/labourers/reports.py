"""Example labourer ``reports``: builds one customer's monthly report from the reports database.

Every running report keeps the database busy, so running too many at once would overload it. Its config gives it a
health metric, the database's ``CPUUtilization``: the busier the database, the lower the labourer's eco status and
the fewer reports Foreman starts, down to none; as reports finish and the CPU falls, Foreman starts more again.

Like every labourer it gets the task's payload with the task's fields on top, and needs no Foreman code.
"""

from __future__ import annotations

import hashlib
from typing import Any

DEMO_MINUTES = (3, 5)
"""How long one task takes in the demo's accelerated time (simulated minutes, lowest and highest)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Build the report (here: a stand-in row count derived from the customer and month) and return its summary."""
    customer = str(event["customer"])
    month = str(event["month"])
    rows = int(hashlib.sha256(f"{customer}/{month}".encode()).hexdigest()[:4], 16) % 5000
    return {"task_id": event["task_id"], "report": f"reports/{month}/{customer}.pdf", "rows": rows}
