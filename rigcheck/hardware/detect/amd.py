"""AMD GPUs: ``amdsmi`` (optional), ``rocm-smi --json``, or sysfs (``mem_info_vram_total``).

Parsers are pure functions, tested on recorded real output (tests/fixtures/hardware/).
"""

from __future__ import annotations

import json
from pathlib import Path

from .common import DetectedGpu, run_tool

ROCM_SMI = ["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--json"]
AMD_PCI_VENDOR = "0x1002"


def parse_rocm_smi_json(text: str) -> list[DetectedGpu]:
    """``rocm-smi --showproductname --showmeminfo vram --json``: {"card0": {...}, ...}.

    Name: 'Card Series' (or 'Card series', 'Device Name', 'Card Model'); memory:
    'VRAM Total Memory (B)'. Non-card keys ('system') are skipped.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    gpus = []
    for key, card in data.items():
        if not key.startswith("card") or not isinstance(card, dict):
            continue
        name = next((card[k] for k in ("Card Series", "Card series", "Device Name", "Card Model", "Card model")
                     if card.get(k) and card[k] != "N/A"), key)
        mem = card.get("VRAM Total Memory (B)")
        gpus.append(DetectedGpu(name=str(name), memory_bytes=int(mem) if str(mem or "").isdigit() else None,
                                vendor="AMD", index=int(key[4:]) if key[4:].isdigit() else len(gpus),
                                via="rocm-smi",
                                extra={k: card[k] for k in ("GFX Version", "Card SKU", "Card Model") if k in card}))
    return gpus


def parse_rocm_smi_csv(text: str) -> list[DetectedGpu]:
    """``rocm-smi --showproductname [--showmeminfo vram] --csv``: a header line then one line per card."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text.strip())))
    cards = {r["device"]: {k: v for k, v in r.items() if k != "device"} for r in rows
             if r.get("device", "").startswith("card")}
    return parse_rocm_smi_json(json.dumps(cards))


def read_sysfs(root: str | Path = "/sys/class/drm") -> list[DetectedGpu]:
    """AMD cards from sysfs: ``card*/device/vendor`` == 0x1002 and ``mem_info_vram_total`` (bytes)."""
    root = Path(root)
    gpus = []
    if not root.is_dir():
        return gpus
    for card in sorted(root.glob("card[0-9]*")):
        dev = card / "device"
        try:
            if (dev / "vendor").read_text().strip() != AMD_PCI_VENDOR:
                continue
            vram = int((dev / "mem_info_vram_total").read_text().strip())
        except (OSError, ValueError):
            continue
        try:
            name = (dev / "product_name").read_text().strip()
        except OSError:
            name = ""
        if not name:
            try:
                name = f"AMD GPU {(dev / 'device').read_text().strip()}"
            except OSError:
                name = "AMD GPU"
        idx = card.name[4:]
        gpus.append(DetectedGpu(name=name, memory_bytes=vram, vendor="AMD",
                                index=int(idx) if idx.isdigit() else len(gpus), via="sysfs"))
    return gpus


def detect() -> list[DetectedGpu]:
    """AMD GPUs on this machine (empty when none)."""
    text = run_tool(ROCM_SMI)
    if text:
        gpus = parse_rocm_smi_json(text)
        if gpus:
            return gpus
    return read_sysfs()
