"""What every section of the benchmark shares: a report row, the run's settings, timing and profiling helpers."""
from __future__ import annotations

import cProfile
import io
import math
import os
import pstats
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"
VENV_BIN = Path(sys.executable).parent
KAFKA_LIBS = Path(os.environ.get("YHD_KAFKA_LIBS", ROOT / "var" / "kafka-libs"))
GIB = 1024 ** 3
MIB = 1024 ** 2
SENDER, RECEIVER = "odl", "oulu-social"
T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[bench {time.monotonic() - T0:7.1f}s] {msg}", flush=True)


class Row:
    """One line of the report."""

    def __init__(self, section: str, measure: str, unit: str, baseline, ours, *, ratio=None, target: str = "",
                 met: bool | None = None, note: str = "", baseline_label: str = "", ours_label: str = ""):
        self.section, self.measure, self.unit = section, measure, unit
        self.baseline, self.ours = baseline, ours
        if ratio is None and isinstance(baseline, (int, float)) and isinstance(ours, (int, float)) and baseline:
            ratio = ours / baseline
        self.ratio, self.target, self.met, self.note = ratio, target, met, note
        self.baseline_label, self.ours_label = baseline_label, ours_label

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("section", "measure", "unit", "baseline", "ours", "ratio", "target",
                                             "met", "note", "baseline_label", "ours_label")}


@dataclass
class Run:
    """The settings of one benchmark run and what its sections leave for the report besides their rows."""
    quick: bool
    profile: bool
    tmp: Path
    engines: object = None                            # bench.engines.Engines, while a section needs them
    profiles: dict = field(default_factory=dict)      # label -> cProfile report (--profile)
    loadavg: dict = field(default_factory=dict)       # section -> 1-minute load average at its start
    observed: list = field(default_factory=list)      # what a section noticed on the way

    @property
    def sizes(self) -> tuple[int, int]:
        return (2_000, 10_000) if self.quick else (10_000, 100_000)

    def mark_load(self, section: str) -> None:
        """The 1-minute load average when a section starts: tells how noisy its figures are (2 cores here)."""
        self.loadavg[section] = round(os.getloadavg()[0], 1)
        say(f"section {section}: load average {self.loadavg[section]} on {os.cpu_count()} CPUs")


@dataclass(frozen=True)
class Section:
    """A part of the benchmark: `measure(run)` returns its rows and its part of the JSON details."""
    name: str                                          # the numbers of its rows, e.g. "1/2/6"
    measure: Callable[[Run], tuple[list[Row], dict]]
    engines: str | None = None   # "kafka": the bench's own PostgreSQL and Kafka; "postgres": PostgreSQL alone

    @property
    def numbers(self) -> set[str]:
        return set(self.name.split("/"))

    @property
    def title(self) -> str:
        return f"{'sections' if '/' in self.name else 'section'} {self.name}"


# -- numbers -----------------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(q / 100 * len(v)) - 1))
    return v[k]


def p50_p99(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms"


def past_iso(hours: float = 1.0) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat()


# -- ports and processes ----------------------------------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    """n ports free on loopback now, as the kernel hands them out (all held at once, so n different ones)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def proc_tree(pid: int) -> list:
    try:
        p = psutil.Process(pid)
        return [p] + p.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants so far."""
    total = 0.0
    for p in proc_tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


# -- profiling ----------------------------------------------------------------------------------------------------
def profile_text(prof: cProfile.Profile, cumulative: int = 30, own: int = 25, head: str = "") -> str:
    """The top costs of a profile: by cumulative time, then by own time."""
    buf = io.StringIO()
    buf.write(head)
    stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative")
    stats.print_stats(cumulative)
    buf.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(own)
    return buf.getvalue()


def keep_profile(run: Run, label: str, text: str, name: str | None = None) -> Path:
    """Keep a profile report in the JSON and in var/bench/profile-<name>.txt."""
    run.profiles[label] = text
    path = OUT_DIR / f"profile-{name or re.sub(r'[^a-z0-9]+', '-', label.lower())}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class Profiler:
    """cProfile around a block when enabled (--profile); keeps the top costs."""

    def __init__(self, enabled: bool, label: str, run: Run):
        self.label, self.run = label, run
        self.prof = cProfile.Profile() if enabled else None

    def __enter__(self):
        if self.prof:
            self.prof.enable()
        return self

    def __exit__(self, *exc):
        if not self.prof:
            return
        self.prof.disable()
        path = keep_profile(self.run, self.label, profile_text(self.prof))
        say(f"profile of {self.label} written to {path}")
