"""What the benchmarks share: the machine line they print, figures as text, /proc readings."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path


def cpu_model() -> str:
    """The processor's model name (``?`` where /proc/cpuinfo does not say)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def machine_line() -> str:
    """Date, cores, processor, Python and the operating system."""
    return (
        f"{datetime.now().strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def say(text: str) -> None:
    """Print a line at once (benchmarks report as they go)."""
    print(text, flush=True)


def fmt_s(seconds: float) -> str:
    """A duration with a unit a reader expects: µs below 1 ms, ms below 10 s."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 10:
        return f"{seconds * 1e3:.2f} ms" if seconds < 0.01 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.1f} s"


def pct(samples: list[float], p: float) -> float:
    """The ``p``-th percentile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The child processes of ``pid``, from /proc."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def rss_kib(pid: int) -> int:
    """The resident memory of ``pid`` in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def fmt_delta(seconds: float) -> str:
    """A difference of durations with its sign: ``+12 ms``, ``-3.20 ms``."""
    return ("-" if seconds < 0 else "+") + fmt_s(abs(seconds))


def report(table: str, started: float) -> None:
    """The end of a run: the table, the load average now, the whole run's time since
    ``started`` (a ``time.perf_counter()`` reading)."""
    say("")
    say(table)
    say(f"load average at the end: {load_average()}")
    say(f"\n(total run time {time.perf_counter() - started:.0f} s)")


@contextlib.contextmanager
def azure_identity_home(tmp: Path) -> Iterator[None]:
    """HOME (where azure-identity keeps its persistent cache) in ``tmp``, and no
    AZURE_AUTHORITY_HOST, while inside; both as they were afterwards."""
    saved = {k: os.environ.get(k) for k in ("HOME", "AZURE_AUTHORITY_HOST")}
    os.environ["HOME"] = str(tmp / "azure-home")
    os.environ.pop("AZURE_AUTHORITY_HOST", None)
    Path(os.environ["HOME"]).mkdir(exist_ok=True)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
