"""Where rigcheck keeps the user's own files (measurements, thresholds, the measured RAM
bandwidth): ``$RIGCHECK_HOME``, else ``~/.local/share/rigcheck``. The one place that says so."""

from __future__ import annotations

import os


def user_dir(environ=None) -> str:
    env = os.environ if environ is None else environ
    return env.get("RIGCHECK_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share", "rigcheck")
