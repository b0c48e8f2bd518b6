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

from . import (DEFAULT, GGML_RUNTIMES, HYBRID_MIN_BYTES, PRIOR_PREFILL_ATTN, prior_q_rows, PRIOR_PREFILL_BACKEND, PRIOR_PREFILL_M0, PRIOR_PREFILL_INTENSITY,
               PREFILL_READ_EFF, PrefillCase, PRIOR_ATTN_EFF, arch_key, PRIOR_EFF, PRIOR_FIXED_S, PRIOR_MATURITY, PRIOR_PREFILL_EFF,
                    PRIOR_TP_S, Calibration, PoolRead, spread_class)

SIGMA = {"eff": 0.5, "fixed": 1.0, "hybrid": 1.0, "hop": 1.5, "tp": 1.0, "runtime": 0.5,
         "maturity": 0.8, "legacy": 0.5, "prefill_eff": 0.8, "prefill_runtime": 0.6, "pcie": 0.5,
         # log-scale widths of the partial-pooling effects (a device's efficiency within
         # its family; a runtime's fixed cost; an architecture's factor within a runtime)
         "device": 0.3, "fixed_rt": 0.7, "fixed_backend": 0.7, "eff_backend": 0.3, "eff_driver": 0.3, "prefill_backend": 0.5, "arch": 0.3, "prefill_device": 0.4, "attn": 1.0,
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
    driver: str = ""              # speed.vulkan_driver: 'intel:mesa', 'amd:vendor', ... or ''
    prefill_case: PrefillCase | None = None


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
        self.drvs = sorted({s.driver for s in samples if s.driver})
        self.links = sorted({s.link for s in samples if s.parallel == "tensor"})
        n = len(samples)
        rows, coef, ei, di, bi, fl, vi = [], [], [], [], [], [], []
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
                bi.append(self.bes.index(s.backend) if s.backend and p.kind in ("gpu", "unified") else -1)
                vi.append(self.drvs.index(s.driver) if s.driver and p.kind in ("gpu", "unified") else -1)
                fl.append(p.floor_s)
                if p.flops_per_token and p.peak_flops:
                    rows.append(i)
                    coef.append(p.flops_per_token / p.peak_flops)
                    ei.append(self.eff_keys.index((p.family, "attn")))
                    di.append(-1)
                    bi.append(-1)
                    vi.append(-1)
                    fl.append(0.0)
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
        self.p_b = np.array(bi, dtype=int)
        self.p_v = np.array(vi, dtype=int)
        # the CPU threads' least time per token of a pool (speed.cpu): a read term below it
        # does not count, and its efficiency gets no pull from that row
        self.p_floor = np.array(fl)
        self.t_meas = np.array([1.0 / s.decode_tok_s for s in samples])
        self.w = _weights(samples) / RESID_SIGMA
        self.sizes = (len(self.eff_keys), len(self.devs), len(self.fams), len(self.frts), 1, 1, 1, len(self.links),
                      len(self.rts), len(self.mats), len(self.archs), len(self.bes), len(self.bes), len(self.drvs))
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
            np.zeros(len(self.bes)),
            np.zeros(len(self.drvs)),
        ])
        self.sigma = np.concatenate([
            [SIGMA["attn"] if k[1] == "attn" else SIGMA["disk"] if k[1] == "disk" else SIGMA["eff"]
             for k in self.eff_keys],
            np.full(len(self.devs), SIGMA["device"]),
            np.full(len(self.fams), SIGMA["fixed"]), np.full(len(self.frts), SIGMA["fixed_rt"]),
            [SIGMA["hybrid"], SIGMA["hop"], SIGMA["legacy"]], np.full(len(self.links), SIGMA["tp"]),
            np.full(len(self.rts), SIGMA["runtime"]), np.full(len(self.mats), SIGMA["maturity"]),
            np.full(len(self.archs), SIGMA["arch"]), np.full(len(self.bes), SIGMA["fixed_backend"]),
            np.full(len(self.bes), SIGMA["eff_backend"]), np.full(len(self.drvs), SIGMA["eff_driver"])])

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
        eff, dev, fixed, frt, hyb, hop, leg, tp, rt, mat, arch, be, bb, dv = self.split(th)
        n = len(self.samples)
        fixed_t = (fixed[self.lead] * self._pick(frt, self.rt) * (1.0 + self.legacy * (leg[0] - 1.0))
                   * self._pick(be, self.be))
        pool_t = np.maximum(self.p_c / (eff[self.p_e] * self._pick(dev, self.p_d) * self._pick(bb, self.p_b)
                                        * self._pick(dv, self.p_v)),
                            self.p_floor)
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
        ne, nd, nf, nfr, _, _, _, nl, nr, nm, na, nb, _, _ = self.sizes
        J = np.zeros((n, th.size))
        o = 0
        rel = np.where(pool_t > self.p_floor, pool_t, 0.0) / T[self.p_row]
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
        o += nb
        mb = self.p_b >= 0
        np.add.at(J, (self.p_row[mb], o + self.p_b[mb]), -rel[mb])
        o += nb
        mv = self.p_v >= 0
        np.add.at(J, (self.p_row[mv], o + self.p_v[mv]), -rel[mv])
        J *= self.w[:, None]
        return np.vstack([J, np.diag(1.0 / self.sigma)])

    def to_calibration(self, th: np.ndarray, base: Calibration) -> Calibration:
        eff, dev, fixed, frt, hyb, hop, leg, tp, rt, mat, arch, be, bb, dv = self.split(th)
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
            eff_backend={k: float(v) for k, v in zip(self.bes, bb)},
            eff_driver={k: float(v) for k, v in zip(self.drvs, dv)},
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
    c = s.prefill_case
    return bool(s.prefill_tok_s and c is not None and c.matrix_peak and c.peak_flops and c.gemm_flops > 0
                and s.meta.get("prefill_fit", True))


