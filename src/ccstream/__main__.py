"""``python -m ccstream`` is the ``ccstream`` command."""

import sys

from .cli import main

sys.exit(main())
