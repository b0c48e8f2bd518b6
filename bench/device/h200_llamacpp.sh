#!/usr/bin/env bash
# h200_llamacpp.sh -- one-shot llama.cpp speed measurement on a lent GPU machine (H200).
#
# Run from the repo root on the device machine:   bash bench/device/h200_llamacpp.sh
# (the `run` call must carry ".devwork": the trimmed llama.cpp source of llama-cpp-python
# 0.3.36 lives in .devwork/llama.cpp, git-ignored).
#
# What it does, every step under `timeout`, skipping what no longer fits in BUDGET_S
# (default 540 s) counted from the script's start:
#   1. records the machine: nvidia-smi, CPU model, RAM, disk, nvcc/cmake versions;
#   2. starts writing synthetic GGUF models in the background (bench/device/make_synth.py:
#      random-looking weights, exact shapes) into RAM (/dev/shm, or a tmpfs it mounts, or
#      /tmp as a last resort): Llama-3.1-8B shape Q4_0 and Q8_0, Qwen3-30B-A3B shape Q8_0;
#   3. builds llama-bench with CUDA for sm_90 only (Ninja, -j$(nproc)), finding cuBLAS in
#      the CUDA toolkit or, failing that, in the Python nvidia-cublas wheel;
#   4. runs llama-bench (-p 512 -n 128 -ngl 99 -fa 1 -r 3, jsonl) on each model, then
#      Qwen3-30B-A3B with every expert on the CPU (-ncmoe 48, -r 2), then Llama-8B Q4_0
#      on the CPU alone (-dev none -ngl 0 -t 16 -p 64 -n 32 -r 2), sampling nvidia-smi
#      (memory used, clocks, power) every 250 ms throughout.
# Results, merged after every step so that a timeout still returns what was measured:
#   $OUT/results.json   machine, build, synthetic models, one entry per llama-bench run
#                       (command, rc, wall seconds, llama-bench's rows, peak GPU memory)
#   $OUT/log.txt        everything printed;   $OUT/smi.csv   the nvidia-smi samples
# Locally (no $OUT) it writes to /tmp/h200_out. Nothing here needs the network.
# Dry run on a CPU machine (what was tested before the device run):
#   LB_PREBUILT=/path/to/cpu/llama-bench SYNTH_TINY=1 bash bench/device/h200_llamacpp.sh
#   CONFIGURE_ONLY=1 SYNTH_TINY=1 bash bench/device/h200_llamacpp.sh   (stops after cmake configure)
#   CUDA=OFF SYNTH_TINY=1 bash bench/device/h200_llamacpp.sh   (whole flow with a CPU-only build)
set -o pipefail
T0=$(date +%s)
BUDGET_S=${BUDGET_S:-540}
DEADLINE=$((T0 + BUDGET_S))
ROOT=$(pwd)
OUT=${OUT:-/tmp/h200_out}
mkdir -p "$OUT"
LOG="$OUT/log.txt"
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1
WORK=${WORK:-/tmp/rigcheck-dev}
rm -rf "$WORK/runs" "$WORK/synth.jsonl"   # a rerun on a warm machine keeps $WORK/build (incremental)
mkdir -p "$WORK/runs"
SRC="$ROOT/.devwork/llama.cpp"
BUILD="$WORK/build"
NPROC=$(nproc)
PY=${PY:-python3}

el() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( DEADLINE - $(date +%s) )); }
say() { echo "[$(el)s] $*"; }
# tmo WANT: a timeout no longer than WANT and ending 5 s before the deadline
tmo() { local l=$(( $(left) - 5 )); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
stamp() { date +"%Y/%m/%d %H:%M:%S.%3N"; }

say "start: $(date -u) root=$ROOT out=$OUT budget=${BUDGET_S}s nproc=$NPROC"
[ -d "$SRC/ggml/src/ggml-cuda" ] || { say "FATAL: $SRC missing (carry .devwork)"; exit 2; }
for d in /usr/local/cuda/bin /usr/local/cuda-13.0/bin; do [ -d "$d" ] && PATH="$PATH:$d"; done
export PATH

# ---------------------------------------------------------------- 1. machine facts
{
  echo "== nvidia-smi"; timeout 20 nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv
  timeout 20 nvidia-smi --query-gpu=clocks.max.sm,driver_version,power.limit,pcie.link.gen.max,pcie.link.width.max,compute_cap --format=csv
  echo "== nvidia-smi -q (clocks/memory)"; timeout 20 nvidia-smi -q -d CLOCK,MEMORY | head -60
  echo "== lscpu"; lscpu
  echo "== meminfo"; head -5 /proc/meminfo
  echo "== df"; df -h / /tmp /dev/shm 2>/dev/null
  echo "== tools"; which nvcc cmake ninja gcc g++ "$PY"; nvcc --version | tail -2; cmake --version | head -1; ninja --version; gcc --version | head -1; "$PY" -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)'
  echo "== os"; uname -a; head -2 /etc/os-release
} > "$WORK/machine.txt" 2>&1
cat "$WORK/machine.txt"

