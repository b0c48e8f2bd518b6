"""Text from files and users, made safe to print: one place that escapes and cuts.

A tensor name, a ``general.name``, a model id or a path comes from outside; printed raw,
a newline in it splits an error line (and the second line can pretend to be rigcheck's),
and an escape sequence repaints the terminal. ``shown`` makes any such text one visible
line: control characters (C0, DEL, C1) and the invisible format characters that reorder
or hide text (bidi overrides, zero-width marks) become visible escapes (``\\n``,
``\\x1b``, ``\\u202e``), and text longer than a readable length is cut in the middle
with the count of what was left out. Error messages pass through ``one_line``
(rigcheck.errors does that for every RigcheckError), renderers pass file-supplied
names through ``shown``.
"""

from __future__ import annotations

import re
import unicodedata

SHOWN_CHARS = 120           # an echoed name, id or value
LINE_CHARS = 2000           # a whole error line (lists of valid choices included)

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escape_char(m: re.Match) -> str:
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def escape(text) -> str:
    """``text`` with every control or invisible formatting character as a visible escape."""
    s = str(text)
    s = _UNSAFE.sub(_escape_char, s)
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in s):   # anything the class missed
        s = "".join(c if unicodedata.category(c) not in ("Cc", "Cs") else f"\\u{ord(c):04x}" for c in s)
    return s


def shown(text, limit: int = SHOWN_CHARS) -> str:
    """File- or user-supplied text as one short visible line: escaped, then cut in the
    middle to about ``limit`` characters, saying how many were left out (a 100 KB id is
    never escaped whole, only the ends that are kept)."""
    s = str(text)
    if len(s) <= limit and not _UNSAFE.search(s):
        return s
    head = max(limit * 2 // 3, 1)
    tail = max(limit - head, 0)
    if len(s) > 4 * limit:
        h, t, n = escape(s[:head]), escape(s[len(s) - tail:]) if tail else "", len(s)
    else:
        e = escape(s)
        if len(e) <= limit:
            return e
        h, t, n = e, e, len(e)
    h, t = h[:head], (t[len(t) - tail:] if tail else "")
    return f"{h}...({n - head - tail:,} characters left out)...{t}"


def one_line(text, limit: int = LINE_CHARS) -> str:
    """A whole message as one printable line of at most about ``limit`` characters."""
    return shown(text, limit)
