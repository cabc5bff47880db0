"""One service's web process as production runs it: gunicorn with deploy/gunicorn.conf.py, on a real
database, with users seeded the way `python -m services.kernel.admin add-user` does."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import requests
from sqlalchemy import create_engine

from devstack.client import eventually
from services.kernel import db
from services.kernel.auth import new_token, upsert_user
from services.kernel.config import PROJECT_ROOT, sqlalchemy_url
from tests.support.parts import free_port

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
UNREACHABLE_BROKER = "127.0.0.1:9"   # pages and logins need no broker; /healthz then says so


def seed_users(database_url: str, service: str, users: list[dict]) -> None:
    """Migrate the database and add `users` ({username, role, password, member_org?}); tokens are set."""
    db.migrate(sqlalchemy_url(database_url), PROJECT_ROOT / "services" / service / "migrations")
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.begin() as conn:
        for u in users:
            u.setdefault("token", new_token())
            upsert_user(conn, u["username"], u["role"], u["token"], password=u.get("password"),
                        member_org=u.get("member_org"))
    engine.dispose()


class Gunicorn:
    def __init__(self, service: str, env: dict, log: Path, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "YHD_DEMO"))},
                    "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers),
                    "KAFKA_BOOTSTRAP_SERVERS": UNREACHABLE_BROKER, "PYTHONUNBUFFERED": "1", **env}
        self.argv = [GUNICORN, "-c", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"),
                     f"services.{service}.app:create_app()"]
        self.proc: subprocess.Popen | None = None

    def start(self, within: float = 60) -> "Gunicorn":
        """Start it and wait (a generous bound) until it answers HTTP; AssertionError with its log if it exits."""
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=PROJECT_ROOT, stdout=f,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        eventually(lambda: self.proc.poll() is not None or requests.get(self.url + "/healthz", timeout=5).status_code,
                   within, what=f"gunicorn on {self.url}")
        assert self.proc.poll() is None, self.output()
        return self

    def run_to_exit(self, within: float = 60) -> int:
        """Start it expecting it to refuse: its exit code (output in `output()`)."""
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=PROJECT_ROOT, stdout=f,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return self.proc.wait(within)
        finally:
            self.stop()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(url: str, username: str, password: str, session: requests.Session | None = None) -> requests.Response:
    """The login form as a browser posts it (CSRF token from the form); no redirect followed."""
    s = session or requests.Session()
    page = s.get(url + "/login", timeout=10)
    return s.post(url + "/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
                  allow_redirects=False, timeout=30)

