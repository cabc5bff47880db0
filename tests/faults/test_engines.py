"""The engines under fire: Kafka and PostgreSQL die and the stack's own supervision starts them again;
the launcher dies and nothing it started is left behind.

The engines are killed as a crash would kill them (SIGKILL to the pid, never `engine.kill()`, which is
a deliberate stop the supervisor leaves alone); the test only waits. Recovery times are printed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from devstack.client import eventually
from devstack.processes import groups
from services.kernel.config import PROJECT_ROOT
from tests.faults.harness import SENDER
from tests.support.parts import KAFKA_LIBS, free_port_range

pytestmark = pytest.mark.faults
DRAIN = 120.0   # seconds allowed after the last fault for every backlog to drain
BACK = 90.0     # seconds allowed for an engine or a stack to be up again


def report(name, **timings):
    print(f"\n[fault] {name}: " + ", ".join(f"{k} {v}" for k, v in timings.items()))


def seconds(values):
    return " / ".join(f"{v:.1f}s" for v in values)


def crash_broker(fed) -> float:
    """SIGKILL the broker; seconds until the stack's supervisor has it answering again."""
    kafka = fed.stack.kafka
    old = kafka.proc.pid
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    eventually(lambda: kafka.proc.pid != old and kafka.listening() and kafka.answers(),
               BACK, interval=0.1, what="the broker restarted by the stack")
    return time.monotonic() - t0


def test_broker_killed_three_times_is_restarted_by_the_stack_under_load(federation):
    fed = federation()
    fed.publish_target()
    stop, errors = threading.Event(), []

    def load():
        while not stop.is_set():
            try:
                fed.send(1)  # the outbox takes it whatever the broker does
            except Exception as e:  # pragma: no cover - asserted below
                errors.append(e)
            time.sleep(0.05)
    t = threading.Thread(target=load)
    t.start()
    back = []
    try:
        for _ in range(3):
            eventually(lambda: len(fed.sent) >= 5 * (len(back) + 1), 60, what="referrals sent meanwhile")
            back.append(crash_broker(fed))
    finally:
        stop.set()
        t.join()
    assert errors == []
    drain = fed.wait_exactly_once(DRAIN)
    report(f"broker SIGKILL x3 under load, restarted by the stack ({len(fed.sent)} referrals)",
           **{"answering again after": seconds(back), "drained after the last restart": f"{drain:.1f}s"})


def test_postgres_killed_is_restarted_by_the_stack_and_the_services_recover(federation):
    fed = federation()
    fed.publish_target()
    fed.send(3)
    pids = {c.name: c.proc.pid for c in fed.stack.children}
    pg, old = fed.stack.pg, fed.stack.pg.pid()
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)  # the postmaster; its backends are left without it
    eventually(lambda: pg.pid() not in (None, old), BACK, interval=0.1, what="PostgreSQL restarted by the stack")
    back = time.monotonic() - t0
    eventually(lambda: fed.call(SENDER, "referrals", "GET", "/api/v1/referrals").status_code == 200, BACK)
    served = time.monotonic() - t0
    for _ in range(3):  # a call while the database is away answers 503 problem+json: send again
        r = eventually(lambda: (lambda r: r if r.status_code == 201 else None)(fed.call(
            SENDER, "referrals", "POST", "/api/v1/referrals",
            json={"client_id": fed.client_id, "service_id": fed.service_id})), BACK)
        fed.sent.append(r.json()["id"])
    drain = fed.wait_exactly_once(DRAIN)
    assert {c.name: c.proc.pid for c in fed.stack.children} == pids  # recovered without restarting a service
    report("PostgreSQL postmaster SIGKILL, restarted by the stack", **{
        "ready again after": f"{back:.1f}s", "API answering after": f"{served:.1f}s", "drained": f"{drain:.1f}s"})


# -- the launcher itself -------------------------------------------------------------------------------
def test_the_reaper_stops_every_group_when_its_launcher_is_killed(tmp_path):
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tmp_path)], cwd=PROJECT_ROOT,
                                stdout=subprocess.PIPE, text=True)
    leaders = json.loads(launcher.stdout.readline())
    eventually(lambda: all(len(groups().get(leaders[g], [])) == 2 for g in ("stubborn", "family")), 30,
               what="the shells' sleeps")
    family = [pid for pgid in leaders.values() for pid in groups().get(pgid, [])]
    assert len(family) >= 5  # three leaders, the stubborn shell's sleep and the family's grandchild
    t0 = time.monotonic()
    launcher.kill()
    launcher.wait()
    eventually(lambda: not [p for p in family if _alive(p)], 60, what="every process of every group gone")
    gone = time.monotonic() - t0
    log = tmp_path / "logs" / "reaper.log"
    eventually(lambda: "stopped in" in log.read_text(), 30, what="the reaper's account")
    assert "launcher gone" in log.read_text() and "had to kill stubborn" in log.read_text()  # ignored SIGTERM
    assert _alive_from_records(tmp_path) == []
    report("launcher SIGKILL (reaper with sleeping groups)", **{"all gone after": f"{gone:.1f}s"})


