"""The few exception types the library raises.

Every error a user can cause (bad input, unknown names, damaged files) is an
``InputError``: the CLI prints its message as one line and exits with status 2. A
message often echoes text from a file or the command line (a tensor name, a path, a
model id); ``str()`` of every RigcheckError is therefore escaped and cut to one
readable line (rigcheck.text), so nothing a file holds can split or repaint it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RigcheckError(Exception):
    """Base class of rigcheck's own errors. Its text is always one visible line."""

    def __str__(self) -> str:
        from .text import one_line
        return one_line(super().__str__())


class InputError(RigcheckError):
    """Something the user gave us is wrong: a name, a number, a file. Exit status 2."""


class FormatError(InputError):
    """A model file (GGUF, safetensors, config.json) is damaged or not what it claims."""


class UnknownNameError(InputError):
    """A name (model id, device, runtime, build, type) is not known; suggests the closest."""

    def __init__(self, what: str, name: str, known: Iterable[str], hint: str = ""):
        from .text import shown
        known = list(known)
        self.what, self.name = what, name
        self.suggestions = closest(name, known)
        msg = f"unknown {what} '{shown(name)}'"
        if self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions) + "?"
        elif known and len(known) <= 40 and not hint:
            msg += "; known: " + ", ".join(sorted(known))
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


def closest(name: str, known: Iterable[str], n: int = 4) -> list[str]:
    """The known names closest to ``name`` (case-insensitive), best first."""
    known = list(known)
    if len(name) > 200:         # no known name is this long; difflib on it would be slow
        return []
    lower = {k.lower(): k for k in known}
    key = name.lower().strip()
    hits = difflib.get_close_matches(key, list(lower), n=n, cutoff=0.6)
    # also names that contain the query or the query contains (e.g. 'v4-flash')
    for k_low, k in lower.items():
        if len(hits) >= n:
            break
        if key and (key in k_low) and k_low not in hits:
            hits.append(k_low)
    return [lower[h] for h in hits[:n]]
