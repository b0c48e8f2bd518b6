"""Fuzz campaign against the rigcheck CLI (issue 14): hostile and clumsy input, through
the real entry point, with a time and memory budget per input.

    python bench/fuzz.py                    # 3 minutes, seed 1
    python bench/fuzz.py --minutes 10 --seed 7 --save /tmp/fuzz-failures

Categories, each input one command line run by ``rigcheck.cli.main`` in a worker process:
  gguf         mutated bytes of real GGUF files (the synthetic llama, MoE, MLA and gemma3
               writers of tests/synth.py: files llama.cpp loads): flipped bytes, counts and
               lengths overwritten with edge values, truncation, inserted bytes
  safetensors  headers built to the format, then damaged: wrong types, huge or negative
               shapes and offsets, names twice, bad lengths, nesting; some beside a config.json
  config       catalogue config.json files with values replaced by hostile ones
  rig          rig specs (words of the spec language, edge numbers, random text)
  cli          command lines: numbers, build specs, placements, runtimes, model ids with
               control characters or 100 KB long
  store        the results store (measurements.db, written by the store's own API) with
               flipped bytes, cut short, random pages, a newer or negative schema version, or
               hostile values in its rows, under check, estimate and bench --list

A worker (a child Python that imports rigcheck once) runs one input at a time under
RLIMIT_AS (4 GiB, a backstop) and reports the exit status, the seconds and the peak
resident memory of that input (VmHWM, reset before each input through
/proc/self/clear_refs). A failure is: exit status 1 (internal error), an exception out
of main (a traceback), more than 5 s, more than 500 MB, a worker that died, or an error
message of more than one line. It prints inputs tried per category, exit-status counts
and every failure, and stops by itself after --minutes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

LIMIT_S = 5.0
LIMIT_MB = 500
HARD_KILL_S = 30.0

# ---- the worker ------------------------------------------------------------------------------

WORKER = r'''
import contextlib, io, json, os, resource, sys, time, traceback
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
from rigcheck.cli import main

def hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return 0.0

def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass

print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    argv = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    reset_hwm()
    t = time.monotonic()
    tb = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except BaseException as e:
        rc = "exception"
        tb = traceback.format_exc()[-1500:]
    print(json.dumps({"rc": rc, "s": time.monotonic() - t, "mb": hwm_mb(), "err": err.getvalue()[-2000:],
                      "tb": tb}), flush=True)
'''


class Worker:
    def __init__(self, env):
        self.env = env
        self.p = None

    def start(self):
        self.p = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, env=self.env, cwd=ROOT)
        self._read(120)

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        line = self.p.stdout.readline()
        return json.loads(line) if line else None

    def run(self, argv):
        if self.p is None or self.p.poll() is not None:
            self.start()
        self.p.stdin.write(json.dumps(argv) + "\n")
        self.p.stdin.flush()
        res = self._read(HARD_KILL_S)
        if res is None:
            self.stop()
            return {"rc": "killed", "s": HARD_KILL_S, "mb": 0, "err": "", "tb": None}
        return res

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.p = None


# ---- inputs ----------------------------------------------------------------------------------

EDGE_U64 = [0, 1, 2, 3, 255, 4096, 4097, 65536, 10**6, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1,
            2**63, 2**64 - 1]
EDGE_JSON = [None, True, False, 0, -1, 1, 2**31, 2**63, 2**64, -2**63, 1e308, -1e308, 0.5, "4096", "", "abc",
             [], {}, [1, 2], {"a": 1}, "\n\x1b[31m", "x" * 300, [[[[[]]]]]]


def seeds(tmp) -> list[str]:
    import synth
    out = [synth.write_llama(os.path.join(tmp, "llama.gguf"), n_layer=2, n_embd=64, n_ff=128, n_head=4,
                             n_head_kv=2, n_vocab=300),
           synth.write_qwen3moe(os.path.join(tmp, "moe.gguf"), n_layer=2, n_embd=64, n_ff_exp=64, n_expert=4),
           synth.write_deepseek2(os.path.join(tmp, "mla.gguf"), n_layer=2, n_embd=64, n_ff=128, n_ff_exp=64),
           synth.write_gemma3(os.path.join(tmp, "gemma3.gguf"), n_layer=2, n_embd=64, n_ff=128)]
    return out


def _header_end(path) -> int:
    from rigcheck.model.sources.gguf import read_header
    return read_header(path).data_offset


def mutate_gguf(rng: random.Random, data: bytes, end: int) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(0, max(1, min(end, len(b))))
        op = rng.random()
        if op < 0.35:
            b[at] = rng.randrange(256)
        elif op < 0.6:
            b[at:at + 8] = struct.pack("<Q", rng.choice(EDGE_U64))
        elif op < 0.75:
            b[at:at + 4] = struct.pack("<I", rng.choice(EDGE_U64) % 2**32)
        elif op < 0.85:
            del b[at:at + rng.randint(1, 64)]
        elif op < 0.93:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            del b[at:]
            break
    return bytes(b)


def gen_gguf(rng, tmp, state):
    src = rng.choice(state["seeds"])
    data, end = state["bytes"][src]
    p = os.path.join(tmp, "in.gguf")
    with open(p, "wb") as f:
        f.write(mutate_gguf(rng, data, end))
    cmd = rng.choice([["info", p], ["size", p], ["memory", p, "--rig", "rtx-4090", "--ctx", "4096"],
                      ["memory", p, "--rig", "rtx-4090"], ["check", p, "--rig", "rtx-4090+64GB"]])
    return cmd, {"file": p}


def _json_value(rng, depth=0):
    if depth > 3 or rng.random() < 0.6:
        return rng.choice(EDGE_JSON)
    if rng.random() < 0.5:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {str(rng.randint(0, 9)): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def gen_safetensors(rng, tmp, state):
    d = os.path.join(tmp, "st")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    names = ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
             "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.experts.0.up_proj.weight",
             "model.layers.99999999.mlp.down_proj.weight", "a\nb\x1b[2J", "x" * 300]
    entries, off = {}, 0
    for _ in range(rng.randint(0, 6)):
        shape = [rng.choice([0, 1, 2, 64, 2**20, 2**40, -1]) for _ in range(rng.randint(0, 3))]
        dtype = rng.choice(["F16", "BF16", "F32", "F8_E4M3", "F4", "I8", "Q4", "", 5])
        n = 2
        for s in shape:
            n *= max(s, 0)
        e = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + min(n, 64)]}
        off += min(n, 64)
        if rng.random() < 0.3:
            e[rng.choice(list(e))] = _json_value(rng)
        entries[rng.choice(names)] = e
    raw = json.dumps(entries).encode()
    r = rng.random()
    if r < 0.1:
        raw = raw.replace(b'"lm_head.weight"', b'"model.norm.weight"')    # a name twice
    elif r < 0.15:
        raw = b"[" * 50_000 + b"]" * 50_000
    elif r < 0.25 and raw:
        raw = raw[:rng.randrange(len(raw))]
    declared = len(raw) if rng.random() < 0.85 else rng.choice(EDGE_U64)
    data = struct.pack("<Q", declared) + raw + b"\0" * (off if rng.random() < 0.8 else rng.randint(0, 64))
    p = os.path.join(d, "model.safetensors")
    with open(p, "wb") as f:
        f.write(data)
    if rng.random() < 0.3:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(rng.choice(state["configs"]), f)
    cmd = rng.choice([["info", p], ["size", p], ["info", d], ["memory", d, "--rig", "rtx-4090"]])
    return cmd, {"file": p}


def gen_config(rng, tmp, state):
    cfg = json.loads(json.dumps(rng.choice(state["configs"])))
    target = cfg["text_config"] if isinstance(cfg.get("text_config"), dict) and rng.random() < 0.5 else cfg
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(sorted(target) + ["sliding_window", "head_dim", "num_experts", "layer_types"])
        if rng.random() < 0.15:
            target.pop(key, None)
        else:
            v = target.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and rng.random() < 0.5:
                target[key] = rng.choice([v * 2 + 1, v - 1, -v, v * 10**6, v // 3, 0])
            else:
                target[key] = _json_value(rng)
    p = os.path.join(tmp, "config.json")
    with open(p, "w") as f:
        json.dump(cfg, f)
    cmd = rng.choice([["info", p], ["size", p, "--build", "Q4_K_M"], ["memory", p, "--rig", "rtx-4090"],
                      ["check", p, "--rig", "rtx-4090+64GB"]])
    return cmd, {"file": p}


RIG_WORDS = ["rtx-4090", "rtx-5090", "rtx-3090", "h100", "2x", "8x", "1025x", "m4-max-128", "strix-halo-128",
             "2 nodes x", "64GB", "128GB", "1.5TB", "0GB", "9" * 40 + "GB", "ddr5-6000", "ddr4-3200x8", "ddr5-99999",
             "cpu-only", "nvlink4", "ib-400g", "tb5", "xeon-gold-6138", "+", " ", "rtx", "4090", "tier-128-unified",
             "\x1b[2J", "\n"]


def gen_rig(rng, tmp, state):
    if rng.random() < 0.8:
        spec = "".join(rng.choice(RIG_WORDS) + rng.choice(["", " ", "+"]) for _ in range(rng.randint(1, 5)))
    else:
        spec = "".join(chr(rng.randrange(32, 0x250)) for _ in range(rng.randint(1, 40)))
    # (an empty --rig means "this machine": detection and a bandwidth measurement, not parsing)
    cmd = rng.choice([["memory", "llama-3.1-8b-instruct", "--build", "Q4_K_M", "--rig", spec],
                      ["estimate", "qwen3-30b-a3b", "--build", "Q4_K_M", "--rig", spec], ["rig", spec]])
    return cmd, {}


NUMBERS = ["0", "-1", "1", "4096", "1e9", "9" * 400, "nan", "inf", "0x10", "", " ", "1.5", "2147483648",
           "99999999999999999999"]
SIZES = ["24GB", "0GB", "9" * 400 + "GB", "99999999TB", "1.5TB", "24", "GB", "-24GB", "24 GiB", "0.0000001GB",
         "1e3GB", "\x1b[31m24GB"]
BUILDS = ["Q4_K_M", "experts=Q8_1", "experts=IQ2_XS,default=Q8_0", "default=Q8_K", "bogus", "=", ",", "attn=",
          "native", "mlx-4bit", "IQ2_XS-XL", "file", "x" * 500, "experts=q4_k,experts=q8_0"]
MODELS = ["llama-3.1-8b-instruct", "qwen3-30b-a3b", "deepseek-v4-flash", "llama\x1b[31m", "m" * 100_000,
          "gpt-oss-20b", " ", "/dev/zero", "/", "/nonexistent/x.gguf", "a\nb"]   # ("" is every model)


def gen_cli(rng, tmp, state):
    model = rng.choice(MODELS)
    cmd = rng.choice(["memory", "size", "estimate", "check", "info", "tiers"])
    argv = [cmd, model]
    if cmd in ("memory", "size", "estimate") or rng.random() < 0.3:
        argv += ["--build", rng.choice(BUILDS)]
    if cmd in ("memory", "estimate", "check", "tiers") and rng.random() < 0.7:
        argv += ["--ctx", rng.choice(NUMBERS)]
    if cmd == "memory":
        if rng.random() < 0.5:
            argv += ["--vram", rng.choice(SIZES), "--ram", rng.choice(SIZES)]
        else:
            argv += ["--rig", "rtx-4090"]
        if rng.random() < 0.4:
            argv += [rng.choice(["--parallel", "--ubatch"]), rng.choice(NUMBERS)]
    if cmd == "estimate":
        argv += ["--rig", "rtx-4090+64GB", "--offload",
                 rng.choice(["bogus", "auto", "experts=ram:1/0", "layers=ram:3/2", "split", "experts=ram:36/48"])]
    if cmd in ("check", "estimate", "memory") and rng.random() < 0.3:
        argv += ["--runtime", rng.choice(["llama.cpp", "vllm", "bogus", "mlx", "ds4"])]
    if cmd == "check" and "--rig" not in argv:
        argv += ["--rig", "rtx-4090+64GB"]
    return argv, {}


def _store_seed(tmp) -> bytes:
    """A real measurements.db written through rigcheck's store API: a few runs and samples."""
    from rigcheck.measure import store
    path = os.path.join(tmp, "seed.db")
    conn = store.connect(path)
    for r in range(4):
        rid = store.start_run(conn, kind="server", target="http://127.0.0.1:1", model=f"m{r}",
                              model_id=["llama-3.1-8b-instruct", "qwen3-30b-a3b"][r % 2], runtime="llama.cpp",
                              prefill_tokens=64, decode_tokens=64, repeats=3)
        for i in range(3):
            store.add_sample(conn, rid, decode_tok_s=40.0 + i, ttft_s=0.1, tokens=64)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(path, "rb") as f:
        return f.read()


