"""Keeping the stack's processes running: when to start again what died, and the engines' side of it.

An engine's owner (the launcher, a test) starts and stops it on purpose; a death in between is a crash,
which the launcher's supervisor repairs with `recover()`, on the same ports and data directory.
"""
from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Backoff:
    """Delays between restarts: none after a process that ran `settle` seconds, then 1, 2, 4 … up to
    `cap` seconds while it keeps dying soon after each start."""
    cap: float = 30.0
    settle: float = 60.0
    attempts: int = 0          # restarts since the process last ran `settle` seconds
    started_at: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before the next start of a process that died at `now`."""
        if self.started_at is None or now - self.started_at >= self.settle:
            self.attempts = 0
        return 0.0 if self.attempts == 0 else min(2.0 ** (self.attempts - 1), self.cap)

    def started(self, now: float) -> None:
        self.attempts += 1
        self.started_at = now


class SupervisedServer:
    """A server process of the stack's own (`proc`), for a subclass that defines `start(timeout)`:
    `start()` and `stop()` hold `lock` and set `wanted`; a process that exits while `wanted` crashed."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.wanted = False
        self.lock = threading.RLock()

    def exit_code(self) -> int | None:
        """The exit code of a server that died while meant to run; None while it runs or when stopped."""
        proc = self.proc
        if not self.wanted or proc is None or proc.poll() is None:
            return None
        return proc.returncode

    def recover(self, timeout: float = 60) -> bool:
        """Start again a server that crashed; False if it runs or was stopped on purpose meanwhile."""
        with self.lock:
            if self.exit_code() is None:
                return False
            self.start(timeout)
            return True


@dataclass
class EngineSupervisor:
    """Restarts one engine that crashed, with backoff, and tells what it did through `say`."""
    name: str
    engine: SupervisedServer
    say: Callable[[str, str], None]
    backoff: Backoff | None = None
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self):
        self.backoff = self.backoff or Backoff(started_at=self.clock())

    def check(self, stopping: threading.Event) -> bool:
        """Restart the engine if it crashed (unless `stopping` is set while waiting); True if restarted."""
        code = self.engine.exit_code()
        if code is None:
            return False
        died = self.clock()
        delay = self.backoff.delay(died)
        self.say(f"{self.name} died (exit {code})",
                 f"restarting{f' in {delay:.0f}s' if delay else ''} (attempt {self.backoff.attempts + 1})")
        if stopping.wait(delay):
            return False
        self.backoff.started(self.clock())
        try:
            restarted = self.engine.recover()
        except Exception as e:
            self.say(f"{self.name} did not start", (str(e).strip().splitlines() or [repr(e)])[0][:300])
            return False
        if restarted:
            self.say(f"{self.name} running again", f"{self.clock() - died:.1f}s after it died")
        return restarted
