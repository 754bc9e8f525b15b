"""``python -m jupyter_msal.cli``: the same as ``jupyter msal``."""

from . import main

raise SystemExit(main())
