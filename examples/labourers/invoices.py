"""Example labourer ``invoices``: renders one customer's invoice from the invoices database.

Like ``reports`` it keeps its database busy while it runs, on a database of the same kind. Its config holds that
database's CPU at a target (``target_tracking``, docs/target-tracking.md) instead of stepping between feelings'
thresholds: Foreman starts as many invoices as keep the CPU near 60 %.

Like every labourer it gets the task's payload with the task's fields on top, and needs no Foreman code.
"""

from __future__ import annotations

import hashlib
from typing import Any

DEMO_MINUTES = (3, 5)
"""How long one task takes in the demo's accelerated time (simulated minutes, lowest and highest)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Render the invoice (here: a stand-in total derived from the customer and month) and return its summary."""
    customer = str(event["customer"])
    month = str(event["month"])
    cents = int(hashlib.sha256(f"invoice/{customer}/{month}".encode()).hexdigest()[:6], 16) % 1_000_000
    return {"task_id": event["task_id"], "invoice": f"invoices/{month}/{customer}.pdf", "total_cents": cents}
