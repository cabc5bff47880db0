"""Apache Kafka 4.x, single-node KRaft, from Maven Central jars: embedded stack and tests.

Production never uses this: it passes KAFKA_BOOTSTRAP_SERVERS. The broker runs as a child in a
session of its own; a broker left running on the same configuration by an earlier run is stopped first.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psutil

from services.kernel import broker
from services.kernel.config import PROJECT_ROOT

from .processes import Leader, stop_groups
from .supervision import SupervisedServer

log = logging.getLogger(__name__)
KAFKA_DIR = PROJECT_ROOT / "deploy" / "kafka"


class KafkaError(RuntimeError):
    pass


def java_bin() -> str:
    home = os.environ.get("JAVA_HOME")
    java = Path(home) / "bin" / "java" if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise KafkaError("Java 17+ is needed to run Kafka: install a JDK (e.g. apt-get install openjdk-17-jre-headless)")
    return str(java)


def resolve_jars(libs: Path) -> Path:
    """Copy the broker's jars from Maven (its cache makes later runs offline); skip if the pom is unchanged."""
    pom = KAFKA_DIR / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    stamp = libs / ".pom.sha256"
    if stamp.exists() and stamp.read_text() == digest and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise KafkaError("Maven (mvn) is needed to resolve the Kafka jars: apt-get install maven")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    r = subprocess.run([mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                        f"-DoutputDirectory={libs}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise KafkaError(f"mvn could not resolve the Kafka jars:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    stamp.write_text(digest)
    return libs


class EmbeddedKafka(SupervisedServer):
    def __init__(self, home: Path, port: int, controller_port: int, libs: Path | None = None,
                 heap: str = "512m"):
        super().__init__()
        self.home = Path(home).resolve()
        self.port, self.controller_port = port, controller_port
        self.libs = Path(libs) if libs else self.home / "libs"
        self.heap = heap

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def _write_config(self) -> Path:
        props = {
            "process.roles": "broker,controller", "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER", "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir), "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0", "num.partitions": "1",
            "log.retention.hours": "168",
            # a broker restarted after a crash registers again only once its old session expired (9 s)
            "broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "750",
        }
        path = self.config_path
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def format_if_needed(self, config: Path) -> bool:
        if (self.data_dir / "meta.properties").exists():
            return False
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # --cluster-id=<id>: a random id may start with "-", which a separate argument would not survive
        r = subprocess.run([java_bin(), "-cp", f"{self.libs}/*", "kafka.tools.StorageTool", "format",
                            f"--cluster-id={cluster_id}", "-c", str(config)], capture_output=True, text=True)
        if r.returncode != 0:
            raise KafkaError(f"formatting Kafka storage failed:\n{r.stdout}\n{r.stderr}")
        return True

    @property
    def config_path(self) -> Path:
        return self.home / "server.properties"

    def start(self, timeout: float = 60) -> "EmbeddedKafka":
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return self
            self.home.mkdir(parents=True, exist_ok=True)
            resolve_jars(self.libs)
            config = self._write_config()
            self.format_if_needed(config)
            self._stop_leftovers()
            log_file = open(self.home / "broker.log", "ab")
            self.proc = subprocess.Popen(
                [java_bin(), f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                 "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.yaml'}",
                 "-cp", f"{self.libs}/*", "kafka.Kafka", str(config)],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            log_file.close()
            self.wanted = True
            try:
                self.wait_ready(timeout)
            except KafkaError:
                self._kill()  # still meant to run: the supervisor tries again
                raise
            return self

    def _stop_leftovers(self) -> None:
        """A broker of an earlier run still on this configuration (its launcher was killed) would hold
        the ports and the data directory's lock."""
        mine = str(self.config_path)
        left = [Leader.of("kafka", p.pid) for p in psutil.process_iter(["cmdline"])
                if mine in (p.info["cmdline"] or [])]
        left = [leader for leader in left if leader is not None]
        if left:
            log.warning("stopping a broker left running on %s: %s", mine, [leader.pid for leader in left])
            stop_groups(left)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = (self.home / "broker.log").read_text(errors="replace")[-3000:]
                raise KafkaError(f"Kafka exited with {self.proc.returncode}:\n{tail}")
            if self.listening() and self.answers():
                return
            time.sleep(0.2)
        raise KafkaError(f"Kafka did not become ready on {self.bootstrap} within {timeout:.0f}s")

    def answers(self, timeout_ms: int = 2000) -> bool:
        """A metadata request answers, within about `timeout_ms` even if the broker dies meanwhile."""
        return broker.broker_reachable(self.bootstrap, timeout_ms)

    def listening(self) -> bool:
        with socket.socket() as s:
            s.settimeout(1.0)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self, timeout: float = 30) -> None:
        with self.lock:
            self.wanted = False
            if self.proc is None or self.proc.poll() is not None:
                return
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()

    def kill(self) -> None:
        """SIGKILL on purpose: the broker stays down until `start()`."""
        with self.lock:
            self.wanted = False
            self._kill()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