STORE_VALUES = ["1e999", "-1", "0", "'x'", "NULL", "9e18", "x'00ff'", "'\n\x1b[31m'", "-9e18", "1e-300"]


def gen_store(rng, tmp, state):
    """The store in RIGCHECK_HOME, damaged one way, then a command that reads it."""
    import sqlite3
    home = os.environ["RIGCHECK_HOME"]
    db = os.path.join(home, "measurements.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    data = bytearray(state["store"])
    how = rng.choice(["flip", "cut", "page", "version", "values", "values", "empty"])
    if how == "flip":
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == "cut":
        data = data[:rng.randrange(len(data))]
    elif how == "page":
        at = rng.randrange(0, len(data), 512)
        data[at:at + 512] = bytes(rng.randrange(256) for _ in range(512))
    elif how == "empty":
        data = bytearray()
    with open(db, "wb") as f:
        f.write(data)
    if how in ("version", "values"):
        conn = sqlite3.connect(db)
        if how == "version":
            conn.execute(f"PRAGMA user_version = {rng.choice([-1, 0, 2, 99, 2**31 - 1])}")
        else:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            table = rng.choice(tables)
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            col = rng.choice(cols)
            try:            # (the schema's own constraints refuse some values: then the store is intact)
                conn.execute(f"UPDATE {table} SET {col} = {rng.choice(STORE_VALUES)}")
            except sqlite3.Error:
                pass
        conn.commit()
        conn.close()
    cmd = rng.choice([["check", "llama-3.1-8b-instruct", "--rig", "rtx-4090+64GB"],
                      ["estimate", "qwen3-30b-a3b", "--build", "Q4_K_M", "--rig", "rtx-4090+64GB"],
                      ["bench", "--list"], ["bench", "--list", "--json"]])
    return cmd, {"file": db}


REFERENCE = ["check", "deepseek-v4-flash", "--rig", "rtx-4090+64GB"]
CATEGORIES = {"gguf": gen_gguf, "safetensors": gen_safetensors, "config": gen_config, "rig": gen_rig, "cli": gen_cli,
              "store": gen_store}


# ---- the campaign ----------------------------------------------------------------------------

def failure_of(res) -> str | None:
    rc = res["rc"]
    if rc == "killed":
        return f"no answer within {HARD_KILL_S:.0f} s (killed)"
    if rc == "exception":
        return "exception out of main: " + (res.get("tb") or "").strip().splitlines()[-1]
    if rc == 1:
        return "status 1: " + res["err"].strip()[:300]
    if res["s"] > LIMIT_S:
        return f"took {res['s']:.1f} s (limit {LIMIT_S:.0f} s)"
    if res["mb"] > LIMIT_MB:
        return f"peak memory {res['mb']:.0f} MB (limit {LIMIT_MB} MB)"
    if rc == 2 and res["err"].count("\n") > 1:
        return "error of several lines: " + repr(res["err"][:200])
    return None


def show(argv) -> str:
    from rigcheck.text import shown
    return " ".join(shown(a, 60) for a in argv)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="how long to run (default 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=sorted(CATEGORIES), action="append", help="run only these categories")
    ap.add_argument("--save", metavar="DIR", help="copy each failing input file here")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="rigcheck-fuzz-")
    env = dict(os.environ, RIGCHECK_HOME=os.path.join(tmp, "home"), HF_HUB_OFFLINE="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    os.makedirs(env["RIGCHECK_HOME"])
    os.environ["RIGCHECK_HOME"] = env["RIGCHECK_HOME"]
    from rigcheck.model.catalog import all_cards
    state = {"seeds": seeds(tmp), "configs": [c.config for c in all_cards()]}
    state["bytes"] = {p: (open(p, "rb").read(), _header_end(p)) for p in state["seeds"]}
    state["store"] = _store_seed(tmp)
    rng = random.Random(args.seed)
    cats = args.only or sorted(CATEGORIES)
    tried: collections.Counter = collections.Counter()
    codes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    slowest: dict[str, float] = collections.defaultdict(float)
    peak: dict[str, float] = collections.defaultdict(float)
    failures = []
    worker = Worker(env)
    end = time.monotonic() + args.minutes * 60
    print(f"rigcheck fuzz: seed {args.seed}, {args.minutes:g} min, categories {', '.join(cats)}; "
          f"limits {LIMIT_S:.0f} s and {LIMIT_MB} MB per input; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs", flush=True)
    ref = [worker.run(REFERENCE)["s"] for _ in range(2)][-1]
    print(f"reference: rigcheck {' '.join(REFERENCE)} takes {ref:.2f} s here (a well-formed input; "
          "timings above the limit near this figure are the machine's load, not the input)", flush=True)
    i = 0
    try:
        while time.monotonic() < end:
            cat = cats[i % len(cats)]
            i += 1
            work = os.path.join(tmp, cat)
            os.makedirs(work, exist_ok=True)
            cmd, info = CATEGORIES[cat](rng, work, state)
            res = worker.run(cmd)
            tried[cat] += 1
            codes[cat][str(res["rc"])] += 1
            slowest[cat] = max(slowest[cat], res["s"])
            peak[cat] = max(peak[cat], res["mb"])
            why = failure_of(res)
            if why:
                saved = ""
                if args.save and info.get("file"):
                    os.makedirs(args.save, exist_ok=True)
                    saved = os.path.join(args.save, f"{cat}-{tried[cat]}-{os.path.basename(info['file'])}")
                    shutil.copy(info["file"], saved)
                failures.append((cat, why, show(cmd), saved))
                print(f"FAIL {cat} #{tried[cat]}: {why}\n     rigcheck {show(cmd)}" + (f"\n     saved {saved}" if saved else ""),
                      flush=True)
            if cat == "store":      # the other categories run against no store, as on a fresh machine
                for suffix in ("", "-wal", "-shm", "-journal"):
                    if os.path.exists(info["file"] + suffix):
                        os.remove(info["file"] + suffix)
    finally:
        worker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'category':12s} {'inputs':>7s}  {'slowest':>8s} {'peak MB':>8s}  exit statuses")
    for cat in cats:
        st = ", ".join(f"{k}: {v}" for k, v in sorted(codes[cat].items()))
        print(f"{cat:12s} {tried[cat]:7d}  {slowest[cat]:7.2f}s {peak[cat]:8.0f}  {st}")
    print(f"{'total':12s} {sum(tried.values()):7d}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    crashes = [f for f in failures if not f[1].startswith(("took", "peak"))]
    print(f"failures: {len(failures)} ({len(crashes)} crashes or hangs, {len(failures) - len(crashes)} over the "
          "time or memory limit)")
    for cat, why, cmd, saved in failures:
        print(f"  {cat}: {why}  [rigcheck {cmd}]")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
