"""The bundled speed data, loaded once for the arithmetic (issue 11: plan/speed reads no files).

``speed_data()`` returns what every speed estimate takes as arguments: the fitted constants
(rigcheck/data/speed_calibration.json, or the physical priors when it is missing) and the
measurement rows (rigcheck/data/measurements.csv), each row's rig parsed once for the
devices it names and the setup it measured. ``catalogue_facts()`` gives the exact bytes of a
catalogue model in a build, for rows that name one.
"""

from __future__ import annotations

import functools

from ... import catalogue
from ..speed import DEFAULT, Calibration
from ..speed.estimate import calibration_from_json
from ..speed.evidence import MeasuredRow, rows_from_dicts, setup_key
from ..speed.facts import ModelFacts, facts_from_build


@functools.lru_cache(maxsize=1)
def speed_calibration() -> Calibration:
    d = catalogue.speed_calibration()
    return DEFAULT if d is None else calibration_from_json(d)


def _with_rig(row: MeasuredRow) -> MeasuredRow:
    from dataclasses import replace
    from ...hardware.spec import parse_rig
    try:
        rig = parse_rig(row.rig)
    except Exception:  # noqa: BLE001 - a row whose rig we cannot read still counts by model
        return row
    devs = frozenset({d.id for n in rig.nodes for d in n.devices} | ({rig.node.cpu.id} if rig.node.cpu else set()))
    return replace(row, devices=devs, setup=setup_key(row.model, row.build, row.runtime, rig, row.offload))


@functools.lru_cache(maxsize=1)
def measurement_rows() -> tuple[MeasuredRow, ...]:
    return tuple(_with_rig(r) for r in rows_from_dicts(catalogue.measurements()))


def speed_data() -> dict:
    """Keyword arguments for rigcheck.plan.speed.estimate.estimate / estimate_offload."""
    return {"calib": speed_calibration(), "rows": measurement_rows()}


@functools.lru_cache(maxsize=256)
def catalogue_facts(model_id: str, build_name: str) -> ModelFacts | None:
    """Exact facts from the model catalogue and build recipes, or None when either does not
    know the name (the caller then falls back to the row's own figures)."""
    from ...model.resolve import load_model
    from ...quant.recipes import build as make_build
    try:
        model = load_model(model_id)
        b = make_build(model, build_name)
    except Exception:  # noqa: BLE001 - unknown id/build, or a family not written yet
        return None
    return facts_from_build(model, b)
