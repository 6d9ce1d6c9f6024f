"""``python -m foreman.cli``: the ``foreman`` command."""

import sys

from foreman.cli import main

sys.exit(main())
