"""The llama.cpp the tests run is the portable build the README and .ci/run make
(GGML_NATIVE=OFF: AVX2 and below), so the suite runs on any x86-64 CPU CI may land on,
including VMs that list AVX-512 or AMX without running them; and it really generates."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from rigcheck.measure.filebench import rebuild_command

NOT_PORTABLE = ("AVX512", "AMX", "AVX_VNNI")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the x86 instruction sets only")
def test_llamacpp_cpu_backend_is_portable():
    info = subprocess.run([sys.executable, "-c", "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"],
                          capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr[-500:]
    enabled = [part.split("=")[0].strip() for part in info.stdout.split("|") if part.strip().endswith("= 1")]
    bad = [f for f in enabled if f.startswith(NOT_PORTABLE)]
    assert not bad, f"llama-cpp-python was built with {bad}; rebuild it portably: {rebuild_command()}"


def test_llamacpp_generates_on_this_cpu(gemma_gguf):
    """A real decode in a child process: a build this CPU cannot run dies here with SIGILL."""
    code = ("import llama_cpp; m = llama_cpp.Llama(%r, n_ctx=64, n_threads=1, verbose=False); "
            "m.eval([2, 1000, 2000]); m.eval([3000]); print('ok', m.n_tokens)" % gemma_gguf)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-500:]}"
    assert r.stdout.split() == ["ok", "4"]
