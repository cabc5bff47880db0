"""The embedded multi-organisation stack: the README's first command.

Starts PostgreSQL and Kafka on loopback, creates topics and databases, starts
every organisation's services (gunicorn) with their relay and consumer
processes plus regional reporting, loads demo data, writes var/stack.json,
restarts a child, Kafka or PostgreSQL that dies (same ports, same data), and
stops everything cleanly on Ctrl-C. A reaper process stops whatever the
launcher started if the launcher itself is killed; a start after that stops
what an earlier run left. Data is kept between runs unless --reset is given.

    python -m devstack.stack [--var DIR] [--reset] [--base-port N] [--kafka-port N]
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine

from services.kernel import broker
from services.kernel.auth import new_token, upsert_user
from services.kernel.config import PROJECT_ROOT, sqlalchemy_url
from services.kernel.federation import Federation

from . import services as service_list
from .client import StackClient
from .demo import load_demo_catalogue, load_demo_data
from .kafka import EmbeddedKafka
from .postgres import EmbeddedPostgres
from .reaper import Reaper, stop_leftovers
from .supervision import Backoff, EngineSupervisor

ROLES = ("caseworker", "manager", "registrar", "admin")
# attendance's own user at its organisation's referrals service (role `service`): it reads the client directory
# there for the user logged in to attendance (services/attendance/directory.py)
DIRECTORY_USER = "attendance-service"
USER_FIELDS = ("username", "role", "token", "password")   # what var/stack.json tells of each demo user
REPORTING_USER_FIELDS = USER_FIELDS + ("member_org",)


def say(step: str, detail: str = "") -> None:
    if os.environ.get("YHD_QUIET"):
        return
    print(f"[{time.strftime('%H:%M:%S')}] {step}{(' — ' + detail) if detail else ''}", flush=True)


def db_name(org: str, service: str) -> str:
    return f"{org}_{service}".replace("-", "_")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    restarts: int = 0
    backoff: Backoff = field(default_factory=Backoff)

    def start(self):
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=f, stderr=subprocess.STDOUT,
                                         cwd=PROJECT_ROOT, start_new_session=True)
        self.backoff.started(time.monotonic())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass


@dataclass
class Stack:
    var: Path
    base_port: int
    kafka_port: int
    federation: Federation
    pg: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | None = None
    children: list[Child] = field(default_factory=list)
    reaper: Reaper | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    only: dict[str, tuple[str, ...]] | None = None   # org -> services to run (default: all of the federation)
    with_reporting: bool = True
    consumers_per_instance: int = 1
    # one worker process per instance runs its relay and consumer as threads (`worker all`: about 0.7 GiB
    # less for the demo stack); separate processes, as in production, when a test must kill one of them
    separate_workers: bool = False
    extra_env: dict = field(default_factory=dict)

    # -- layout --------------------------------------------------------------
    def port(self, org_index: int | None, service: str) -> int:
        return service_list.load()[service].port(self.base_port, org_index)

    def instances(self):
        """(org_id, service, port) for every service instance, reporting last."""
        for i, (org_id, org) in enumerate(self.federation.organisations.items()):
            if self.only is not None and org_id not in self.only:
                continue
            for svc in org.services:
                if self.only is None or svc in self.only[org_id]:
                    yield org_id, svc, self.port(i, svc)
        if self.with_reporting:
            for svc in service_list.regional_services():
                yield self.federation.reporting_org, svc, self.port(None, svc)

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def check_ports_free(self):
        import socket
        wanted = [self.kafka_port, self.kafka_port + 1] + [port for _, _, port in self.instances()]
        for port in wanted:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    raise RuntimeError(f"port {port} on 127.0.0.1 is in use (is another stack running?); "
                                       "choose others with --base-port / --kafka-port") from None

    # -- engines -------------------------------------------------------------
    def start_engines(self):
        stop_earlier_run(self.var)
        self.check_ports_free()
        self.reaper = Reaper(self.var).start()
        t = time.monotonic()
        self.pg = EmbeddedPostgres(self.var / "postgres")
        self.pg.start()
        self.watch_processes()
        say("PostgreSQL 18 running", f"{self.pg.url()} ({time.monotonic() - t:.1f}s)")
        t = time.monotonic()
        self.kafka = EmbeddedKafka(self.var / "kafka", self.kafka_port, self.kafka_port + 1,
                                   libs=Path(os.environ.get("YHD_KAFKA_LIBS", self.var / "kafka-libs")))
        self.kafka.start()
        self.watch_processes()
        say("Apache Kafka (KRaft) running", f"{self.kafka.bootstrap} ({time.monotonic() - t:.1f}s)")
        created = broker.ensure_topics(self.kafka.bootstrap, PROJECT_ROOT / "deploy" / "topics.yaml")
        say("Topics ready", f"created {len(created)}" if created else "all existed")

    def prepare_databases(self, users: dict) -> dict:
        urls = {}
        for org_id, svc, _ in self.instances():
            url = self.pg.create_database(db_name(org_id, svc))
            urls[(org_id, svc)] = url
        say("Databases ready", f"{len(urls)} (one per organisation and service)")
        # migrations run here once so the many processes find an up-to-date schema
        from services.kernel import db
        for (org_id, svc), url in urls.items():
            db.migrate(sqlalchemy_url(url), PROJECT_ROOT / "services" / svc / "migrations")
            eng = create_engine(sqlalchemy_url(url))
            with eng.begin() as conn:
                for u in users[org_id]:
                    upsert_user(conn, u["username"], u["role"], u["token"], u["display_name"], u.get("password"),
                                u.get("member_org"))
                if svc == "referrals" and self.port_of(org_id, "attendance"):
                    upsert_user(conn, DIRECTORY_USER, "service", self.directory_token_file(org_id).read_text().strip(),
                                f"Attendance ({org_id})")
            eng.dispose()
        say("Schemas migrated and users seeded")
        return urls

    def users(self) -> dict:
        """Demo users per organisation; tokens and page passwords are kept across runs in var/users.json."""
        path = self.var / "users.json"
        users = json.loads(path.read_text()) if path.exists() else {}
        orgs = list(self.federation.organisations) + [self.federation.reporting_org]
        orgs = [o for o in orgs if self.only is None or o in self.only or o == self.federation.reporting_org]
        for org_id in orgs:
            have = {u["username"] for u in users.setdefault(org_id, [])}
            wanted = (self.reporting_users() if org_id == self.federation.reporting_org else
                      [{"username": f"{role}@{org_id}", "role": role, "display_name": f"Demo {role} ({org_id})"}
                       for role in ROLES])
            users[org_id] = [u for u in users[org_id] if org_id != self.federation.reporting_org
                             or u["username"] in {w["username"] for w in wanted}]   # not the old manager@region
            users[org_id] += [{**u, "token": new_token()} for u in wanted if u["username"] not in have]
        for u in (u for org_users in users.values() for u in org_users):
            u.setdefault("password", secrets.token_urlsafe(12))  # also for users.json of earlier versions
        path.write_text(json.dumps(users, indent=2))
        path.chmod(0o600)
        return users

    def reporting_users(self) -> list[dict]:
        """Reporting's own users: the region's coordinator, its admin, and each organisation's manager
        (who sees that organisation's rows only)."""
        region = self.federation.reporting_org
        return ([{"username": f"coordinator@{region}", "role": "coordinator", "display_name": "Demo coordinator"},
                 {"username": f"admin@{region}", "role": "admin", "display_name": "Demo admin (reporting)"}]
                + [{"username": f"manager.{org_id}@{region}", "role": "manager", "member_org": org_id,
                    "display_name": f"Demo manager of {org_id} (reporting)"}
                   for org_id in self.federation.organisations if self.only is None or org_id in self.only])

    def directory_token_file(self, org_id: str) -> Path:
        """The file holding attendance's token at the organisation's referrals service (REFERRALS_TOKEN_FILE),
        kept across runs in var/service-tokens/."""
        path = self.var / "service-tokens" / f"{org_id}-{DIRECTORY_USER}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_token())
            path.chmod(0o600)
        return path

    def port_of(self, org_id: str, svc: str) -> int | None:
        """The port of the organisation's instance of `svc`; None when the stack does not run it."""
        return next((port for o, s, port in self.instances() if o == org_id and s == svc), None)

    def metrics_token(self) -> str:
        """The stack's METRICS_TOKEN (kept across runs in var/metrics-token): what /metrics asks for."""
        path = self.var / "metrics-token"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    # -- processes -----------------------------------------------------------
    def child_env(self, org_id: str, svc: str, url: str, port: int) -> dict:
        metrics_dir = self.var / "metrics" / f"{org_id}-{svc}"
        if metrics_dir.exists():
            shutil.rmtree(metrics_dir)
        metrics_dir.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
        env.update(ORG_ID=org_id, DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=self.kafka.bootstrap,
                   PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), BIND=f"127.0.0.1:{port}",
                   WEB_CONCURRENCY=os.environ.get("YHD_WEB_WORKERS", "1"), PROC_NAME=f"yhd-{org_id}-{svc}",
                   PYTHONUNBUFFERED="1", KAFKA_CLIENT_TIMEOUT_MS=os.environ.get("KAFKA_CLIENT_TIMEOUT_MS", "10000"),
                   YHD_DEMO_MODE="1",  # the public demo keys, pathway secret and derived session secrets
                   METRICS_TOKEN=self.metrics_token())
        referrals = self.port_of(org_id, "referrals")
        if svc == "attendance" and referrals:   # the organisation's client directory
            env.update(REFERRALS_URL=f"http://127.0.0.1:{referrals}",
                       REFERRALS_TOKEN_FILE=str(self.directory_token_file(org_id)))
        fed = self.federation
        if org_id == fed.reporting_org:  # reporting's demo key (opens the person keys) and pseudonym secret
            for name, path in (("ENCRYPTION_KEY_FILE", fed.reporting_demo_encryption_key_file),
                               ("REPORTING_PSEUDONYM_SECRET_FILE", fed.reporting_demo_pseudonym_secret_file)):
                if path is not None:
                    env[name] = str(path)
        env.update(self.extra_env)
        return env

    def start_services(self, urls: dict):
        py = sys.executable
        gunicorn = str(Path(py).with_name("gunicorn"))
        for org_id, svc, port in self.instances():
            env = self.child_env(org_id, svc, urls[(org_id, svc)], port)
            logs = self.var / "logs" / org_id
            self.children.append(Child(f"{org_id}/{svc}/web", [
                gunicorn, "-c", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"),
                f"services.{svc}.app:create_app()"], env, logs / f"{svc}-web.log"))
            if not self.separate_workers:
                self.children.append(Child(f"{org_id}/{svc}/worker", [py, "-m", f"services.{svc}.worker", "all"],
                                           env, logs / f"{svc}-worker.log"))
            else:
                self.children.append(Child(f"{org_id}/{svc}/relay", [py, "-m", f"services.{svc}.worker", "relay"],
                                           env, logs / f"{svc}-relay.log"))
            first = 0 if self.separate_workers else 1  # the worker process consumes too
            for n in range(first, self.consumers_per_instance if service_list.load()[svc].consumes_events else 0):
                suffix = "" if n == 0 else f"-{n + 1}"
                self.children.append(Child(f"{org_id}/{svc}/consumer{suffix}",
                                           [py, "-m", f"services.{svc}.worker", "consumer"],
                                           env, logs / f"{svc}-consumer{suffix}.log"))
        for c in self.children:
            c.start()
        self.watch_processes()
        say("Processes started", f"{len(self.children)} (per service instance: gunicorn, and "
            + ("relay and consumer)" if self.separate_workers else "a worker running its relay and consumer)"))

    def wait_healthy(self, timeout: float = 90):
        pending = {f"http://127.0.0.1:{port}/healthz" for _, _, port in self.instances()}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for url in list(pending):
                try:
                    with urllib.request.urlopen(url, timeout=2) as r:
                        if r.status == 200:
                            pending.discard(url)
                except (urllib.error.URLError, OSError):
                    pass
            dead = [c for c in self.children if c.proc.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0].name} exited with {dead[0].proc.returncode}; see {dead[0].log}")
            if pending:
                time.sleep(0.3)
        if pending:
            raise RuntimeError(f"not healthy within {timeout:.0f}s: {sorted(pending)}")
        say("Every service answers /healthz")

    def describe(self, users: dict) -> dict:
        orgs = {}
        for org_id, svc, port in self.instances():
            if service_list.load()[svc].regional:
                continue
            o = orgs.setdefault(org_id, {
                "name": self.federation.get(org_id).display_name("fi"), "services": {},
                "users": [{k: u[k] for k in USER_FIELDS} for u in users[org_id]]})
            o["services"][svc] = f"http://127.0.0.1:{port}"
        return {"broker": self.kafka.bootstrap, "database": self.pg.url(),
                "reporting": f"http://127.0.0.1:{self.port(None, 'reporting')}", "orgs": orgs,
                "reporting_users": [{k: u.get(k) for k in REPORTING_USER_FIELDS}
                                    for u in users[self.federation.reporting_org]],
                "metrics_token": self.metrics_token(),
                "pids": {"launcher": os.getpid(), **self.processes()}}

    def processes(self) -> dict[str, int]:
        """The pid of each process the stack runs now: the engines, the reaper and every child."""
        pids = {"kafka": self.kafka and self.kafka.proc and self.kafka.proc.pid,
                "postgres": self.pg and self.pg.pid(),
                "reaper": self.reaper and self.reaper.alive() and self.reaper.proc.pid,
                **{c.name: c.proc.pid for c in self.children if c.proc is not None}}
        return {name: pid for name, pid in pids.items() if pid}

    def watch_processes(self):
        """Tell the reaper every process group started since (a restarted reaper learns them all)."""
        if not self.reaper.alive() and not self.stopping.is_set():
            say(f"reaper exited with {self.reaper.proc.returncode}", "starting it again")
            self.reaper.start()
        for name, pid in self.processes().items():
            if name != "reaper":
                self.reaper.watch(name, pid, signal.SIGINT if name == "postgres" else signal.SIGTERM)

    def supervise(self):
        """Restart an engine or a child that dies (with backoff), until asked to stop."""
        engines = [EngineSupervisor("postgresql", self.pg, say), EngineSupervisor("kafka", self.kafka, say)]
        while not self.stopping.wait(1.0):
            for e in engines:  # first, since the services need them
                if not self.stopping.is_set():
                    e.check(self.stopping)
            if not self.stopping.is_set():
                self.watch_processes()  # a restarted engine's group, before any wait below
            for c in self.children:
                if c.alive() or self.stopping.is_set():
                    continue
                delay = c.backoff.delay(time.monotonic())
                say(f"{c.name} exited with {c.proc.returncode}", f"restarting in {delay:.0f}s (see {c.log})")
                if self.stopping.wait(delay):
                    break
                c.restarts += 1
                c.start()
                self.watch_processes()  # at once: the launcher may die during the next child's backoff
            if not self.stopping.is_set():
                self.watch_processes()
                self.write_pids()

    def write_pids(self):
        path = self.var / "stack.json"
        if path.exists():
            desc = json.loads(path.read_text())
            pids = self.processes()
            if desc.get("pids", {}) != {**desc.get("pids", {}), **pids}:
                desc["pids"].update(pids)
                _write_json(path, desc)

    def shutdown(self):
        self.stopping.set()
        say("Stopping", f"{len(self.children)} processes, Kafka and PostgreSQL")
        for c in self.children:
            c.stop()
        deadline = time.monotonic() + 15
        for c in self.children:
            if c.proc is None:
                continue
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.stop(signal.SIGKILL)
        if self.kafka:
            self.kafka.stop()
        if self.pg:
            self.pg.stop()
        if self.reaper:
            self.reaper.close()  # it stops whatever did not stop on its own
        (self.var / "stack.json").unlink(missing_ok=True)
        say("Stopped cleanly")


