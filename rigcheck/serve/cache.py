"""A small thread-safe LRU of finished answers, keyed on the normalized query.

A check is compute-heavy (0.1-1 s); the same model, rig, context and runtime always give
the same report, so the encoded JSON is kept and served again. Errors are kept too (an
unknown build stays unknown). Concurrent misses for one key compute it once. The app keeps
two: answers by normalized query (an alias and its id share one), and the same answers by
the query exactly as sent, so a repeat skips even the normalizing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable


class LRU:
    def __init__(self, maxsize: int = 512):
        self.maxsize = maxsize
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Lock] = {}
        self.hits = self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], object]):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            gate = self._pending.setdefault(key, threading.Lock())
        with gate:                      # one computation per key; the others wait for it
            with self._lock:
                if key in self._data:
                    self.hits += 1
                    return self._data[key]
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._pending.pop(key, None)
                raise
            with self._lock:
                self.misses += 1
                self._data[key] = value
                self._data.move_to_end(key)
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)
                self._pending.pop(key, None)
            return value

    def get(self, key: Hashable):
        """The kept value, or None (no computation)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        return None

    def put(self, key: Hashable, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
