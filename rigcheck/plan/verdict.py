"""Verdict: one word for "should I run this build on this rig", with the reasons.

``verdict(...)`` is pure: it takes what placement and speed already worked out and
returns a ``Verdict(label, reasons)``. The labels, from worst to best:

**no**
    The build does not fit in the rig's memory at this context at all (GPU memory plus
    system RAM), or no runtime can run the architecture.
**not practical**
    It fits, but decode is below ``practical_tok_s`` (5 tok/s by default); or it fits
    only with weights offloaded to system RAM and decode is below
    ``offload_practical_tok_s`` (10 tok/s: offloaded decode also falls as the context
    grows and swings with RAM speed, so it needs more margin); or it runs on the CPU
    alone below ``runs_tok_s`` (8 tok/s). It loads and answers, slowly enough that nobody
    uses it twice.
**borderline**
    It fits and runs, with a catch: less than ``tight_headroom`` (10 %) of dedicated GPU
    memory left after weights, KV cache and buffers, or less than
    ``tight_headroom_unified`` (15 %) of a unified-memory GPU budget (that memory is shared
    with the OS and every other program, and the budget is itself a soft OS limit); or
    quality below the ~3 bits per weight floor (``low_bpw``) in a uniform build (Q2_K);
    or only a fork or branch of the runtime runs the architecture; or decode is between
    5 and 8 tok/s. Expert-mode mixes (2-bit routed experts, 8-bit attention, shared
    experts and output: IQ2_XS-XL, ds4 q2) dodge the quality floor, as the article notes,
    but are never comfortable.
**runs**
    It fits and decodes at ``runs_tok_s`` (8 tok/s) or more, with none of the catches
    above. Offloaded or CPU-only builds can reach "runs" when they are fast enough (an
    MoE with few active parameters), never "comfortable".
**comfortable**
    All weights on fast memory (GPU memory or unified memory), at least
    ``comfortable_headroom`` (15 %) of it left, decode at least ``comfortable_tok_s``
    (20 tok/s) in the middle of the range and at least ``runs_tok_s`` at the low end,
    4-bit-class quality or better (``comfortable_bpw``, 4.0 bits per weight on average),
    and a stable runtime release.

Headroom is the fraction of the fast memory still free once everything is placed
(``(capacity - used) / capacity``; for vLLM and SGLang, which cap themselves at a share of
each GPU, counted within that share). Decode speeds are the estimate's range (low, mid).
Bits per weight is the build's file size x 8 / parameter count, so a mixed build (2-bit
routed experts with 8-bit attention, shared experts and output) shows its average;
``quality_note`` explains what that average hides.

The best choice (rigcheck.plan.check.evaluate.pick_best) is the best verdict, then all on
fast memory, then quality class, then speed; a build that *runs* beats a *comfortable* one
when it is all on fast memory, as good a build and at least twice as fast, and says so.

The defaults can be changed with a file ``thresholds.toml`` or ``thresholds.json`` in
``$RIGCHECK_HOME`` (default ``~/.local/share/rigcheck``) holding any of the ``Thresholds`` field
names, and by keyword overrides (the CLI flags), which win over the file.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..errors import InputError
from ..notes import Note
from ..units import rate

LABELS = ("no", "not practical", "borderline", "runs", "comfortable")   # worst to best
MODES = ("gpu", "unified", "offload", "cpu", "none")
FAST_MODES = ("gpu", "unified")


@dataclass(frozen=True)
class Thresholds:
    """The numbers behind the labels (see the module docstring)."""

    comfortable_headroom: float = 0.15   # fraction of fast memory left
    comfortable_tok_s: float = 20.0      # mid decode estimate
    comfortable_bpw: float = 4.0         # average bits per weight
    tight_headroom: float = 0.10         # below this: borderline (dedicated GPU memory)
    tight_headroom_unified: float = 0.15  # the same on unified memory, shared with the OS
    runs_tok_s: float = 8.0              # mid decode for "runs"
    practical_tok_s: float = 5.0         # mid decode below this: not practical
    offload_practical_tok_s: float = 10.0  # with weights in system RAM: below this, not practical
    low_bpw: float = 3.0                 # below this: flagged, borderline

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v) or v < 0:
                raise InputError(f"threshold {f.name} must be a number >= 0, not {v!r}")
        if not self.tight_headroom <= self.comfortable_headroom < 1:
            raise InputError("thresholds: need tight_headroom <= comfortable_headroom < 1")
        if not self.tight_headroom_unified < 1:
            raise InputError("thresholds: need tight_headroom_unified < 1")
        if not self.practical_tok_s <= self.runs_tok_s <= self.comfortable_tok_s:
            raise InputError("thresholds: need practical_tok_s <= runs_tok_s <= comfortable_tok_s")

    def replace(self, **changes) -> "Thresholds":
        known = {f.name for f in dataclasses.fields(self)}
        bad = sorted(set(changes) - known)
        if bad:
            raise InputError(f"unknown threshold {', '.join(bad)}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **{k: float(v) for k, v in changes.items() if v is not None})


DEFAULT = Thresholds()


@dataclass(frozen=True)
class Verdict:
    label: str
    reasons: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        """0 (no) .. 4 (comfortable), for sorting builds."""
        return LABELS.index(self.label)


def verdict(fits: bool, mode: str, headroom_frac: float, decode_mid_tok_s: float,
            decode_low_tok_s: float, bits_per_weight: float, support_status: str,
            thresholds: Thresholds = DEFAULT, expert_mix: bool = False) -> Verdict:
    """The verdict for one build on one rig (pure; see the module docstring for the rules).

    mode: where the weights live: ``gpu`` (GPU memory only), ``unified`` (a
    unified-memory SoC), ``offload`` (GPU plus system RAM), ``cpu`` (system RAM only),
    ``none`` (nowhere). support_status: the runtime's ``Support.status``
    (mainline / fork / none / unknown). expert_mix: the low bits sit only in the routed
    experts while attention, shared experts and output keep 6 bits or more (the article's
    "expert-mode" builds, e.g. IQ2_XS-XL, ds4 q2): such a build is not held to the ~3-bit
    quality floor, but it is never called comfortable below it.
    """
    t = thresholds
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not fits or mode == "none":
        return Verdict("no", ["does not fit in this rig's memory at this context"])
    if support_status == "none":
        return Verdict("no", ["no runtime release or fork runs this architecture"])

    mid, low = float(decode_mid_tok_s), float(decode_low_tok_s)
    low = min(low, mid)
    speed = f"about {rate(mid)} tok/s (low {rate(low)})"
    fast = mode in FAST_MODES
    where = {"gpu": "all on GPU memory", "unified": "all in unified memory",
             "offload": "weights split between GPU and system RAM",
             "cpu": "all in system RAM, on the CPU"}[mode]

    if mid < t.practical_tok_s:
        return Verdict("not practical", [f"decode {speed}, below {rate(t.practical_tok_s)} tok/s", where])
    slow_limit = t.offload_practical_tok_s if mode == "offload" else t.runs_tok_s
    if not fast and mid < slow_limit:
        return Verdict("not practical",
                       [f"fits only with {where.split(',')[0]}", f"decode {speed}, below {rate(slow_limit)} tok/s"])

    catches = []
    tight = t.tight_headroom_unified if mode == "unified" else t.tight_headroom
    if fast and headroom_frac < tight:
        catches.append(f"only {headroom_frac:.0%} of {'the GPU share of unified ' if mode == 'unified' else ''}"
                       f"memory left (under {tight:.0%}): little room for a longer context or other programs")
    if bits_per_weight < t.low_bpw and not expert_mix:
        catches.append(f"{bits_per_weight:.2f} bits per weight, under the ~{t.low_bpw:g}-bit quality floor")
    if support_status == "fork":
        catches.append("only a fork or branch of the runtime runs this architecture")
    if mid < t.runs_tok_s:
        catches.append(f"decode {speed}, under {rate(t.runs_tok_s)} tok/s")
    if catches:
        return Verdict("borderline", catches + [where])

    reasons = [where, f"decode {speed}"]
    if support_status == "unknown":
        reasons.append("runtime support for this architecture is not in the catalogue")
    misses = []
    if not fast:
        misses.append("not all on fast memory")
    if fast and headroom_frac < t.comfortable_headroom:
        # one decimal where whole percents would print the miss as the threshold ("15% ... needs 15%")
        left = f"{headroom_frac:.0%}" if f"{headroom_frac:.0%}" != f"{t.comfortable_headroom:.0%}" \
            else f"{headroom_frac:.1%}"
        misses.append(f"{left} of memory left (comfortable needs {t.comfortable_headroom:.0%})")
    if mid < t.comfortable_tok_s:
        misses.append(f"under {rate(t.comfortable_tok_s)} tok/s")
    if low < t.runs_tok_s:
        misses.append(f"could drop to {rate(low)} tok/s")
    if bits_per_weight < t.comfortable_bpw:
        misses.append(f"{bits_per_weight:.2f} bits per weight (comfortable needs {t.comfortable_bpw:g})"
                      + ("; low-bit routed experts with 8-bit attention, shared experts and output"
                         if expert_mix and bits_per_weight < t.low_bpw else ""))
    if support_status != "mainline":
        misses.append("runtime support not confirmed in a stable release")
    if misses:
        return Verdict("runs", reasons + ["not comfortable: " + "; ".join(misses)])
    return Verdict("comfortable", reasons + [f"{headroom_frac:.0%} of memory left",
                                             f"{bits_per_weight:.2f} bits per weight"])


def quality_note(bits_per_weight: float, build_name: str, build_notes=()) -> Note:
    """What the build's precision means for output quality: its class by bits per weight,
    whether it is a mixed-precision build (low bits on the routed experts only), and the
    recipe's own notes (``build_notes``: Notes or text) as details."""
    b = float(bits_per_weight)
    name = build_name or "this build"
    low_name = name.lower()
    words = " ".join(n if isinstance(n, str) else f"{n.code} {n.values}" for n in build_notes).lower()
    mixed = any(k in low_name for k in ("xl", "mix", "ud-", "+", "expert", "ds4", "w2q2k")) \
        or "mixed" in words or "expert" in words
    klass = next(k for floor, k in QUALITY_CLASSES if b >= floor)
    return Note("quality", build=name, bits_per_weight=b, quality_class=klass, mixed=mixed and b < 4.0,
                details=list(build_notes))


# bits-per-weight floors of the quality classes (report/notes.py holds what each means)
QUALITY_CLASSES = ((7.5, "8-bit"), (5.5, "6-bit"), (4.0, "4-bit"), (3.0, "3-bit"), (2.0, "2-bit"),
                   (float("-inf"), "1-bit"))


# ---- thresholds from a mapping (rigcheck/config.py reads the user's file) ---------------------

def thresholds_from_mapping(data: dict, base: Thresholds = DEFAULT) -> Thresholds:
    if not isinstance(data, dict):
        raise InputError("thresholds file: expected a table of name = number")
    data = data.get("thresholds", data) if isinstance(data.get("thresholds"), dict) else data
    return base.replace(**data)