def stop_earlier_run(var: Path) -> None:
    """Stop what an earlier launcher of `var` left running (it and its reaper were killed)."""
    left = stop_leftovers(var)
    if left:
        say("Stopped what an earlier run left running", ", ".join(f"{x.name} ({x.pid})" for x in left))


def _write_json(path: Path, data: dict):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    tmp.chmod(0o600)
    tmp.replace(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--var", type=Path, default=Path(os.environ.get("YHD_VAR", PROJECT_ROOT / "var")))
    p.add_argument("--reset", action="store_true", help="delete the data of earlier runs first")
    p.add_argument("--base-port", type=int, default=int(os.environ.get("YHD_BASE_PORT", 8100)))
    p.add_argument("--kafka-port", type=int, default=int(os.environ.get("YHD_KAFKA_PORT", 19092)))
    p.add_argument("--no-demo", action="store_true", help="do not load demo data")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    var = args.var.resolve()
    if args.reset:
        stop_earlier_run(var)  # before its data goes
        for sub in ("postgres", "kafka", "logs", "metrics", "metrics-token", "users.json", "service-tokens",
                    "demo-loaded", "stack.json"):
            target = var / sub
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        say("Reset", f"removed earlier data under {var}")
    var.mkdir(parents=True, exist_ok=True)
    (var / "stack.json").unlink(missing_ok=True)  # left by a launcher that was killed: nothing it names runs
    stack = Stack(var, args.base_port, args.kafka_port, Federation.load(PROJECT_ROOT / "deploy" / "federation.yaml"))

    def on_signal(*_):
        stack.stopping.set()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        say("Starting Yhdistämö", f"data in {var}")
        stack.start_engines()
        users = stack.users()
        urls = stack.prepare_databases(users)
        stack.start_services(urls)
        stack.wait_healthy()
        desc = stack.describe(users)
        if not args.no_demo and not (var / "demo-loaded").exists():
            n = load_demo_data(StackClient(desc))
            (var / "demo-loaded").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
            say("Demo data loaded", n)
        elif not args.no_demo and any(load_demo_catalogue(StackClient(desc))):
            say("Demo catalogue loaded", "into organisations whose catalogue was empty")
        _write_json(var / "stack.json", desc)
        say(f"Ready in {time.monotonic() - t0:.1f}s", f"wrote {var / 'stack.json'}")
        for org_id, o in desc["orgs"].items():
            say(f"  {o['name']} ({org_id})", "  ".join(f"{k} {v}" for k, v in o["services"].items()))
        say("  Regional reporting", desc["reporting"])
        say("Press Ctrl-C to stop")
        stack.supervise()
        return 0
    except Exception as e:
        say("FAILED", str(e))
        return 1
    finally:
        stack.shutdown()


if __name__ == "__main__":
    sys.exit(main())