# nvidia-smi sampler for the whole session
( timeout $(( BUDGET_S + 30 )) nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv,noheader,nounits -lms 250 > "$OUT/smi.csv" 2>/dev/null ) &
SMI_PID=$!

merge() {  # (re)write $OUT/results.json from what is in $WORK; "merge summary" also prints a table
  timeout 30 "$PY" - "$WORK" "$OUT" "$T0" $1 <<'EOF' || echo "merge failed"
import json, os, sys, glob, time
work, out, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rd(p, default=""):
    try:
        return open(p, errors="replace").read()
    except OSError:
        return default
smi = []
for line in rd(os.path.join(out, "smi.csv")).splitlines():
    f = [x.strip() for x in line.split(",")]
    if len(f) >= 7:
        smi.append(f)
def peak(a, b):
    used = [float(f[1]) for f in smi if a <= f[0] <= b and f[1].replace(".", "").isdigit()]
    pw = [float(f[5]) for f in smi if a <= f[0] <= b and f[5].replace(".", "").isdigit()]
    sm = [float(f[3]) for f in smi if a <= f[0] <= b and f[3].replace(".", "").isdigit()]
    return dict(gpu_mem_used_peak_mib=max(used) if used else None,
                gpu_mem_used_min_mib=min(used) if used else None,
                power_peak_w=max(pw) if pw else None, sm_clock_peak_mhz=max(sm) if sm else None,
                n_samples=len(used))
runs = []
for d in sorted(glob.glob(os.path.join(work, "runs", "*"))):
    meta = {}
    try:
        meta = json.load(open(os.path.join(d, "meta.json")))
    except Exception:
        pass
    rows = []
    for line in rd(os.path.join(d, "stdout.jsonl")).splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except Exception:
                pass
    for r in rows:
        r.pop("samples_ns", None)
    if meta.get("start") and meta.get("end"):
        meta["gpu"] = peak(meta["start"], meta["end"])
    meta["llama_bench"] = rows
    err = rd(os.path.join(d, "stderr.txt"))
    keep = ("buffer size", "memory breakdown", "n_ctx", "flash_attn", "offloaded", "- type ", "file size", "ggml_cuda_init", "Device 0", "CUDA0")
    seen, lines = set(), []
    for l in err.splitlines():
        if any(k in l for k in keep) and l not in seen:
            seen.add(l); lines.append(l)
    meta["log_lines"] = lines[:80]
    meta["stderr_tail"] = err[-2000:]
    runs.append(meta)
synth = [json.loads(l) for l in rd(os.path.join(work, "synth.jsonl")).splitlines() if l.strip().startswith("{")]
build = {}
try:
    build = json.load(open(os.path.join(work, "build.json")))
except Exception:
    pass
res = dict(schema="rigcheck-device-llamacpp-1", written_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           elapsed_s=int(time.time()) - t0, machine_txt=rd(os.path.join(work, "machine.txt")),
           build=build, synth=synth, runs=runs)
tmp = os.path.join(out, ".results.json.tmp")
json.dump(res, open(tmp, "w"), indent=1)
os.replace(tmp, os.path.join(out, "results.json"))
print(f"results.json: {len(runs)} runs, {sum(len(r['llama_bench']) for r in runs)} rows")
if len(sys.argv) > 4:
    for r in runs:
        g = (r.get("gpu") or {}).get("gpu_mem_used_peak_mib")
        print(f"  {r.get('name')}: rc={r.get('rc')} wall={r.get('wall_s')}s gpu_peak={g}MiB {r.get('skipped', '')}")
        for b in r["llama_bench"]:
            print(f"      pp{b.get('n_prompt')} tg{b.get('n_gen')}: {b.get('avg_ts', 0):.1f} t/s (sd {b.get('stddev_ts', 0):.1f})")
EOF
}
merge

