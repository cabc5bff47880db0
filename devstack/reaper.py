"""The stack's reaper: nothing the launcher starts outlives it, however the launcher ends.

`python -m devstack.reaper` reads on its standard input, a pipe from the launcher, one line per process
group the launcher starts (Kafka, PostgreSQL, every service process). When the pipe closes — the
launcher exited, cleanly or by SIGKILL — it stops each recorded group still alive (its stop signal,
SIGKILL after a grace period) and exits. It runs in a session of its own, so neither Ctrl-C at the
terminal nor a signal to the launcher's process group reaches it, and no child of the launcher holds
the pipe (Python does not let children inherit it).

The launcher also keeps the lines in var/processes.jsonl: if the reaper was killed too, the next start
stops what is still running from there (`stop_leftovers`).
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from .processes import Leader, group_exists, stop_groups

PRUNE_EVERY = 2.0   # seconds; a group gone is forgotten, so that its number, once reused, is never signalled
GRACE = 15.0        # seconds a group has to stop on its own signal before SIGKILL


def record_file(var: Path) -> Path:
    return Path(var) / "processes.jsonl"


class Reaper:
    """The launcher's end: starts the reaper process and tells it (and var/processes.jsonl) each group."""

    def __init__(self, var: Path):
        self.var = Path(var)
        self.proc: subprocess.Popen | None = None
        self.leaders: dict[int, Leader] = {}
        self.closed = False

    def start(self) -> "Reaper":
        log = self.var / "logs" / "reaper.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as f:
            self.proc = subprocess.Popen([sys.executable, "-m", "devstack.reaper"], stdin=subprocess.PIPE,
                                         stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=Path(__file__).resolve().parent.parent)
        for leader in self.leaders.values():  # a reaper started again learns every group still known
            self._tell(leader)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def watch(self, name: str, pid: int, stop_signal: int = signal.SIGTERM) -> None:
        """Record the group led by `pid` (started with a session of its own); known pids are skipped."""
        if self.closed:
            return
        known = self.leaders.get(pid)
        if known is not None and known.running():
            return
        leader = Leader.of(name, pid, stop_signal)
        if leader is None:
            return
        self.leaders[pid] = leader
        with open(record_file(self.var), "a") as f:
            f.write(leader.to_json() + "\n")
        self._tell(leader)

    def _tell(self, leader: Leader) -> None:
        if not self.alive():
            return
        try:
            self.proc.stdin.write((leader.to_json() + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):  # it died: the supervisor starts it again
            pass

    def close(self, timeout: float = GRACE + 15) -> None:
        """The launcher is done (everything stopped): the reaper stops what is left, then exits."""
        self.closed = True
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        record_file(self.var).unlink(missing_ok=True)


def stop_leftovers(var: Path) -> list[Leader]:
    """Stop what an earlier launcher of `var` recorded and is still running (it and its reaper were
    killed); returns those leaders."""
    path = record_file(var)
    if not path.exists():
        return []
    recorded = {}
    for line in path.read_text().splitlines():
        try:
            leader = Leader.from_json(line)
        except (ValueError, KeyError):  # a line cut short when the launcher died
            continue
        recorded[leader.pid] = leader
    left = [leader for leader in recorded.values() if leader.running()]
    stop_groups(left, grace=GRACE)
    path.unlink()
    return left


def main() -> int:
    for sig in (signal.SIGINT, signal.SIGHUP):  # the launcher decides; the reaper only follows its end
        signal.signal(sig, signal.SIG_IGN)
    fd = sys.stdin.fileno()
    watched: dict[int, Leader] = {}
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], PRUNE_EVERY)
        if not ready:
            watched = {pid: leader for pid, leader in watched.items() if group_exists(pid)}
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            leader = Leader.from_json(line.decode())
            watched[leader.pid] = leader
    alive = [leader for leader in watched.values() if group_exists(leader.pid)]
    if alive:
        t0 = time.monotonic()
        _say("launcher gone; stopping " + ", ".join(f"{leader.name} ({leader.pid})" for leader in alive))
        killed = stop_groups(alive, grace=GRACE)
        _say(f"stopped in {time.monotonic() - t0:.1f}s"
             + (f"; had to kill {', '.join(leader.name for leader in killed)}" if killed else ""))
    return 0


def _say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
