"""schemathesis against rigcheck serve's OpenAPI schema, through the ASGI app (no network):
every response has a documented status, matches its schema, and none is a 500. Examples are
bounded (about a minute on two cores); the schema's own examples are always tried.

A value can match the schema (a string of at most 200 characters) and still not be a model
or a rig rigcheck knows, or a spec it can parse: those answers are 400 (malformed spec) or
404 (unknown name, with the closest names), which the positive-data check is told to accept. A query string over 2,048 bytes is refused
with 414 before any value is read, which the negative-data check is told is a rejection.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from rigcheck.serve import create_app


@pytest.fixture(autouse=True)
def _hub_offline(monkeypatch):
    """Hub ids are looked up in rigcheck's Hub cache only: tests never use the network.
    (RIGCHECK_OFFLINE, not HF_HUB_OFFLINE: huggingface_hub reads its own switch once, at import,
    and would stay offline for every later test in the session.)"""
    monkeypatch.setenv("RIGCHECK_OFFLINE", "1")

app = create_app(rate=None)
config = schemathesis.Config.from_dict({"checks": {
    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "422"]},
    # a query string over the guard's 2,048 bytes is refused before it is parsed: 414 is a rejection
    "negative_data_rejection": {"expected-statuses": ["400", "404", "405", "414", "422"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms(case):
    response = case.call_and_validate()
    assert response.status_code < 500
    if response.status_code >= 400:
        body = response.json()
        assert list(body) == ["error"] and "Traceback" not in body["error"]


def test_schema_lists_the_api():
    paths = set(schema.raw_schema["paths"])
    assert {"/api/check", "/api/tiers", "/api/models", "/api/rigs", "/api/rig", "/api/meta"} <= paths
    assert not any(p.startswith("/static") or p == "/" for p in paths)
