"""Detection: vendor parsers on recorded real tool output, and the real detection of this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rigcheck.hardware import detect, get_device, parse_rig
from rigcheck.hardware.catalog import match_device
from rigcheck.hardware.detect import amd, apple, cpu, nvidia
from rigcheck.hardware.detect.bandwidth import measure_bandwidth
from rigcheck.hardware.detect.common import to_device

FIX = Path(__file__).parent / "fixtures" / "hardware"
MiB, GiB = 2**20, 2**30


def load(name: str) -> str:
    """A fixture's recorded output (the text after its '---' provenance header)."""
    text = (FIX / name).read_text()
    header, sep, body = text.partition("\n---\n")
    assert sep and "source: https://github.com/" in header, f"{name} lacks its provenance header"
    return body


def test_every_fixture_is_listed_with_its_source():
    readme = (FIX / "README.md").read_text()
    for f in FIX.iterdir():
        if f.name != "README.md":
            assert f.name.split(".")[0] in readme, f.name
            load(f.name)


# --- NVIDIA ---------------------------------------------------------------------------

def test_nvidia_table_two_4090s():
    gpus = nvidia.parse_table(load("nvidia_smi_table_2x4090.txt"))
    assert [(g.index, g.name, g.memory_bytes) for g in gpus] == [
        (0, "NVIDIA GeForce RTX 4090", 24564 * MiB), (1, "NVIDIA GeForce RTX 4090", 24564 * MiB)]
    assert gpus[0].extra["driver_version"] == "550.163.01"
    devs = [to_device(g) for g in gpus]
    assert [d.id for d in devs] == ["rtx-4090", "rtx-4090"]
    assert devs[0].bandwidth_bytes_s == 1008e9
    assert devs[0].memory_bytes == 24564 * MiB  # what the card reports, not the catalogue's 24 GiB


def test_nvidia_table_new_kmd_header_two_5090s():
    gpus = nvidia.parse_table(load("nvidia_smi_table_2x5090.txt"))
    assert [g.memory_bytes for g in gpus] == [32607 * MiB, 32607 * MiB]
    assert gpus[1].extra["driver_version"] == "610.57.04"
    assert {to_device(g).id for g in gpus} == {"rtx-5090"}


def test_nvidia_table_two_v100s_match_the_catalogue():
    gpus = nvidia.parse_table(load("nvidia_smi_table_2xv100.txt"))
    assert [g.name for g in gpus] == ["Tesla V100-SXM2-16GB"] * 2
    dev = to_device(gpus[0])
    assert dev.id == "v100-16gb" and dev.memory_bytes == 16384 * MiB
    assert dev.bandwidth_bytes_s == get_device("v100-32gb").bandwidth_bytes_s  # one chip, two memory sizes


def test_nvidia_table_unknown_card_is_kept_not_mismatched():
    import dataclasses
    g = dataclasses.replace(nvidia.parse_table(load("nvidia_smi_table_2xv100.txt"))[0], name="Tesla K80")
    dev = to_device(g)
    assert dev.verified == "detected" and dev.memory_bytes == 16384 * MiB
    assert dev.bandwidth_bytes_s is None


def test_nvidia_query_csv_noheader_nounits():
    fields = ("power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,"
              "gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,"
              "clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate").split(",")
    gpus = nvidia.parse_query_csv(load("nvidia_smi_query_rtx2080.txt"), fields=fields)
    assert len(gpus) == 1
    assert gpus[0].name == "GeForce RTX 2080" and gpus[0].memory_bytes == 7979 * MiB
    assert gpus[0].extra["driver_version"] == "440.64"


def test_nvidia_query_csv_in_rigchecks_own_order():
    # the same GPU as rigcheck's own query prints it (index, name, memory.total, driver_version)
    line = "0, GeForce RTX 2080, 7979, 440.64\n"
    g = nvidia.parse_query_csv(line)[0]
    assert (g.index, g.name, g.memory_bytes) == (0, "GeForce RTX 2080", 7979 * MiB)


