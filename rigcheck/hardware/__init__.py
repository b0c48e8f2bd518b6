"""Hardware: the device catalogue, rig specs, tier presets, prices and detection of this machine.

Stable interface (used by placement, speed and the reality check):

- ``Device``, ``Link``, ``Node``, ``Rig``              (device.py; bytes, bytes/s, FLOP/s)
- ``get_device(name) -> Device``, ``get_link(name) -> Link``, ``devices(kind=None)``,
  ``links()``, ``match_device(name, memory_bytes=None)``            (catalog.py)
- ``parse_rig(spec) -> Rig``, ``format_rig(rig) -> str``            (spec.py)
- ``detect(measure_bandwidth=False) -> Rig``                        (detect/)
- ``Tier``, ``tiers()``, ``get_tier(name)``                         (presets.py)
- ``wired_limit_default(ram_bytes, macos_major=None) -> int``       (apple.py)
- ``device_price(id)``, ``ram_price_per_gib(date=None, memory_type='DDR5')``, ``ram_cost(...)``  (prices.py)
"""

from .apple import raise_command, wired_limit_default, wired_limit_from_sysctl
from .catalog import devices, find_device, get_device, get_link, links, match_device
from .device import Device, Link, Node, Rig
from .presets import Tier, get_tier, tiers
from .prices import Price, device_price, ram_cost, ram_price_per_gib, ram_prices
from .spec import format_rig, parse_rig


from . import detect as _detect_pkg  # noqa: E402  (load the subpackage first: the function below replaces its name)


def detect(measure_bandwidth: bool = False, progress=None) -> Rig:
    """This machine as a Rig (see the rigcheck.hardware.detect package)."""
    return _detect_pkg.detect(measure_bandwidth=measure_bandwidth, progress=progress)


def get_rig(spec: str | None = None) -> Rig:
    """A rig from a spec or catalogue/tier id; None or '' = this machine (detected)."""
    return detect() if not spec else parse_rig(spec)


__all__ = ["Device", "Link", "Node", "Rig", "Tier", "Price",
           "devices", "links", "get_device", "find_device", "get_link", "match_device",
           "parse_rig", "format_rig", "detect", "get_rig",
           "tiers", "get_tier", "wired_limit_default", "wired_limit_from_sysctl", "raise_command",
           "device_price", "ram_price_per_gib", "ram_prices", "ram_cost"]