# Prior widths (log scale) of the prefill hierarchy: a backend's efficiency is known to a
# factor of ~e from kernel to kernel; a vendor, family, device or runtime moves it less.
PREFILL_SIGMA = {"backend": 1.0, "vendor": 0.5, "family": 0.4, "device": 0.4, "runtime": 0.6, "float": 0.8,
                 "q_rows": 1.0, "attn": 1.0, "attn_backend": 0.7, "m0": 1.0, "pcie": 0.5, "intensity": 1.5,
                 "driver": 0.7}


class _PrefillDesign:
    """The prefill samples as arrays: each multiplicative group (backend, vendor, family,
    device, runtime, float-weights factor) scales the GEMM terms, the attention groups the
    attention term, m0 the batch penalty and pcie the link term."""

    GROUPS = ("backend", "vendor", "family", "device", "runtime", "float", "attn_backend", "driver")

    def __init__(self, samples: list[Sample], base: Calibration):
        self.samples = samples
        cases = [s.prefill_case for s in samples]
        keyf = {"backend": lambda c: c.backend_key, "vendor": lambda c: c.vendor, "family": lambda c: c.family,
                "device": lambda c: c.device, "runtime": lambda c: c.runtime if c.runtime != "llama.cpp" else "",
                "float": lambda c: c.float_key if c.float_weights else "",
                "attn_backend": lambda c: c.backend_key if c.attn_flops else "",
                "driver": lambda c: c.driver}
        self.keys, self.idx = {}, {}
        for g in self.GROUPS:
            ks = sorted({keyf[g](c) for c in cases} - {""})
            self.keys[g] = ks
            self.idx[g] = np.array([ks.index(keyf[g](c)) if keyf[g](c) in ks else -1 for c in cases], dtype=int)
        # the query rows one pass over the KV cache serves, per backend (attention's cache traffic)
        qk = [c.backend_key if c.attn_flops and c.bandwidth_bytes_s and c.runtime in GGML_RUNTIMES else ""
              for c in cases]
        self.q_keys = sorted(set(qk) - {""})
        self.q_idx = np.array([self.q_keys.index(k) if k else -1 for k in qk], dtype=int)
        self.sizes = ([len(self.keys[g]) for g in self.GROUPS] + [1, 1, 1, 1]   # + attn global, m0, pcie, intensity
                      + [len(self.q_keys)])
        n = len(cases)
        self.K = np.array([c.attn_flops / (c.bandwidth_bytes_s * PREFILL_READ_EFF) if c.attn_flops and c.bandwidth_bytes_s
                           else 0.0 for c in cases])
        self.G = np.array([c.gemm_flops / c.matrix_peak for c in cases])
        self.Es = np.array([c.expert_share for c in cases])
        self.B = np.array([float(c.batch) for c in cases])
        self.Be = np.array([c.expert_batch for c in cases])
        self.A = np.array([c.attn_flops / c.peak_flops for c in cases])
        self.R = np.array([(c.weights_bytes / c.batch / (c.bandwidth_bytes_s * PREFILL_READ_EFF))
                           if c.weights_bytes and c.bandwidth_bytes_s else 0.0 for c in cases])
        self.O = np.array([(c.offloaded_bytes / c.link_bandwidth_bytes_s / 512)
                           if c.offloaded_bytes and c.link_bandwidth_bytes_s else 0.0 for c in cases])
        self.M = np.array([c.gemm_flops / c.bandwidth_bytes_s if c.bandwidth_bytes_s else 0.0 for c in cases])
        self.mat = np.array([base.maturity.get(c.maturity, 1.0) for c in cases])
        self.t_meas = np.array([1.0 / s.prefill_tok_s for s in samples])
        self.w = _weights(samples) / RESID_SIGMA
        prior = {"backend": math.log(PRIOR_PREFILL_BACKEND)}
        self.prior = np.concatenate([np.full(len(self.keys[g]), prior.get(g, 0.0)) for g in self.GROUPS]
                                    + [[math.log(PRIOR_PREFILL_ATTN), math.log(PRIOR_PREFILL_M0), math.log(0.7),
                                        math.log(PRIOR_PREFILL_INTENSITY)]]
                                    + [np.log([prior_q_rows(k) for k in self.q_keys])])
        self.sigma = np.concatenate([np.full(len(self.keys[g]), PREFILL_SIGMA[g]) for g in self.GROUPS]
                                    + [[PREFILL_SIGMA["attn"], PREFILL_SIGMA["m0"], PREFILL_SIGMA["pcie"],
                                        PREFILL_SIGMA["intensity"]]]
                                    + [np.full(len(self.q_keys), PREFILL_SIGMA["q_rows"])])
        self.n = n

    def split(self, th):
        out, i = {}, 0
        for g, k in zip(self.GROUPS + ("attn", "m0", "pcie", "intensity", "q_rows"), self.sizes):
            out[g] = th[i:i + k]
            i += k
        return out

    @staticmethod
    def _pick(logv, idx):
        return np.where(idx >= 0, np.concatenate([logv, [0.0]])[idx], 0.0)

    def parts(self, th):
        p = self.split(th)
        log_e = sum(self._pick(p[g], self.idx[g]) for g in ("backend", "vendor", "family", "device", "runtime",
                                                             "float", "driver"))
        e = np.exp(log_e)
        m0 = math.exp(p["m0"][0])
        gd = self.G * (1 - self.Es) / e * (self.B + m0) / self.B
        ge = self.G * self.Es / e * (self.Be + m0) / self.Be
        ae = np.exp(p["attn"][0] + self._pick(p["attn_backend"], self.idx["attn_backend"]))
        at = self.A / ae
        ln = self.O / math.exp(p["pcie"][0])
        mem = self.M / math.exp(p["intensity"][0])
        kvt = np.where(self.q_idx >= 0, self.K / np.exp(np.concatenate([p["q_rows"], [0.0]])[self.q_idx]), 0.0)
        return gd, ge, at + kvt, self.R + mem, ln, m0, mem, kvt

    def predict(self, th):
        gd, ge, at, rd, ln, _, _, _ = self.parts(th)
        return (gd + ge + at + rd + ln) / self.mat

    def residual(self, th):
        r = (np.log(self.predict(th)) - np.log(self.t_meas)) * self.w
        return np.concatenate([r, (th - self.prior) / self.sigma])

    def jacobian(self, th):
        gd, ge, at, rd, ln, m0, mem, kvt = self.parts(th)
        T = gd + ge + at + rd + ln
        at = at - kvt                     # the compute part, which the attention groups scale
        J = np.zeros((self.n, th.size))
        rows = np.arange(self.n)
        o = 0
        for g, k in zip(self.GROUPS, self.sizes):
            idx = self.idx[g]
            m = idx >= 0
            share = (at / T) if g == "attn_backend" else ((gd + ge) / T)
            J[rows[m], o + idx[m]] -= share[m]
            o += k
        J[:, o] = -at / T
        J[:, o + 1] = (gd * m0 / (self.B + m0) + ge * m0 / (self.Be + m0)) / T
        J[:, o + 2] = -ln / T
        J[:, o + 3] = -mem / T
        o += 4
        m = self.q_idx >= 0
        J[rows[m], o + self.q_idx[m]] -= (kvt / T)[m]
        return np.vstack([J * self.w[:, None], np.diag(1.0 / self.sigma)])

    def to_calibration(self, th, base: Calibration) -> Calibration:
        p = self.split(th)
        d = {g: {k: float(math.exp(v)) for k, v in zip(self.keys[g], p[g])} for g in self.GROUPS}
        cal = replace(
            base, prefill_backend=d["backend"], prefill_vendor=d["vendor"], prefill_family=d["family"],
            prefill_device=d["device"], prefill_runtime={**base.prefill_runtime, **d["runtime"]},
            prefill_float=d["float"], prefill_driver=d["driver"],
            prefill_attn={"": float(math.exp(p["attn"][0])),
                          **{k: float(math.exp(p["attn"][0] + v)) for k, v in zip(self.keys["attn_backend"],
                                                                                  p["attn_backend"])}},
            prefill_m0=float(math.exp(p["m0"][0])), pcie_eff=float(math.exp(p["pcie"][0])),
            prefill_intensity=float(math.exp(p["intensity"][0])),
            prefill_q_rows={k: float(math.exp(v)) for k, v in zip(self.q_keys, p["q_rows"])})
        # one summary figure per family for callers that need one share of a device's tensor
        # peak (plan/check/cluster.py's TTFT): what a dense prompt at a full micro-batch reaches
        # of the matrix peak it runs at, the geometric mean over that family's rows
        from . import prefill_efficiency
        by: dict[str, list[float]] = {}
        for s in self.samples:
            c = s.prefill_case
            full = c.batch / (c.batch + cal.prefill_m0)
            by.setdefault(c.family, []).append(math.log(prefill_efficiency(c, cal) * full))
        summary = {f: float(math.exp(sum(v) / len(v))) for f, v in sorted(by.items())}
        counts: dict[str, dict[str, int]] = {"device": {}, "family": {}, "backend": {}}
        for s in self.samples:
            c = s.prefill_case
            for g, k in (("device", c.device), ("family", c.family), ("backend", c.backend_key)):
                if k:
                    counts[g][k] = counts[g].get(k, 0) + 1
        meta = {**cal.meta, "prefill_rows_by": {g: dict(sorted(v.items())) for g, v in counts.items()}}
        return replace(cal, prefill_eff={**base.prefill_eff, **summary}, meta=meta)