LAUNCHER = """
import json, subprocess, sys, time
from devstack.reaper import Reaper
reaper = Reaper(sys.argv[1]).start()
started = {
    "plain": subprocess.Popen(["sleep", "600"], start_new_session=True),
    "stubborn": subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 600; :"], start_new_session=True),
    "family": subprocess.Popen(["sh", "-c", "sleep 600 & wait"], start_new_session=True),
}
for name, p in started.items():
    reaper.watch(name, p.pid)
print(json.dumps({name: p.pid for name, p in started.items()}), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return "?"


def _alive_from_records(var: Path) -> list[int]:
    from devstack.processes import Leader
    return [leader.pid for leader in map(Leader.from_json, (var / "processes.jsonl").read_text().splitlines())
            if leader.running()]


class Launcher:
    """`python -m devstack.stack` as a developer runs it (`./yhd up`), on free ports, its data in `var`."""

    def __init__(self, var: Path):
        self.var, self.base = var, free_port_range(60)
        self.log = var.parent / "launcher.log"
        self.proc: subprocess.Popen | None = None

    def kill(self) -> None:
        """SIGKILL: no finally, no signal handler runs."""
        self.proc.kill()
        self.proc.wait()

    def start(self) -> dict:
        """Start it; once var/stack.json says it is ready, that description (its pids among them)."""
        env = {**os.environ, "YHD_KAFKA_LIBS": str(KAFKA_LIBS)}
        env.pop("YHD_QUIET", None)  # its lines are what a developer reads
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack.stack", "--var", str(self.var), "--no-demo",
                 "--base-port", str(self.base), "--kafka-port", str(self.base + 55)],
                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        eventually(lambda: self._ready() or self.proc.poll() is not None, 300, interval=0.5, what="the stack ready")
        assert self.proc.poll() is None, self.log.read_text()[-4000:]
        self.started_in = time.monotonic() - t0
        return json.loads((self.var / "stack.json").read_text())

    def _ready(self) -> bool:
        """stack.json written by this launcher (one killed before leaves its own behind)."""
        try:
            return json.loads((self.var / "stack.json").read_text())["pids"]["launcher"] == self.proc.pid
        except (OSError, ValueError, KeyError):
            return False

    def left_behind(self, pids: dict, by_cmdline: bool = True) -> list[str]:
        """Processes of a stack that should be gone: its recorded pids, their groups (PostgreSQL's
        backends, gunicorn's workers) and (unless another run is up) anything whose command line names
        its var directory."""
        me = os.getpid()
        live = groups()
        found = {pid for pid in pids.values() if _alive(pid)}
        found |= {pid for pgid in pids.values() for pid in live.get(pgid, [])}
        for p in psutil.process_iter(["cmdline"]) if by_cmdline else ():
            if p.pid != me and str(self.var) in " ".join(p.info["cmdline"] or []):
                found.add(p.pid)
        return [f"{pid} {_cmdline(pid)[:120]}" for pid in sorted(found) if _alive(pid)]


def test_a_killed_launcher_leaves_nothing_behind_and_the_next_start_works(tmp_path):
    launcher = Launcher(tmp_path / "var")
    try:
        first = launcher.start()["pids"]
        assert {"kafka", "postgres", "reaper"} <= set(first) and len(first) > 10
        t0 = time.monotonic()
        launcher.kill()
        eventually(lambda: launcher.left_behind(first) == [], 60, interval=0.5, what="nothing left behind")
        gone = time.monotonic() - t0
        second = launcher.start()["pids"]  # stale stack.json, postmaster.pid, Kafka's lock: a start as any other
        took = launcher.started_in

        # the launcher and its reaper killed together: what they left is stopped by the next start
        os.kill(second["reaper"], signal.SIGKILL)
        launcher.kill()
        assert _alive(second["kafka"]) and _alive(second["postgres"])  # nobody stopped them
        third = launcher.start()["pids"]
        assert "Stopped what an earlier run left running" in launcher.log.read_text()
        assert launcher.left_behind(second, by_cmdline=False) == []

        launcher.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert launcher.proc.wait(120) == 0
        eventually(lambda: launcher.left_behind(third) == [], 30, interval=0.5, what="nothing left after Ctrl-C")
    finally:
        if launcher.proc is not None and launcher.proc.poll() is None:
            launcher.kill()  # its reaper stops the rest
    report("launcher SIGKILL", **{"everything gone after": f"{gone:.1f}s", "ready again after": f"{took:.1f}s",
                                  "ready after its reaper was killed too": f"{launcher.started_in:.1f}s"})