@pytest.mark.parametrize("name,mib,want", [
    ("NVIDIA GeForce RTX 3090", 24576, "rtx-3090"),
    ("NVIDIA GeForce RTX 3090 Ti", 24564, "rtx-3090-ti"),
    ("NVIDIA GeForce RTX 3060", 12288, "rtx-3060-12gb"),
    ("NVIDIA GeForce RTX 3060", 8192, "rtx-3060-8gb"),           # the name is the 12 GB card's alias
    ("NVIDIA GeForce RTX 4060 Ti", 8188, "rtx-4060-ti-8gb"),
    ("NVIDIA GeForce RTX 4060 Ti", 16380, "rtx-4060-ti-16gb"),
    ("NVIDIA GeForce RTX 5060 Ti", 8151, "rtx-5060-ti-8gb"),
    ("NVIDIA GeForce RTX 4060", 8188, "rtx-4060"),
    ("NVIDIA GeForce RTX 4070 SUPER", 12282, "rtx-4070-super"),
    ("NVIDIA GeForce RTX 2070 SUPER", 8192, "rtx-2070-super"),
    ("NVIDIA GeForce GTX 1080 Ti", 11264, "gtx-1080-ti"),
    ("Tesla T4", 15360, "t4"),
    ("NVIDIA L4", 23034, "l4"),
    ("NVIDIA A10", 23028, "a10"),
    ("Tesla P40", 24576, "tesla-p40"),
    ("Tesla V100-SXM2-32GB", 32768, "v100-32gb"),
    ("AMD Radeon RX 7600", 8176, "rx-7600"),
    ("AMD Radeon RX 9060 XT", 8176, "rx-9060-xt-8gb"),
    ("NVIDIA H100 80GB HBM3", 81559, "h100-sxm"),          # totals per modal-labs/modal-client#2797
    ("NVIDIA H100 PCIe", 81559, "h100-pcie"),
    ("NVIDIA A100-SXM4-80GB", 81920, "a100-80gb"),
    ("NVIDIA A100-SXM4-40GB", 40960, "a100-40gb"),
    ("NVIDIA L40S", 46068, "l40s"),
    ("NVIDIA H200", 143771, "h200"),
    ("NVIDIA RTX A6000", 49140, "rtx-a6000"),
    ("NVIDIA RTX 6000 Ada Generation", 49140, "rtx-6000-ada"),
    ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", 97887, "rtx-pro-6000"),
    ("NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", 97887, "rtx-pro-6000-max-q"),
    ("Radeon RX 7900 XTX", 24560, "rx-7900-xtx"),
    ("NVIDIA GB10", None, "dgx-spark"),
])
def test_tool_names_match_the_catalogue(name, mib, want):
    dev = match_device(name, mib * MiB if mib else None)
    assert dev is not None and dev.id == want


# --- AMD -----------------------------------------------------------------------------

def test_rocm_smi_json_7900xt():
    gpus = amd.parse_rocm_smi_json(load("rocm_smi_7900xt.json"))
    assert [(g.name, g.memory_bytes) for g in gpus] == [("Radeon RX 7900 XT", 21458059264)]
    assert gpus[0].extra["GFX Version"] == "gfx1100"
    assert to_device(gpus[0]).id == "rx-7900-xt"


def test_rocm_smi_csv_agrees_with_json():
    a = amd.parse_rocm_smi_csv(load("rocm_smi_7900xt.csv"))
    b = amd.parse_rocm_smi_json(load("rocm_smi_7900xt.json"))
    assert [(g.name, g.memory_bytes) for g in a] == [(g.name, g.memory_bytes) for g in b]


def test_rocm_smi_productname_only_mi100():
    gpus = amd.parse_rocm_smi_csv(load("rocm_smi_mi100_productname.csv"))
    assert [g.name for g in gpus] == ["Arcturus GL-XL [AMD Instinct MI100]"] * 2
    assert all(g.memory_bytes is None for g in gpus)
    assert to_device(gpus[0]).verified == "detected"  # no MI100 row: kept, not matched to MI300X


def test_sysfs_reader_on_a_real_file_tree(tmp_path):
    dev = tmp_path / "card1" / "device"
    dev.mkdir(parents=True)
    (dev / "vendor").write_text("0x1002\n")
    (dev / "device").write_text("0x744c\n")
    (dev / "mem_info_vram_total").write_text("21458059264\n")
    other = tmp_path / "card0" / "device"
    other.mkdir(parents=True)
    (other / "vendor").write_text("0x8086\n")  # an Intel iGPU: not AMD, skipped
    gpus = amd.read_sysfs(tmp_path)
    assert [(g.index, g.memory_bytes, g.name) for g in gpus] == [(1, 21458059264, "AMD GPU 0x744c")]


# --- Apple ---------------------------------------------------------------------------

def test_sysctl_perflevels_m1_pro():
    facts = apple.parse_sysctl(load("apple_sysctl_m1pro_perflevels.txt"))
    assert facts["hw.ncpu"] == "10"
    assert facts["hw.perflevel0.physicalcpu"] == "8" and facts["hw.perflevel1.physicalcpu"] == "2"
    assert "hw." not in facts


def test_sysctl_machdep_brand_m1_pro():
    facts = apple.parse_sysctl(load("apple_sysctl_machdep_m1pro.txt"))
    assert facts["machdep.cpu.brand_string"] == "Apple M1 Pro"
    assert apple.chip_base(facts["machdep.cpu.brand_string"]) == "m1-pro"


def test_sysctl_wired_limit_set_value():
    facts = apple.parse_sysctl(load("apple_sysctl_wired_limit_set.txt"))
    assert facts["iogpu.wired_limit_mb"] == "26000"
    # that post's machine: M1 Max, 32 GB; llama-server then reported 26000 MiB for the GPU
    node = apple.node_from_facts({**facts, "machdep.cpu.brand_string": "Apple M1 Max",
                                  "hw.memsize": str(32 * GiB)})
    assert node.devices[0].id == "m1-max-32"
    assert node.gpu_budget_bytes == 26000 * MiB
    assert node.ram_bandwidth_bytes_s == 409.6e9