# ---------------------------------------------------------------- 2. synthetic models (background)
NEED_GB=46
avail_gb() { df -BG --output=avail "$1" 2>/dev/null | tail -1 | tr -dc 0-9; }
MD=""
if [ "$(avail_gb /dev/shm)" -ge "$NEED_GB" ] 2>/dev/null; then
  MD=/dev/shm/rigcheck-models
else
  mkdir -p /tmp/rigcheck-ram
  if timeout 10 mount -t tmpfs -o size=56g tmpfs /tmp/rigcheck-ram 2>/dev/null; then
    MD=/tmp/rigcheck-ram
  else
    MD=/tmp/rigcheck-models
    say "WARNING: no RAM disk of ${NEED_GB} GB: writing models to disk ($MD, $(avail_gb /tmp) GB free)"
  fi
fi
mkdir -p "$MD"
say "models go to $MD ($(avail_gb "$MD") GB free there)"
M_L8Q4="$MD/llama31-8b-q4_0.gguf"; M_L8Q8="$MD/llama31-8b-q8_0.gguf"; M_QW="$MD/qwen3-30b-a3b-q8_0.gguf"
P_L8=llama31-8b; P_QW=qwen3-30b-a3b
[ -n "$SYNTH_TINY" ] && { P_L8=tiny-llama; P_QW=tiny-qwen3moe; }
(
  for spec in "$P_L8 q4_0 $M_L8Q4" "$P_L8 q8_0 $M_L8Q8" "$P_QW q8_0 $M_QW"; do
    set -- $spec
    [ -s "$3" ] && { echo "synth: reuse $3 (left by an earlier run)"; continue; }
    free=$(avail_gb "$MD")
    if [ "$1" = "$P_QW" ] && [ -z "$SYNTH_TINY" ] && [ "${free:-0}" -lt 32 ]; then echo "synth: skip $3 (only ${free} GiB free)"; continue; fi
    nice -n 5 timeout 300 "$PY" "$ROOT/bench/device/make_synth.py" --preset "$1" --qtype "$2" --out "$3.part" --json "$WORK/synth.jsonl" \
      && mv "$3.part" "$3" && echo "synth: done $3"
  done
) > "$WORK/synth.log" 2>&1 &
SYNTH_PID=$!

# ---------------------------------------------------------------- 3. build llama-bench (CUDA, sm_90)
if [ -n "$LB_PREBUILT" ]; then
  say "LB_PREBUILT=$LB_PREBUILT: no build"
  echo '{"prebuilt": "'"$LB_PREBUILT"'"}' > "$WORK/build.json"
  LB="$LB_PREBUILT"
else
EXTRA=()
CUBLAS_DIR=""
NVCC=$(command -v nvcc)
CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$NVCC")")")
NVMAJ=$(nvcc --version | grep -o 'release [0-9]*' | awk '{print $2}')
say "nvcc $NVCC (CUDA $NVMAJ, home $CUDA_HOME)"
TKLIB=("$CUDA_HOME/lib64" "$CUDA_HOME/lib" "$CUDA_HOME/targets/x86_64-linux/lib" /usr/local/cuda/lib64)
has() { local pat=$1; shift; for d in "$@"; do ls "$d"/$pat >/dev/null 2>&1 && return 0; done; return 1; }
if has 'libcublas.so*' "${TKLIB[@]}" && { [ -e "$CUDA_HOME/include/cublas_v2.h" ] || [ -e "$CUDA_HOME/targets/x86_64-linux/include/cublas_v2.h" ] || [ -e /usr/local/cuda/include/cublas_v2.h ]; }; then
  say "cuBLAS: in the CUDA toolkit"
