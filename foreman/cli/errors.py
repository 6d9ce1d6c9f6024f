"""What a ``foreman`` command reports when it fails: ``CliError`` and the exit codes.

Exit codes: 0 ok; 1 the thing asked for failed (an invalid config, a failed execution, an AWS error); 2 bad usage or
input (unknown option or labourer, an invalid JSON line, a missing file); 130 interrupted.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A failure to report as ``foreman: error: <message>`` with exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code