def test_system_profiler_gpu_cores_m3():
    text = load("apple_system_profiler_m3.txt")
    assert apple.parse_gpu_cores(text) == 10
    facts = {**apple.parse_sysctl(load("apple_sysctl_machdep_m1pro.txt")),
             "machdep.cpu.brand_string": "Apple M3", "hw.memsize": str(8 * GiB)}
    node = apple.node_from_facts(facts, gpu_cores=10)
    assert node.devices[0].id == "m3-8" and node.devices[0].gpu_cores == "10"
    assert node.gpu_budget_bytes == int(8 * GiB * 2 / 3)  # default wired limit, no sysctl override


def test_apple_memory_size_missing_from_catalogue_borrows_chip_facts():
    node = apple.node_from_facts({"machdep.cpu.brand_string": "Apple M4 Max", "hw.memsize": str(96 * GiB)},
                                 gpu_cores=40)
    d = node.devices[0]
    assert d.id == "m4-max-96" and d.verified == "detected"
    assert d.bandwidth_bytes_s == get_device("m4-max-128").bandwidth_bytes_s


# --- CPU and RAM ---------------------------------------------------------------------

def test_dmidecode_ddr5_running_below_rated():
    mem = cpu.parse_dmidecode(load("dmidecode_ddr5_5600_at_4200.txt"))
    assert len(mem.modules) == 1
    m = mem.modules[0]
    assert (m.size_bytes, m.type, m.rated_mt_s, m.speed_mt_s) == (32 * GiB, "DDR5", 5600, 4200)
    assert mem.channels == 1 and mem.bandwidth_bytes_s == 8 * 4200e6
    assert any(n.code == "memory_below_rated" for n in mem.notes)


def test_dmidecode_strix_halo_lpddr5_32bit_channel():
    mem = cpu.parse_dmidecode(load("dmidecode_strix_halo_lpddr5.txt"))
    assert [(m.size_bytes, m.type, m.data_width_bits, m.speed_mt_s) for m in mem.modules] == [
        (16 * GiB, "LPDDR5", 32, 8000)]
    assert mem.bandwidth_bytes_s == 4 * 8000e6  # one 32-bit channel shown; the full chip has 8 (256 GB/s)


def test_dmidecode_skips_empty_slots_and_uses_configured_speed():
    mem = cpu.parse_dmidecode(load("dmidecode_7950x_ddr5.txt"))
    assert len(mem.modules) == 1
    assert mem.modules[0].rated_mt_s == 4800 and mem.speed_mt_s == 6000
    assert mem.type == "DDR5"


def test_dmidecode_older_format_mb_and_mhz():
    mem = cpu.parse_dmidecode(load("dmidecode_ddr3_server.txt"))
    m = mem.modules[0]
    assert (m.size_bytes, m.type, m.rated_mt_s, m.speed_mt_s, m.data_width_bits) == (4096 * MiB, "DDR3", 1333, 1067, 64)


# --- this machine (real detection, CPU only) -----------------------------------------

def _nproc() -> int:
    if shutil.which("nproc"):      # GNU nproc honours OMP_NUM_THREADS (a bench sets it to 1): ask it without
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
        return int(subprocess.run(["nproc"], capture_output=True, text=True, check=True, env=env).stdout)
    return len(os.sched_getaffinity(0))


def _meminfo_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def test_this_machine_is_cpu_only_with_its_cores_and_ram():
    rig = detect()
    assert rig.source == "detected" and len(rig.nodes) == 1
    node = rig.node
    assert node.cpu_only and node.devices == () and node.gpu_memory_bytes == 0
    assert node.cpu_threads == _nproc()
    assert node.ram_bytes == _meminfo_total()
    assert node.os == "linux"
    assert any(n.code == "no_gpu_found" for n in rig.notes)
    model = cpu.parse_cpuinfo(Path("/proc/cpuinfo").read_text())["model"]
    assert node.cpu is not None and node.cpu.name == model


def test_this_machine_spec_parses_back():
    rig = detect()
    again = parse_rig(rig.spec)
    assert again.node.cpu_only
    assert abs(again.node.ram_bytes - rig.node.ram_bytes) < MiB


def test_proc_meminfo_parser_on_this_machine():
    info = cpu.parse_meminfo(Path("/proc/meminfo").read_text())
    assert info["MemTotal"] == _meminfo_total()
    assert 0 < info["MemAvailable"] <= info["MemTotal"]


def test_bandwidth_measurement_reports_progress():
    lines = []
    bw = measure_bandwidth(size_bytes=32 * MiB, repeats=2, progress=lines.append)
    assert len(lines) == 2 and all("GB/s" in ln for ln in lines)
    assert 1e8 < bw < 1e13  # between 0.1 GB/s and 10 TB/s: a real copy was timed
