"""The OpenAPI response schemas of the API: the CLI's --json field names, as JSON Schema.

They name the fields every answer carries and their types; schemathesis checks every
response against them (tests/test_serve_schema.py). Notes are strings or, as the notes
become structured, objects with a "text".
"""

from __future__ import annotations

OBJ, ARR, STR, INT, NUM, BOOL = "object", "array", "string", "integer", "number", "boolean"


def obj(required: dict, **extra) -> dict:
    return {"type": OBJ, "required": list(required), "properties": required, **extra}


def t(*types) -> dict:
    return {"type": list(types)} if len(types) > 1 else {"type": types[0]}


NOTE = {"anyOf": [t(STR), {"type": OBJ, "properties": {"text": t(STR)}}]}
NOTES = {"type": ARR, "items": NOTE}
RANGE = {"anyOf": [{"type": "null"}, obj({"low": t(NUM), "mid": t(NUM), "high": t(NUM)})]}
ERROR = obj({"error": t(STR)}, additionalProperties=False)

MODEL_SUMMARY = obj({"id": t(STR), "family": t(STR), "arch": t(STR), "total_params": t(INT),
                     "active_params": t(INT), "moe": t(BOOL), "n_ctx_train": t(INT, "null"), "line": t(STR)})
POOL = obj({"device": t(STR), "kind": t(STR), "bytes": t(INT), "capacity_bytes": t(INT)})
BUILD = obj({"name": t(STR), "runtime": t(STR), "file_bytes": t(INT), "bits_per_weight": t(NUM),
             "weights_bytes": t(INT), "kv_bytes": t(INT), "compute_bytes": t(INT), "overhead_bytes": t(INT),
             "total_bytes": t(INT), "fits": t(BOOL), "mode": t(STR), "placement": {"type": ARR, "items": POOL},
             "decode_tok_s": RANGE, "verdict": t(STR), "reasons": NOTES, "notes": NOTES,
             "commands": {"type": OBJ, "additionalProperties": t(STR)}})

CHECK = obj({"model": MODEL_SUMMARY,
             "rig": obj({"spec": t(STR), "source": t(STR), "devices": t(ARR), "ram_bytes": t(INT, "null"),
                         "platform": t(STR), "notes": NOTES}),
             "ctx": t(INT), "builds": {"type": ARR, "items": BUILD}, "best": t(STR, "null"),
             "best_commands": {"type": OBJ, "additionalProperties": t(STR)}, "support": t(ARR),
             "alternatives": t(ARR), "upgrade": t(ARR), "measurements": t(ARR), "notes": NOTES,
             "decode_vs_ctx": {"type": ARR, "items": obj({"ctx": t(INT), "low": t(NUM), "mid": t(NUM),
                                                          "high": t(NUM)})}})
TIERS = obj({"model": MODEL_SUMMARY, "ctx": t(INT), "notes": NOTES,
             "tiers": {"type": ARR, "items": obj({"tier": t(STR), "label": t(STR), "rig": t(STR),
                                                   "best_build": t(STR, "null"), "mode": t(STR),
                                                   "decode_tok_s": RANGE, "verdict": t(STR), "reasons": NOTES})}})
MODELS = {"type": ARR, "items": obj({"id": t(STR), "name": t(STR), "family": t(STR), "arch": t(STR),
                                     "total_params": t(INT), "active_params": t(INT),
                                     "aliases": {"type": ARR, "items": t(STR)}})}
RIGS = {"type": OBJ, "properties": {k: t(ARR) for k in ("gpu", "soc", "cpu", "link", "tiers")}}
RIG = obj({"spec": t(STR), "source": t(STR), "nodes": {"type": ARR, "minItems": 1}, "link": t(OBJ, "null"),
           "notes": NOTES})
SUGGEST = obj({"query": t(STR), "hub": t(STR),
               "suggestions": {"type": ARR, "items": obj({"id": t(STR), "name": t(STR), "source": t(STR),
                                                         "matched": t(STR)})}})
META = obj({"colors": t(OBJ), "parts": t(ARR), "verdict_colors": t(OBJ), "device_colors": t(ARR),
            "modes": t(OBJ), "runtimes": {"type": ARR, "items": t(STR)}, "version": t(STR)})

_ERRORS = {400: "bad input: one line saying what is wrong and what to try",
           404: "unknown name (with the closest known names) or no such page",
           413: "request body too large", 414: "query string or path too long",
           422: "the query is well formed but cannot be evaluated", 429: "rate limit: try again later"}


def responses(schema: dict) -> dict:
    """FastAPI ``responses=``: the answer's schema and the error schema for each 4xx."""
    out = {200: {"description": "the report, with the CLI's --json field names",
                 "content": {"application/json": {"schema": schema}}}}
    for status, what in _ERRORS.items():
        out[status] = {"description": what, "content": {"application/json": {"schema": ERROR}}}
    return out
