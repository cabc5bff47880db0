"""The embedded stack of a test session (a pytest plugin): started once, as real processes (the README's
first command), for the e2e and browser tests, and offered to them as a `StackClient`.

The test marked `stops_the_stack` (Ctrl-C) runs right after the last other test that uses the stack,
wherever it was collected, and the stack stops once its last user is done, so that the tests after it
(the fault tests start federations of their own) have the machine to themselves.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.client import StackClient
from services.kernel.config import PROJECT_ROOT
from tests.support.parts import KAFKA_LIBS, free_port_range, unavailable

RUNNING = pytest.StashKey["RunningStack"]()
LAST_USER = pytest.StashKey[str]()
STOPS = "stops_the_stack"


class RunningStack(StackClient):
    """The session's stack: its description (`desc`), the client's calls, and the launcher process."""

    def __init__(self, desc: dict, var: Path, proc: subprocess.Popen, started_in: float):
        super().__init__(desc)
        self.var, self.proc, self.started_in = var, proc, started_in

    def current(self) -> dict:
        """var/stack.json as the launcher keeps it now (it writes there the pid of a restarted child)."""
        return json.loads((self.var / "stack.json").read_text())

    def urls(self) -> list[str]:
        """Every service's base URL: regional reporting and each organisation's services."""
        return [self.desc["reporting"]] + [u for o in self.desc["orgs"].values() for u in o["services"].values()]

    def stop(self, timeout: float = 60) -> int | None:
        """Ctrl-C to the launcher, as a developer would stop it; its exit code (None: it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


def start_stack(var: Path, within: float = 180) -> RunningStack:
    """`python -m devstack.stack` on free ports with its data in `var`, once it has written stack.json."""
    base = free_port_range(60)
    env = {**os.environ, "YHD_KAFKA_LIBS": str(KAFKA_LIBS)}
    t0 = time.monotonic()
    with open(var / "launcher.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "devstack.stack", "--var", str(var),
                                 "--base-port", str(base), "--kafka-port", str(base + 55)],
                                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack_json = var / "stack.json"
    while not stack_json.exists():
        if proc.poll() is not None or time.monotonic() - t0 > within:
            proc.kill()
            unavailable("the embedded stack", (var / "launcher.log").read_text()[-4000:])
        time.sleep(0.5)
    return RunningStack(json.loads(stack_json.read_text()), var, proc, time.monotonic() - t0)


@pytest.fixture(scope="session")
def stack(request, tmp_path_factory) -> RunningStack:
    running = start_stack(tmp_path_factory.mktemp("stack-var"))
    print(f"\nembedded stack ready in {running.started_in:.1f}s")
    request.config.stash[RUNNING] = running
    yield running
    running.stop()


@pytest.hookimpl(trylast=True)  # after deselection (-k, -m)
def pytest_collection_modifyitems(config, items):
    stoppers = [i for i in items if i.get_closest_marker(STOPS)]
    rest = [i for i in items if not i.get_closest_marker(STOPS)]
    users = [n for n, i in enumerate(rest) if "stack" in i.fixturenames]
    at = users[-1] + 1 if users else len(rest)
    items[:] = rest[:at] + stoppers + rest[at:]
    users = [i for i in items if "stack" in i.fixturenames]
    if users:
        config.stash[LAST_USER] = users[-1].nodeid


def pytest_runtest_teardown(item, nextitem):
    running = item.config.stash.get(RUNNING, None)
    if running is not None and item.nodeid == item.config.stash.get(LAST_USER, None):
        running.stop()