def prefill_key(s: Sample) -> tuple:
    """One prefill measurement: sources that list decode at several contexts repeat the one
    prefill figure of that run on every row (lhl/strix-halo-testing, the Orion-zhen
    llama-bench dashboard); the fit and the accuracy report count it once."""
    c = s.prefill_case
    r = s.meta.get("row")
    return (s.setup, s.source, getattr(r, "prefill_tokens", None), getattr(r, "version", ""), round(c.attn_flops, -6),
            s.prefill_tok_s)


def unique_prefill(samples: list) -> list:
    """``samples`` (or objects with an ``s`` Sample) with repeated prefill figures dropped."""
    seen, out = set(), []
    for x in samples:
        k = prefill_key(getattr(x, "s", x))
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


def fit_prefill(samples: list[Sample], base: Calibration) -> Calibration:
    samples = unique_prefill([s for s in samples if _prefill_ok(s)])
    if not samples:
        return base
    d = _PrefillDesign(samples, base)
    th = _lm(d.residual, d.prior.copy(), jac=d.jacobian)
    return d.to_calibration(th, base)


def fit(samples: list[Sample], base: Calibration = DEFAULT) -> Calibration:
    """Decode and prefill constants fitted to ``samples`` (spreads left as in ``base``)."""
    return fit_prefill(samples, fit_decode(samples, base))