else
  # e.g. the nvidia-cublas wheel under PyTorch's venv: site-packages/nvidia/cu13/{lib,include}
  SP=$("$PY" -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)
  findlib() { find "$@" -name "libcublas.so.${NVMAJ}*" -printf '%f %p\n' 2>/dev/null | grep -v stubs | sort -V | tail -1 | cut -d' ' -f2; }
  lib=$(findlib $(for d in $SP; do [ -d "$d/nvidia" ] && echo "$d/nvidia"; done) /nonexistent)
  [ -z "$lib" ] && lib=$(findlib /usr/local /opt /usr/lib /usr/lib64 /root)
  if [ -n "$lib" ]; then
    src=$(dirname "$lib")
    inc=$(cd "$src/../include" 2>/dev/null && pwd)
    [ -e "$inc/cublas_v2.h" ] || inc=$(dirname "$(find "$src/.." /usr/local /opt -name cublas_v2.h 2>/dev/null | head -1)")
    # link cuBLAS alone into a private folder, so LD_LIBRARY_PATH does not bring in that
    # folder's other CUDA libraries (a wheel's libcudart may be newer than the driver)
    CUBLAS_DIR="$WORK/cublas"; mkdir -p "$CUBLAS_DIR"
    ln -sf "$src"/libcublas.so.* "$src"/libcublasLt.so.* "$CUBLAS_DIR"/
    lib="$CUBLAS_DIR/$(basename "$lib")"
    lt=$(ls "$CUBLAS_DIR"/libcublasLt.so.${NVMAJ}* 2>/dev/null | head -1)
    say "cuBLAS not in the toolkit: using $lib, $lt, headers $inc"
    EXTRA+=("-DCUDA_cublas_LIBRARY=$lib" "-DCUDA_cublasLt_LIBRARY=$lt" "-DCMAKE_CUDA_FLAGS=-I$inc")
    export LD_LIBRARY_PATH="$CUBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    say "WARNING: no libcublas.so.$NVMAJ found anywhere; configure will likely fail"
  fi
fi
if ! has 'libcuda.so*' "${TKLIB[@]}" "$CUDA_HOME/lib64/stubs" "$CUDA_HOME/targets/x86_64-linux/lib/stubs"; then
  drv=$(ls /usr/lib/x86_64-linux-gnu/libcuda.so /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1 /usr/local/nvidia/lib/libcuda.so.1 2>/dev/null | head -1)
  [ -z "$drv" ] && drv=$(find /usr /opt -name 'libcuda.so*' 2>/dev/null | grep -v -e stubs -e compat | head -1)
  if [ -n "$drv" ]; then EXTRA+=("-DCUDA_cuda_driver_LIBRARY=$drv"); say "libcuda: $drv"; else EXTRA+=("-DGGML_CUDA_NO_VMM=ON"); say "WARNING: no libcuda to link: GGML_CUDA_NO_VMM=ON"; fi
