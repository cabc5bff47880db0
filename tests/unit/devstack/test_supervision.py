"""When the launcher starts again what died: backoff, crashes vs. deliberate stops, and what it says."""
from __future__ import annotations

import threading

import pytest

from devstack.supervision import Backoff, EngineSupervisor, SupervisedServer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeProc:
    def __init__(self, pid):
        self.pid, self.returncode = pid, None

    def poll(self):
        return self.returncode


class FakeEngine(SupervisedServer):
    """A server whose process is a stand-in: `crash(code)` ends it; `start` may be told to fail."""

    def __init__(self):
        super().__init__()
        self.starts, self.fail_next, self.next_pid = 0, 0, 100

    def start(self, timeout=60):
        with self.lock:
            self.starts += 1
            self.next_pid += 1
            self.proc = FakeProc(self.next_pid)
            self.wanted = True
            if self.fail_next:
                self.fail_next -= 1
                self.proc.returncode = 1
                raise RuntimeError("did not become ready\nlog tail ...")
            return self

    def stop(self):
        with self.lock:
            self.wanted = False
            self.proc.returncode = 0

    def crash(self, code=-9):
        self.proc.returncode = code


class NoWait(threading.Event):
    """A stop event whose waits return at once, recording how long they were asked to be."""

    def __init__(self, clock):
        super().__init__()
        self.clock, self.waits = clock, []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        self.clock.now += timeout or 0
        return self.is_set()


def supervised():
    clock, said = Clock(), []
    engine = FakeEngine().start()
    sup = EngineSupervisor("kafka", engine, lambda step, detail="": said.append(f"{step} — {detail}"),
                           clock=clock)
    return clock, engine, sup, said, NoWait(clock)


def test_backoff_doubles_while_the_process_keeps_dying_and_is_capped():
    b, delays, now = Backoff(cap=30, settle=60), [], 0.0
    for _ in range(8):
        delays.append(b.delay(now))
        b.started(now)
        now += 1  # dies a second after each start
    assert delays == [0, 1, 2, 4, 8, 16, 30, 30]


def test_backoff_forgets_once_the_process_ran_long_enough():
    b = Backoff(cap=30, settle=60)
    for now in (0.0, 1.0, 2.0, 3.0):
        b.delay(now)
        b.started(now)
    assert b.delay(4.0) == 8
    assert b.delay(3.0 + 60) == 0 and b.attempts == 0


def test_a_crashed_engine_is_restarted_at_once_and_the_launcher_says_so():
    clock, engine, sup, said, stopping = supervised()
    assert sup.check(stopping) is False  # running: nothing to do
    engine.crash(-9)
    assert sup.check(stopping) is True
    assert engine.starts == 2 and engine.exit_code() is None
    assert said[0] == "kafka died (exit -9) — restarting (attempt 1)"
    assert said[1].startswith("kafka running again — ")
    assert stopping.waits == [0]


def test_repeated_crashes_soon_after_each_start_back_off():
    clock, engine, sup, said, stopping = supervised()
    for _ in range(4):
        clock.now += 2
        engine.crash()
        assert sup.check(stopping)
    assert stopping.waits == [0, 1, 2, 4]
    assert "restarting in 4s (attempt 4)" in said[-2]


def test_an_engine_stopped_on_purpose_is_left_down():
    clock, engine, sup, said, stopping = supervised()
    engine.stop()
    assert engine.exit_code() is None
    assert sup.check(stopping) is False and engine.starts == 1 and said == []


def test_an_engine_started_again_by_its_owner_meanwhile_is_not_started_twice():
    clock, engine, sup, said, stopping = supervised()
    engine.crash()
    engine.start()  # e.g. a test restarting the broker itself, between the crash and the supervisor
    assert engine.recover() is False and engine.starts == 2


def test_a_failed_restart_is_tried_again_with_backoff():
    clock, engine, sup, said, stopping = supervised()
    engine.crash()
    engine.fail_next = 1
    assert sup.check(stopping) is False
    assert said[-1] == "kafka did not start — did not become ready"
    assert engine.exit_code() == 1  # still meant to run: the next check tries again
    assert sup.check(stopping) is True
    assert stopping.waits == [0, 1] and engine.starts == 3


def test_no_restart_once_the_stack_is_stopping():
    clock, engine, sup, said, stopping = supervised()
    engine.crash()
    stopping.set()
    assert sup.check(stopping) is False and engine.starts == 1


@pytest.mark.parametrize("code", [-9, 1, 137])
def test_the_exit_code_is_reported(code):
    clock, engine, sup, said, stopping = supervised()
    engine.crash(code)
    sup.check(stopping)
    assert said[0].startswith(f"kafka died (exit {code})")
