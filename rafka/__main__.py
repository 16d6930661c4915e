"""``python -m rafka``: the same as the ``rafka`` command."""

import sys

from rafka.cli import main

sys.exit(main())
