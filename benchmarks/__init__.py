"""Side-by-side benchmarks: sosw 0.7.51's Orchestrator and Foreman's, on the same local stack and the same data.

``python -m benchmarks`` (``make bench``) runs both orchestrators, one after the other in one process, on the
embedded stack (moto, in-process), counts every AWS API call each one makes by operation, times them, and prints
the figures as tables; ``benchmarks/results/latest.json`` gets the same figures. ``--help`` lists the options.

- ``meter``: counts AWS API calls (every botocore client in the process) and the items Query/Scan read.
- ``workload``: the stack, the fake labourers, the queues and how they are reset between runs, and one
  orchestrator run of each kind.
- ``report``: medians, ratios, the printed tables and the JSON document.
- ``__main__``: the command line.
"""

from __future__ import annotations