fi
CFG=(-S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
     -DGGML_CUDA=${CUDA:-ON} -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_NATIVE=ON
     -DGGML_CUDA_FA_QUANTS=f16-f16 -DGGML_CUDA_NCCL=OFF -DGGML_CUDA_COMPRESSION_MODE=none -DGGML_CCACHE=OFF
     -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
     -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${EXTRA[@]}")
say "configure: cmake ${CFG[*]}"
tb=$(date +%s)
timeout "$(tmo 120)" cmake "${CFG[@]}" > "$WORK/configure.log" 2>&1
CRC=$?
tail -25 "$WORK/configure.log"
tc=$(date +%s)
BRC=99
[ -n "$CONFIGURE_ONLY" ] && { say "CONFIGURE_ONLY: configure rc=$CRC"; kill $SYNTH_PID $SMI_PID 2>/dev/null; exit $CRC; }
if [ $CRC -eq 0 ]; then
  # leave ~30 s after the build for at least the first benchmark
  BT=$(( $(left) - 35 )); [ $BT -gt 420 ] && BT=420
  say "build: cmake --build $BUILD -j$NPROC --target llama-bench (timeout ${BT}s)"
  ( while sleep 30; do say "build: $(tail -1 "$WORK/build.log" | cut -c1-110) | synth: $(tail -1 "$WORK/synth.log" | cut -c1-80)"; done ) &
  TICK=$!
  timeout "$BT" cmake --build "$BUILD" -j"$NPROC" --target llama-bench > "$WORK/build.log" 2>&1
  BRC=$?
  kill $TICK 2>/dev/null
  grep -E "error|FAILED" "$WORK/build.log" | head -20
  tail -3 "$WORK/build.log"
fi
te=$(date +%s)
NCU=$(grep -c '\.cu\.o' "$WORK/build.log" 2>/dev/null); NCU=${NCU:-0}
cat > "$WORK/build.json" <<EOF
{"configure_rc": $CRC, "build_rc": $BRC, "configure_s": $((tc - tb)), "build_s": $((te - tc)), "nproc": $NPROC,
 "cuda_objects_built": $NCU, "cublas_dir": "$CUBLAS_DIR", "flags": "$(echo "${CFG[*]}" | sed 's/"/\\"/g')"}
EOF
say "configure rc=$CRC ($((tc - tb)) s), build rc=$BRC ($((te - tc)) s)"
LB="$BUILD/bin/llama-bench"
fi
merge
if { [ -z "$LB_PREBUILT" ] && [ "$BRC" -ne 0 ]; } || [ ! -x "$LB" ]; then
  say "no llama-bench: stopping. Build log tail:"; tail -40 "$WORK/build.log" 2>/dev/null
  cat "$WORK/synth.log"; kill $SYNTH_PID 2>/dev/null; kill $SMI_PID 2>/dev/null; merge; exit 1
fi
export LD_LIBRARY_PATH="$(dirname "$LB")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
timeout 30 "$LB" --list-devices 2>&1 | tail -5

# ---------------------------------------------------------------- 4. benchmarks
wait_for() {  # wait_for FILE MAX_S: until make_synth has renamed FILE into place
  local n=0
  while [ ! -e "$1" ] && [ $n -lt "$2" ] && kill -0 $SYNTH_PID 2>/dev/null; do sleep 1; n=$((n + 1)); done
  [ -e "$1" ]
}
RUN_I=0
bench() {  # bench NAME NEED_S WANT_S MODEL ARGS...: one llama-bench invocation
  local name=$1 need=$2 want=$3 model=$4; shift 4
  RUN_I=$((RUN_I + 1))
  local d="$WORK/runs/$(printf %02d $RUN_I)_$name"
  mkdir -p "$d"
  if [ "$(left)" -lt "$need" ]; then
    say "SKIP $name: $(left) s left, needs $need"
    echo "{\"name\": \"$name\", \"skipped\": \"time: $(left) s left, needs $need\"}" > "$d/meta.json"; return
  fi
  if ! wait_for "$model" $(( $(left) - need )); then
    say "SKIP $name: model $model not written"; tail -3 "$WORK/synth.log"
    echo "{\"name\": \"$name\", \"skipped\": \"model not written\"}" > "$d/meta.json"; return
  fi
  local t=$(tmo "$want")
  local cmd=("$LB" -m "$model" "$@" -o jsonl)
  say "RUN $name (timeout ${t}s): ${cmd[*]}"
  local s0=$(stamp) w0=$(date +%s.%N)
  timeout -k 5 "$t" "${cmd[@]}" > "$d/stdout.jsonl" 2> "$d/stderr.txt"
  local rc=$? s1=$(stamp) w1=$(date +%s.%N)
  cat "$d/stdout.jsonl" | cut -c1-400
  grep -iE "error|fail|buffer size|offloaded" "$d/stderr.txt" | grep -v repack | head -20
  "$PY" - "$d/meta.json" "$name" "$rc" "$s0" "$s1" "$w0" "$w1" "$model" "${cmd[@]}" <<'EOF'
import json, sys
p, name, rc, s0, s1, w0, w1, model, *cmd = sys.argv[1:]
json.dump(dict(name=name, rc=int(rc), timed_out=int(rc) in (124, 137), start=s0, end=s1,
               wall_s=round(float(w1) - float(w0), 2), model=model, cmd=" ".join(cmd)), open(p, "w"), indent=1)
EOF
  say "END $name rc=$rc"
  merge
}
STD=(-p 512 -n 128 -ngl 99 -fa 1 -r 3 -v)
bench llama31-8b-q4_0-gpu        25  75 "$M_L8Q4" "${STD[@]}"
bench llama31-8b-q8_0-gpu        40  75 "$M_L8Q8" "${STD[@]}"
bench qwen3-30b-a3b-q8_0-gpu     50 100 "$M_QW"   "${STD[@]}"
bench qwen3-30b-a3b-q8_0-ncmoe48 60 150 "$M_QW"   -p 512 -n 128 -ngl 99 -ncmoe 48 -fa 1 -r 2 -v
bench llama31-8b-q4_0-cpu        25  60 "$M_L8Q4" -dev none -ngl 0 -t 16 -p 64 -n 32 -fa 1 -r 2 -v

# ---------------------------------------------------------------- wrap up
say "synth log:"; cat "$WORK/synth.log"
kill $SYNTH_PID 2>/dev/null
sleep 0.5; kill $SMI_PID 2>/dev/null
merge summary
say "done in $(el) s"
