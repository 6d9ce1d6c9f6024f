"""AWS's rule for a Step Functions execution name, which the CLI checks and the embedded stack enforces.

StartExecution refuses a name that is empty or longer than 80 characters, or that holds whitespace, brackets
``< > { } [ ]``, wildcards ``? *``, any of ``" # % \\ ^ | ~ ` $ & , ; : /``, or control characters (U+0000-001F,
U+007F-009F). moto's executing backend does not check names, so ``foreman.local.patches.named_executions``
applies this rule there.
"""

from __future__ import annotations

FORBIDDEN_CHARACTERS = frozenset(' <>{}[]?*"#%\\^|~`$&,;:/')
"""Characters AWS refuses in an execution name (besides whitespace and control characters)."""

MAX_LENGTH = 80


def execution_name_problem(name: str) -> str | None:
    """Why StartExecution would refuse ``name``, or None if AWS accepts it."""
    if not 1 <= len(name) <= MAX_LENGTH:
        return f"must be 1 to {MAX_LENGTH} characters long, got {len(name)}"
    bad = sorted({char for char in name if char in FORBIDDEN_CHARACTERS or char.isspace() or not char.isprintable()})
    if bad:
        return "contains characters AWS refuses in an execution name: " + " ".join(repr(char) for char in bad)
    return None
