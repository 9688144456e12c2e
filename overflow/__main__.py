"""``python -m overflow``: the ``overflow`` command (see overflow.cli)."""

import sys

from .cli import main

sys.exit(main())
