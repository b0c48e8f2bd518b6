"""Structured notes: what the library tells the user, as a code and its values.

The library never writes a sentence for the user: it returns ``Note("ram_short",
spill_bytes=...)`` and ``rigcheck/report/notes.py`` holds the words for each code (one
template per code), so text, JSON and HTML say the same thing and a script can read the
code and the values instead of parsing prose. Values are plain data: sizes in bytes (ints),
counts, token numbers, names, command text.
"""

from __future__ import annotations


class Note:
    """One note: ``code`` (a key of report.notes.TEMPLATES) and its ``values``."""

    __slots__ = ("code", "values")

    def __init__(self, code: str, **values):
        self.code = code
        self.values = values

    def _key(self):
        return (self.code, tuple(sorted((k, repr(v)) for k, v in self.values.items())))

    def __eq__(self, other) -> bool:
        return isinstance(other, Note) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"Note({self.code!r}{', ' if vals else ''}{vals})"
