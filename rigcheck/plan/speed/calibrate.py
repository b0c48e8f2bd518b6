"""Fit the speed constants (rigcheck.plan.speed.Calibration) to measurements. Pure numpy.

Each measurement becomes a ``Sample``: the pools it read (bytes per token over rated
bandwidth, by device family and pool kind), how the GPUs were combined, its runtime and
architecture maturity, and the measured seconds per token. The fit minimises

    sum_i w_i (log t_pred_i - log t_meas_i)^2 + sum_j ((theta_j - prior_j) / sigma_j)^2

over the logs of the constants (Levenberg-Marquardt, numeric Jacobian). The prior term
keeps a constant that few rows inform near its physical prior (speed.PRIOR_*), so a
family with two rows cannot run away. ``w_i`` = (rows of that source / 4)^-1/4, capped at 1,
so one large table counts more than a single post but does not outvote every other source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import (DEFAULT, PRIOR_EFF, PRIOR_FIXED_S, PRIOR_MATURITY, PRIOR_PREFILL_EFF,
                    PRIOR_TP_S, Calibration, PoolRead, spread_class)

SIGMA = {"eff": 0.5, "fixed": 1.0, "hybrid": 1.0, "hop": 1.5, "tp": 1.0, "runtime": 0.5,
         "maturity": 0.8, "legacy": 0.5, "prefill_eff": 0.8, "prefill_runtime": 0.6, "pcie": 0.5}
PRIOR_HYBRID_S = 0.004
PRIOR_HOP_S = 0.0005
# Rows measured before 2024-06 ran older runtimes (llama.cpp added CUDA graphs in 2024-05,
# PR #6766) whose per-token fixed cost was higher; their fixed cost gets its own factor so
# they inform bandwidth efficiency without dragging today's fixed cost up.
PRIOR_LEGACY = 1.5


@dataclass
class Sample:
    """One measured decode (and maybe prefill) with the inputs the model needs."""

    pools: list[PoolRead]
    runtime: str
    maturity: str
    parallel: str
    link: str
    decode_tok_s: float | None
    prefill_tok_s: float | None = None
    prefill_flops_per_token: float = 0.0
    peak_flops: float | None = None
    prefill_family: str = ""
    offloaded_bytes: float = 0.0
    link_bandwidth: float | None = None
    source: str = ""
    key: str = ""
    kind: str = "dense"           # dense | moe
    legacy: bool = False          # measured before 2024-06 (older per-token overheads)
    meta: dict = field(default_factory=dict)

    @property
    def klass(self) -> str:
        return spread_class(self.pools, self.parallel, self.maturity)


def _lead(pools: list[PoolRead]) -> str:
    for p in pools:
        if p.kind in ("gpu", "unified") and p.bytes_per_token > 0:
            return p.family
    return "cpu"


def _weights(samples: list[Sample]) -> np.ndarray:
    counts: dict[str, int] = {}
    for s in samples:
        counts[s.source] = counts.get(s.source, 0) + 1
    return np.array([min(1.0, (max(counts[s.source] / 4.0, 1e-9)) ** -0.25) for s in samples])


def _lm(residual, theta0: np.ndarray, iters: int = 60) -> np.ndarray:
    """Levenberg-Marquardt on a residual vector function (numeric Jacobian)."""
    theta = theta0.copy()
    lam = 1e-2
    r = residual(theta)
    cost = float(r @ r)
    for _ in range(iters):
        eps = 1e-5
        J = np.empty((r.size, theta.size))
        for j in range(theta.size):
            t2 = theta.copy()
            t2[j] += eps
            J[:, j] = (residual(t2) - r) / eps
        g = J.T @ r
        H = J.T @ J
        improved = False
        for _ in range(10):
            step = np.linalg.solve(H + lam * np.diag(np.diag(H) + 1e-9), -g)
            t_new = theta + step
            r_new = residual(t_new)
            c_new = float(r_new @ r_new)
            if c_new < cost:
                theta, r, cost = t_new, r_new, c_new
                lam = max(lam / 3, 1e-7)
                improved = True
                break
            lam *= 4
        if not improved or float(np.abs(step).max()) < 1e-6:
            break
    return theta


# ---- decode ---------------------------------------------------------------------------

class _DecodeDesign:
    """The samples as arrays, so the model is a few numpy operations per evaluation."""

    def __init__(self, samples: list[Sample]):
        self.samples = samples
        self.eff_keys = sorted({(p.family, p.kind) for s in samples for p in s.pools if p.bytes_per_token > 0})
        self.fams = sorted({_lead(s.pools) for s in samples})
        self.rts = sorted({s.runtime for s in samples} - {"llama.cpp"})
        self.mats = sorted({s.maturity for s in samples} - {"mature"})
        self.links = sorted({s.link for s in samples if s.parallel == "tensor"})
        n = len(samples)
        self.A = np.zeros((n, len(self.eff_keys)))
        self.lead = np.zeros(n, dtype=int)
        self.legacy = np.array([1.0 if s.legacy else 0.0 for s in samples])
        self.hybrid = np.zeros(n)
        self.hops = np.zeros(n)
        self.tp = np.zeros((n, max(len(self.links), 1)))
        self.rt = np.full(n, -1)
        self.mat = np.full(n, -1)
        for i, s in enumerate(samples):
            pools = [p for p in s.pools if p.bytes_per_token > 0]
            accel = [p for p in pools if p.kind in ("gpu", "unified")]
            host = [p for p in pools if p.kind in ("ram", "disk")]
            if s.parallel == "tensor" and len(accel) > 1:
                worst = max(accel, key=lambda p: p.bytes_per_token / p.bandwidth_bytes_s)
                use = [worst] + host
                self.tp[i, self.links.index(s.link)] = 1.0
            else:
                use = pools
                if s.parallel == "layer" and len(accel) > 1:
                    self.hops[i] = len(accel) - 1
            for p in use:
                self.A[i, self.eff_keys.index((p.family, p.kind))] += p.bytes_per_token / p.bandwidth_bytes_s
            self.hybrid[i] = 1.0 if (host and accel) else 0.0
            self.lead[i] = self.fams.index(_lead(pools))
            if s.runtime in self.rts:
                self.rt[i] = self.rts.index(s.runtime)
            if s.maturity in self.mats:
                self.mat[i] = self.mats.index(s.maturity)
        self.t_meas = np.array([1.0 / s.decode_tok_s for s in samples])
        self.w = _weights(samples)
        # parameter layout (all logs)
        self.prior = np.concatenate([
            np.log([PRIOR_EFF.get(k, 0.7) for k in self.eff_keys]),
            np.log([PRIOR_FIXED_S.get(f, 0.004) for f in self.fams]),
            [math.log(PRIOR_HYBRID_S), math.log(PRIOR_HOP_S), math.log(PRIOR_LEGACY)],
            np.log([PRIOR_TP_S.get(k, 0.004) for k in self.links]) if self.links else np.zeros(0),
            np.zeros(len(self.rts)),
            np.log([PRIOR_MATURITY.get(m, 0.5) for m in self.mats]) if self.mats else np.zeros(0),
        ])
        self.sigma = np.concatenate([
            np.full(len(self.eff_keys), SIGMA["eff"]), np.full(len(self.fams), SIGMA["fixed"]),
            [SIGMA["hybrid"], SIGMA["hop"], SIGMA["legacy"]], np.full(len(self.links), SIGMA["tp"]),
            np.full(len(self.rts), SIGMA["runtime"]), np.full(len(self.mats), SIGMA["maturity"])])

    def split(self, th: np.ndarray):
        i = 0
        out = []
        for n in (len(self.eff_keys), len(self.fams), 1, 1, 1, len(self.links), len(self.rts), len(self.mats)):
            out.append(np.exp(th[i:i + n]))
            i += n
        return out

    def predict(self, th: np.ndarray) -> np.ndarray:
        eff, fixed, hyb, hop, leg, tp, rt, mat = self.split(th)
        t = fixed[self.lead] * (1.0 + self.legacy * (leg[0] - 1.0)) + self.A @ (1.0 / eff) + self.hybrid * hyb[0] + self.hops * hop[0]
        if len(self.links):
            t = t + self.tp[:, :len(self.links)] @ tp
        rtf = np.where(self.rt >= 0, np.concatenate([rt, [1.0]])[self.rt], 1.0)
        matf = np.where(self.mat >= 0, np.concatenate([mat, [1.0]])[self.mat], 1.0)
        return t * rtf / matf

    def residual(self, th: np.ndarray) -> np.ndarray:
        r = (np.log(self.predict(th)) - np.log(self.t_meas)) * self.w
        return np.concatenate([r, (th - self.prior) / self.sigma])

    def to_calibration(self, th: np.ndarray, base: Calibration) -> Calibration:
        eff, fixed, hyb, hop, leg, tp, rt, mat = self.split(th)
        meta = dict(base.meta)
        meta["legacy_fixed_factor"] = float(leg[0])
        return Calibration(
            eff={**base.eff, **{k: float(v) for k, v in zip(self.eff_keys, eff)}},
            fixed_s={**base.fixed_s, **{k: float(v) for k, v in zip(self.fams, fixed)}},
            hybrid_s=float(hyb[0]), hop_s=float(hop[0]),
            tp_s={**base.tp_s, **{k: float(v) for k, v in zip(self.links, tp)}},
            runtime={**base.runtime, **{k: float(v) for k, v in zip(self.rts, rt)}},
            maturity={**base.maturity, **{k: float(v) for k, v in zip(self.mats, mat)}},
            spread=dict(base.spread), prefill_eff=dict(base.prefill_eff),
            prefill_runtime=dict(base.prefill_runtime), prefill_spread=base.prefill_spread,
            pcie_eff=base.pcie_eff, meta=meta)


def fit_decode(samples: list[Sample], base: Calibration = DEFAULT) -> Calibration:
    samples = [s for s in samples if s.decode_tok_s and s.pools]
    if not samples:
        return base
    d = _DecodeDesign(samples)
    th = _lm(d.residual, d.prior.copy())
    return d.to_calibration(th, base)


# ---- prefill --------------------------------------------------------------------------

def _prefill_ok(s: Sample) -> bool:
    return bool(s.prefill_tok_s and s.peak_flops and s.prefill_flops_per_token > 0 and s.prefill_family
                and s.meta.get("prefill_fit", True))


def fit_prefill(samples: list[Sample], base: Calibration) -> Calibration:
    samples = [s for s in samples if _prefill_ok(s)]
    if not samples:
        return base
    fams = sorted({s.prefill_family for s in samples})
    rts = sorted({s.runtime for s in samples} - {"llama.cpp"})
    n = len(samples)
    C = np.array([s.prefill_flops_per_token / s.peak_flops for s in samples])
    O = np.array([(s.offloaded_bytes / s.link_bandwidth / 512) if s.offloaded_bytes and s.link_bandwidth else 0.0
                  for s in samples])
    fi = np.array([fams.index(s.prefill_family) for s in samples])
    ri = np.array([rts.index(s.runtime) if s.runtime in rts else -1 for s in samples])
    mat = np.array([base.maturity.get(s.maturity, 1.0) for s in samples])
    t_meas = np.array([1.0 / s.prefill_tok_s for s in samples])
    w = _weights(samples)
    prior = np.concatenate([np.log([PRIOR_PREFILL_EFF.get(f, 0.3) for f in fams]), np.zeros(len(rts)),
                            [math.log(0.7)]])
    sigma = np.concatenate([np.full(len(fams), SIGMA["prefill_eff"]), np.full(len(rts), SIGMA["prefill_runtime"]),
                            [SIGMA["pcie"]]])

    def predict(th):
        eff = np.exp(th[:len(fams)])[fi]
        rtf = np.where(ri >= 0, np.concatenate([np.exp(th[len(fams):len(fams) + len(rts)]), [1.0]])[ri], 1.0)
        pcie = math.exp(th[-1])
        return (C / (eff * rtf) + O / pcie) / mat

    def residual(th):
        return np.concatenate([(np.log(predict(th)) - np.log(t_meas)) * w, (th - prior) / sigma])

    th = _lm(residual, prior.copy())
    return replace(
        base,
        prefill_eff={**base.prefill_eff, **{f: float(math.exp(v)) for f, v in zip(fams, th[:len(fams)])}},
        prefill_runtime={**base.prefill_runtime,
                         **{r: float(math.exp(v)) for r, v in zip(rts, th[len(fams):len(fams) + len(rts)])}},
        pcie_eff=float(math.exp(th[-1])))


def fit(samples: list[Sample], base: Calibration = DEFAULT) -> Calibration:
    """Decode and prefill constants fitted to ``samples`` (spreads left as in ``base``)."""
    return fit_prefill(samples, fit_decode(samples, base))
