"""Process groups on Linux: who is in one, and stopping it for good.

Every process the stack starts leads a session, and so a process group, of its own; its descendants
(gunicorn's workers, PostgreSQL's backends) stay in that group, so stopping the group stops them all.
A leader is recorded with its start time, so that a pid reused by an unrelated process is never taken
for it.
"""
from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Leader:
    """A process group's leader (pid == pgid) as recorded when it started, and how it is asked to stop."""
    pid: int
    started: float   # psutil's create_time
    name: str
    stop_signal: int = signal.SIGTERM

    @classmethod
    def of(cls, name: str, pid: int, stop_signal: int = signal.SIGTERM) -> "Leader | None":
        """The running process `pid` as a leader; None if it is gone already."""
        try:
            return cls(pid, psutil.Process(pid).create_time(), name, int(stop_signal))
        except psutil.NoSuchProcess:
            return None

    def running(self) -> bool:
        """This very process (same pid and start time) is still alive."""
        try:
            p = psutil.Process(self.pid)
            return abs(p.create_time() - self.started) < 0.01 and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def to_json(self) -> str:
        return json.dumps({"pid": self.pid, "started": self.started, "name": self.name,
                           "stop_signal": self.stop_signal})

    @classmethod
    def from_json(cls, line: str) -> "Leader":
        d = json.loads(line)
        return cls(int(d["pid"]), float(d["started"]), str(d["name"]), int(d["stop_signal"]))


def groups() -> dict[int, list[int]]:
    """pgid -> pids of its live (not zombie) processes, from /proc."""
    found: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()   # after "pid (comm) ": state ppid pgrp ...
        if fields[0] not in (b"Z", b"X"):
            found.setdefault(int(fields[2]), []).append(int(entry.name))
    return found


def members(pgid: int, born_before: float | None = None) -> list[int]:
    """The live processes of group `pgid` (only those started before `born_before`, if given)."""
    pids = groups().get(pgid, [])
    return pids if born_before is None else [p for p in pids if _born_before(p, born_before)]


def group_exists(pgid: int) -> bool:
    """Some process, zombies included, is in group `pgid` (so its number cannot be reused yet)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def stop_groups(leaders: list[Leader], grace: float = 15.0, patience: float = 10.0) -> list[Leader]:
    """Send each leader's stop signal to its group, SIGKILL what is left after `grace` seconds, and wait
    up to `patience` more for every process to be gone. Only processes that existed when called are
    signalled after the first signal. Returns the leaders whose groups had to be killed."""
    t0 = time.time()
    pending = [leader for leader in leaders if members(leader.pid)]
    for leader in pending:
        _signal_group(leader.pid, leader.stop_signal)
    pending = _wait_gone(pending, t0, grace)
    killed = list(pending)
    for leader in pending:
        for pid in members(leader.pid, born_before=t0):
            _signal(pid, signal.SIGKILL)
    _wait_gone(pending, t0, patience)
    return killed


def _wait_gone(leaders: list[Leader], born_before: float, within: float) -> list[Leader]:
    deadline = time.monotonic() + within
    while True:
        live = groups()
        pending = [leader for leader in leaders
                   if any(_born_before(p, born_before) for p in live.get(leader.pid, []))]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.1)


def _born_before(pid: int, t: float) -> bool:
    try:
        return psutil.Process(pid).create_time() <= t
    except psutil.NoSuchProcess:
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
