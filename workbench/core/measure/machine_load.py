"""How busy the machine was while the benchmark timed its models, and whether its figures can be trusted.

On a shared machine a neighbour's job can stretch a timing several fold (the same teacher read 21 ms in one
table and 140 ms in another). So the benchmark samples the CPU counters before and after timing: the share of
the machine other processes used, the share the hypervisor stole (CPU steal in /proc/stat), and the load
average; with each timing's own spread (round-to-round CV, p95 / median), these mark the figures "noisy: the
machine was busy" in bench.json, and every place that shows them says so and says to rerun `workbench bench`.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from typing import Any

# Above these the figures are marked noisy: a quarter of the machine busy with other work, 5 % of its time
# stolen, or timings whose typical round-to-round variation exceeds 20 % of their mean.
OTHER_CPU_BOUND = 0.25
STEAL_BOUND = 0.05
SPREAD_BOUND = 0.20


@dataclass(frozen=True)
class CpuSample:
    when: float  # time.monotonic()
    busy: float  # CPU seconds all processes spent, over every core (steal apart)
    steal: float
    total: float  # every counter, idle included
    own: float  # CPU seconds of this process


def sample() -> CpuSample:
    """The machine's CPU counters now (psutil reads /proc/stat on Linux)."""
    import psutil

    times = psutil.cpu_times()
    steal = getattr(times, "steal", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    total = sum(times)
    own = psutil.Process().cpu_times()
    return CpuSample(time.monotonic(), total - idle - steal, steal, total, own.user + own.system)


def load_between(first: CpuSample, last: CpuSample, latency: list[dict[str, Any]]) -> dict[str, Any]:
    """The machine's load over the interval and the verdict on the timings in `latency` (bench entries)."""
    span = max(last.total - first.total, 1e-9)
    other = max(last.busy - first.busy - (last.own - first.own), 0.0) / span
    steal = max(last.steal - first.steal, 0.0) / span
    spreads = sorted(entry["cv"] for entry in latency if "cv" in entry)
    spread = spreads[len(spreads) // 2] if spreads else 0.0
    reasons = []
    if other > OTHER_CPU_BOUND:
        reasons.append(f"other processes used {other:.0%} of the CPUs")
    if steal > STEAL_BOUND:
        reasons.append(f"the hypervisor took {steal:.0%} of CPU time (steal)")
    if spread > SPREAD_BOUND:
        reasons.append(f"timings varied by {spread:.0%} from round to round")
    return {"seconds": round(last.when - first.when, 2), "other_cpu": other, "steal": steal,
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "median_cv": spread,
            "bounds": {"other_cpu": OTHER_CPU_BOUND, "steal": STEAL_BOUND, "median_cv": SPREAD_BOUND},
            "noisy": bool(reasons), "reason": "; ".join(reasons)}


def hardware() -> str:
    """'x86_64, 16 CPUs (Intel(R) Xeon(R) ...)': what the figures were measured on."""
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} CPUs" + (f" ({model})" if model else "")


def noisy_note(bench: dict[str, Any]) -> str:
    """'' or the sentence every screen showing bench.json's figures adds."""
    load = bench.get("load") if isinstance(bench.get("load"), dict) else {}
    if not load.get("noisy"):
        return ""
    return f"noisy: the machine was busy ({load.get('reason')}); rerun `workbench bench` on a quiet machine"
