"""Fit the speed constants (rigcheck.plan.speed.Calibration) to measurements. Pure numpy.

Each measurement becomes a ``Sample``: the pools it read (bytes per token over rated
bandwidth, by device family, pool kind and device), how the GPUs were combined, its
runtime and architecture maturity, and the measured seconds per token. The fit minimises

    sum_i w_i (log t_pred_i - log t_meas_i)^2 + sum_j ((theta_j - prior_j) / sigma_j)^2

over the logs of the constants (Levenberg-Marquardt, analytic Jacobian). It is a
hierarchical (partial-pooling) fit: a family's efficiency and fixed cost are pulled toward
their physical priors (speed.PRIOR_*), and on top of them each device gets its own
efficiency multiplier, each runtime its own fixed-cost and time multipliers and each
architecture-in-a-runtime its own factor, all pulled toward 1 (= the family / the
maturity level) by their prior widths ``SIGMA``. A device with five measurements thus gets
most of its own efficiency; one with none is its family. ``w_i`` = (rows of that source /
4)^-1/4, capped at 1, so one large table counts more than a single post but does not
outvote every other source. The fit is deterministic (fixed start, fixed iteration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from . import (DEFAULT, HYBRID_MIN_BYTES, PRIOR_ATTN_EFF, arch_key, PRIOR_EFF, PRIOR_FIXED_S, PRIOR_MATURITY, PRIOR_PREFILL_EFF,
                    PRIOR_TP_S, Calibration, PoolRead, spread_class)

SIGMA = {"eff": 0.5, "fixed": 1.0, "hybrid": 1.0, "hop": 1.5, "tp": 1.0, "runtime": 0.5,
         "maturity": 0.8, "legacy": 0.5, "prefill_eff": 0.8, "prefill_runtime": 0.6, "pcie": 0.5,
         # log-scale widths of the partial-pooling effects (a device's efficiency within
         # its family; a runtime's fixed cost; an architecture's factor within a runtime)
         "device": 0.3, "fixed_rt": 0.7, "fixed_backend": 0.7, "prefill_backend": 0.5, "arch": 0.3, "prefill_device": 0.4, "attn": 1.0,
         # disk streaming: one or two rows in the data, and the page-cache hit rate of hot
         # experts (not modelled) is what they mostly measure; keep it near its prior
         "disk": 0.3}
# The scale of one row's log error (a measurement repeated elsewhere differs by ~10-30%):
# the data term is (log error / RESID_SIGMA)^2, so a prior of width SIGMA counts as much
# as (RESID_SIGMA / SIGMA)^2 rows of that scale, e.g. a device effect (0.3) as ~0.7 of a row.
RESID_SIGMA = 0.25
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
    setup: str = ""               # evidence.setup_key: rows with one key measured one setup
    device: str = ""              # the lead device (evidence.lead_device)
    arch: str = ""
    backend: str = ""             # speed.backend_of: cuda, rocm, vulkan, metal, sycl, cpu or ''


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


def _lm(residual, theta0: np.ndarray, iters: int = 60, jac=None) -> np.ndarray:
    """Levenberg-Marquardt on a residual vector function (``jac``, else a numeric Jacobian)."""
    theta = theta0.copy()
    lam = 1e-2
    r = residual(theta)
    cost = float(r @ r)
    for _ in range(iters):
        if jac is not None:
            J = jac(theta)
        else:
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
    """The samples as arrays, so the model and its Jacobian are a few numpy operations."""

    def __init__(self, samples: list[Sample]):
        self.samples = samples
        live = [[p for p in s.pools if p.bytes_per_token > 0] for s in samples]
        self.eff_keys = sorted({(p.family, p.kind) for ps in live for p in ps}
                               | {(p.family, "attn") for ps in live for p in ps if p.flops_per_token and p.peak_flops})
        self.devs = sorted({p.device for ps in live for p in ps if p.device and p.kind != "disk"})
        self.fams = sorted({_lead(s.pools) for s in samples})
        self.rts = sorted({s.runtime for s in samples} - {"llama.cpp"})
        self.frts = sorted({s.runtime for s in samples} - {"llama.cpp"})
        self.mats = sorted({s.maturity for s in samples} - {"mature"})
        self.archs = sorted({arch_key(s.arch, s.runtime) for s in samples if s.arch})
        self.bes = sorted({s.backend for s in samples if s.backend})
        self.be = np.array([self.bes.index(s.backend) if s.backend else -1 for s in samples], dtype=int)
        self.links = sorted({s.link for s in samples if s.parallel == "tensor"})
        n = len(samples)
        rows, coef, ei, di = [], [], [], []
        self.lead = np.zeros(n, dtype=int)
        self.legacy = np.array([1.0 if s.legacy else 0.0 for s in samples])
        self.hybrid = np.zeros(n)
        self.hops = np.zeros(n)
        self.tp = np.zeros((n, max(len(self.links), 1)))
        self.rt = np.full(n, -1)
        self.mat = np.full(n, -1)
        self.arch = np.full(n, -1)
        for i, (s, pools) in enumerate(zip(samples, live)):
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
                rows.append(i)
                coef.append(p.bytes_per_token / p.bandwidth_bytes_s)
                ei.append(self.eff_keys.index((p.family, p.kind)))
                di.append(self.devs.index(p.device) if p.device in self.devs and p.kind != "disk" else -1)
                if p.flops_per_token and p.peak_flops:
                    rows.append(i)
                    coef.append(p.flops_per_token / p.peak_flops)
                    ei.append(self.eff_keys.index((p.family, "attn")))
                    di.append(-1)
            self.hybrid[i] = 1.0 if (accel and any(p.kind in ("ram", "disk") and p.bytes_per_token >= HYBRID_MIN_BYTES
                                                   for p in pools)) else 0.0
            self.lead[i] = self.fams.index(_lead(pools))
            if s.runtime in self.rts:
                self.rt[i] = self.rts.index(s.runtime)
            if s.maturity in self.mats:
                self.mat[i] = self.mats.index(s.maturity)
            if s.arch:
                self.arch[i] = self.archs.index(arch_key(s.arch, s.runtime))
        self.p_row = np.array(rows, dtype=int)
        self.p_c = np.array(coef)
        self.p_e = np.array(ei, dtype=int)
        self.p_d = np.array(di, dtype=int)
        self.t_meas = np.array([1.0 / s.decode_tok_s for s in samples])
        self.w = _weights(samples) / RESID_SIGMA
        self.sizes = (len(self.eff_keys), len(self.devs), len(self.fams), len(self.frts), 1, 1, 1, len(self.links),
                      len(self.rts), len(self.mats), len(self.archs), len(self.bes))
        self.prior = np.concatenate([
            np.log([PRIOR_ATTN_EFF if k[1] == "attn" else PRIOR_EFF.get(k, 0.7) for k in self.eff_keys]),
            np.zeros(len(self.devs)),
            np.log([PRIOR_FIXED_S.get(f, 0.004) for f in self.fams]),
            np.zeros(len(self.frts)),
            [math.log(PRIOR_HYBRID_S), math.log(PRIOR_HOP_S), math.log(PRIOR_LEGACY)],
            np.log([PRIOR_TP_S.get(k, 0.004) for k in self.links]) if self.links else np.zeros(0),
            np.zeros(len(self.rts)),
            np.log([PRIOR_MATURITY.get(m, 0.5) for m in self.mats]) if self.mats else np.zeros(0),
            np.zeros(len(self.archs)),
            np.zeros(len(self.bes)),
        ])
        self.sigma = np.concatenate([
            [SIGMA["attn"] if k[1] == "attn" else SIGMA["disk"] if k[1] == "disk" else SIGMA["eff"]
             for k in self.eff_keys],
            np.full(len(self.devs), SIGMA["device"]),
            np.full(len(self.fams), SIGMA["fixed"]), np.full(len(self.frts), SIGMA["fixed_rt"]),
            [SIGMA["hybrid"], SIGMA["hop"], SIGMA["legacy"]], np.full(len(self.links), SIGMA["tp"]),
            np.full(len(self.rts), SIGMA["runtime"]), np.full(len(self.mats), SIGMA["maturity"]),
            np.full(len(self.archs), SIGMA["arch"]), np.full(len(self.bes), SIGMA["fixed_backend"])])

    def split(self, th: np.ndarray):
        i = 0
        out = []
        for n in self.sizes:
            out.append(np.exp(th[i:i + n]))
            i += n
        return out

    @staticmethod
    def _pick(values: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.where(index >= 0, np.concatenate([values, [1.0]])[index], 1.0)

    def _parts(self, th: np.ndarray):
        eff, dev, fixed, frt, hyb, hop, leg, tp, rt, mat, arch, be = self.split(th)
        n = len(self.samples)
        fixed_t = (fixed[self.lead] * self._pick(frt, self.rt) * (1.0 + self.legacy * (leg[0] - 1.0))
                   * self._pick(be, self.be))
        pool_t = self.p_c / (eff[self.p_e] * self._pick(dev, self.p_d))
        body = np.bincount(self.p_row, weights=pool_t, minlength=n)
        T = fixed_t + body + self.hybrid * hyb[0] + self.hops * hop[0]
        tp_t = self.tp[:, :len(self.links)] * tp if len(self.links) else np.zeros((n, 0))
        T = T + tp_t.sum(axis=1)
        scale = self._pick(rt, self.rt) / self._pick(mat, self.mat) / self._pick(arch, self.arch)
        return T, scale, fixed_t, pool_t, hyb, hop, tp_t

    def predict(self, th: np.ndarray) -> np.ndarray:
        T, scale, *_ = self._parts(th)
        return T * scale

    def residual(self, th: np.ndarray) -> np.ndarray:
        r = (np.log(self.predict(th)) - np.log(self.t_meas)) * self.w
        return np.concatenate([r, (th - self.prior) / self.sigma])

    def jacobian(self, th: np.ndarray) -> np.ndarray:
        T, _scale, fixed_t, pool_t, hyb, hop, tp_t = self._parts(th)
        n = len(self.samples)
        ne, nd, nf, nfr, _, _, _, nl, nr, nm, na, nb = self.sizes
        J = np.zeros((n, th.size))
        o = 0
        rel = pool_t / T[self.p_row]
        np.add.at(J, (self.p_row, o + self.p_e), -rel)
        o += ne
        m = self.p_d >= 0
        np.add.at(J, (self.p_row[m], o + self.p_d[m]), -rel[m])
        o += nd
        fr = fixed_t / T
        J[np.arange(n), o + self.lead] += fr
        o += nf
        has = self.rt >= 0
        J[np.arange(n)[has], o + self.rt[has]] += fr[has]
        o += nfr
        J[:, o] = self.hybrid * hyb[0] / T
        J[:, o + 1] = self.hops * hop[0] / T
        legf = np.exp(th[o + 2])
        J[:, o + 2] = np.where(self.legacy > 0, fr * legf / (1.0 + (legf - 1.0)), 0.0)
        o += 3
        for k in range(nl):
            J[:, o + k] = tp_t[:, k] / T
        o += nl
        J[np.arange(n)[has], o + self.rt[has]] += 1.0
        o += nr
        hm = self.mat >= 0
        J[np.arange(n)[hm], o + self.mat[hm]] -= 1.0
        o += nm
        ha = self.arch >= 0
        J[np.arange(n)[ha], o + self.arch[ha]] -= 1.0
        o += na
        hb = self.be >= 0
        J[np.arange(n)[hb], o + self.be[hb]] += fr[hb]
        J *= self.w[:, None]
        return np.vstack([J, np.diag(1.0 / self.sigma)])

    def to_calibration(self, th: np.ndarray, base: Calibration) -> Calibration:
        eff, dev, fixed, frt, hyb, hop, leg, tp, rt, mat, arch, be = self.split(th)
        meta = dict(base.meta)
        counts: dict[str, dict[str, int]] = {"device": {}, "family": {}, "runtime": {}}
        for s in self.samples:
            for group, key in (("device", s.device), ("family", _lead(s.pools)), ("runtime", s.runtime)):
                if key:
                    counts[group][key] = counts[group].get(key, 0) + 1
        meta["rows_by"] = {g: dict(sorted(c.items())) for g, c in counts.items()}
        return replace(
            base,
            eff={**base.eff, **{k: float(v) for k, v in zip(self.eff_keys, eff)}},
            device_eff={k: float(v) for k, v in zip(self.devs, dev)},
            arch_eff={k: float(v) for k, v in zip(self.archs, arch)},
            fixed_backend={k: float(v) for k, v in zip(self.bes, be)},
            fixed_s={**base.fixed_s, **{k: float(v) for k, v in zip(self.fams, fixed)}},
            fixed_rt={k: float(v) for k, v in zip(self.frts, frt)},
            hybrid_s=float(hyb[0]), hop_s=float(hop[0]), legacy_fixed=float(leg[0]),
            tp_s={**base.tp_s, **{k: float(v) for k, v in zip(self.links, tp)}},
            runtime={**base.runtime, **{k: float(v) for k, v in zip(self.rts, rt)}},
            maturity={**base.maturity, **{k: float(v) for k, v in zip(self.mats, mat)}},
            meta=meta)


def fit_decode(samples: list[Sample], base: Calibration = DEFAULT) -> Calibration:
    samples = [s for s in samples if s.decode_tok_s and s.pools]
    if not samples:
        return base
    d = _DecodeDesign(samples)
    th = _lm(d.residual, d.prior.copy(), jac=d.jacobian)
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
    devs = sorted({s.device for s in samples if s.device})
    bes = sorted({s.backend for s in samples if s.backend})
    nf, nr, nd, nb = len(fams), len(rts), len(devs), len(bes)
    bi = np.array([bes.index(s.backend) if s.backend else -1 for s in samples])
    C = np.array([s.prefill_flops_per_token / s.peak_flops for s in samples])
    O = np.array([(s.offloaded_bytes / s.link_bandwidth / 512) if s.offloaded_bytes and s.link_bandwidth else 0.0
                  for s in samples])
    fi = np.array([fams.index(s.prefill_family) for s in samples])
    ri = np.array([rts.index(s.runtime) if s.runtime in rts else -1 for s in samples])
    di = np.array([devs.index(s.device) if s.device in devs else -1 for s in samples])
    mat = np.array([base.maturity.get(s.maturity, 1.0) for s in samples])
    t_meas = np.array([1.0 / s.prefill_tok_s for s in samples])
    w = _weights(samples) / RESID_SIGMA
    prior = np.concatenate([np.log([PRIOR_PREFILL_EFF.get(f, 0.3) for f in fams]), np.zeros(nr), np.zeros(nd),
                            np.zeros(nb), [math.log(0.7)]])
    sigma = np.concatenate([np.full(nf, SIGMA["prefill_eff"]), np.full(nr, SIGMA["prefill_runtime"]),
                            np.full(nd, SIGMA["prefill_device"]), np.full(nb, SIGMA["prefill_backend"]), [SIGMA["pcie"]]])

    def pick(v, idx):
        return np.where(idx >= 0, np.concatenate([v, [1.0]])[idx], 1.0)

    def predict(th):
        eff = np.exp(th[:nf])[fi] * pick(np.exp(th[nf:nf + nr]), ri) * pick(np.exp(th[nf + nr:nf + nr + nd]), di)
        eff = eff * pick(np.exp(th[nf + nr + nd:nf + nr + nd + nb]), bi)
        pcie = math.exp(th[-1])
        return (C / eff + O / pcie) / mat

    def residual(th):
        return np.concatenate([(np.log(predict(th)) - np.log(t_meas)) * w, (th - prior) / sigma])

    n = len(samples)
    rows_n = np.arange(n)

    def jacobian(th):
        eff = np.exp(th[:nf])[fi] * pick(np.exp(th[nf:nf + nr]), ri) * pick(np.exp(th[nf + nr:nf + nr + nd]), di)
        eff = eff * pick(np.exp(th[nf + nr + nd:nf + nr + nd + nb]), bi)
        comp, link = C / eff, O / math.exp(th[-1])
        share = -comp / (comp + link)
        J = np.zeros((n, th.size))
        J[rows_n, fi] += share
        for idx, off in ((ri, nf), (di, nf + nr), (bi, nf + nr + nd)):
            m = idx >= 0
            J[rows_n[m], off + idx[m]] += share[m]
        J[:, -1] = -link / (comp + link)
        return np.vstack([J * w[:, None], np.diag(1.0 / sigma)])

    th = _lm(residual, prior.copy(), jac=jacobian)
    return replace(
        base,
        prefill_eff={**base.prefill_eff, **{f: float(math.exp(v)) for f, v in zip(fams, th[:nf])}},
        prefill_runtime={**base.prefill_runtime, **{r: float(math.exp(v)) for r, v in zip(rts, th[nf:nf + nr])}},
        prefill_device={d: float(math.exp(v)) for d, v in zip(devs, th[nf + nr:nf + nr + nd])},
        prefill_backend={b: float(math.exp(v)) for b, v in zip(bes, th[nf + nr + nd:nf + nr + nd + nb])},
        pcie_eff=float(math.exp(th[-1])))


def fit(samples: list[Sample], base: Calibration = DEFAULT) -> Calibration:
    """Decode and prefill constants fitted to ``samples`` (spreads left as in ``base``)."""
    return fit_prefill(samples, fit_decode(samples, base))
