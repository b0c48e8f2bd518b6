"""``rigcheck serve``: the reality check as a local web page over a JSON API.

``create_app()`` (in :mod:`rigcheck.serve.app`) is a FastAPI application: the page at
``/`` (``static/``, with plotly.js served from the installed ``plotly`` package) and the
API under ``/api/``, whose reports are built by the same functions as the CLI's
``--json``. What the browser may name is checked in :mod:`.queries` (catalogue ids, Hub
ids and rig specs, never a file path); request limits live in :mod:`.guard`, the result
cache in :mod:`.cache`. Importing this package does not import FastAPI.
"""

from __future__ import annotations


def create_app(**kwargs):
    from .app import create_app as _create
    return _create(**kwargs)
