"""Outside demo mode an instance refuses to start with the public demo keys, the demo pathway secret or a
session secret that is missing or derived (issue 13, item 5): the real entry points (gunicorn with the
service's app factory, the worker) are started without YHD_DEMO_MODE, and their one line is read."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys

import pytest
import requests

from services.kernel import keys, sealed
from services.kernel.config import PROJECT_ROOT
from tests.support.web import Gunicorn, seed_users

pytestmark = pytest.mark.integration
DEMO = PROJECT_ROOT / "deploy" / "demo-keys"


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """This organisation's own keys and secrets, as a real deployment has them."""
    d = tmp_path_factory.mktemp("own-keys")
    keys.generate(d / "odl.pem")
    sealed.generate(d / "odl.x25519")
    (d / "pathway-secret").write_text(secrets.token_hex(32) + "\n")
    for name in ("odl.ed25519.pem", "odl.x25519", "pathway-secret"):   # demo files copied elsewhere
        shutil.copy(DEMO / name, d / f"copied-demo-{name}")
    return {"SIGNING_KEY_FILE": str(d / "odl.pem"), "ENCRYPTION_KEY_FILE": str(d / "odl.x25519"),
            "PATHWAY_SECRET_FILE": str(d / "pathway-secret"), "SECRET_KEY": secrets.token_urlsafe(32), "dir": d}


@pytest.fixture(scope="module")
def database(pg):
    url = pg.create_database("demo_mode_referrals")
    seed_users(url, "referrals", [{"username": "caseworker@odl", "role": "caseworker", "password": "salasana-123"}])
    yield url
    pg.drop_database("demo_mode_referrals")


def settings(own, database, **changes):
    env = {k: v for k, v in own.items() if k != "dir"}
    env.update(ORG_ID="odl", DATABASE_URL=database)
    for k, v in changes.items():
        if v is None:
            env.pop(k)
        else:
            env[k] = str(own["dir"] / v) if v.startswith("copied-demo-") else v
    return env


def refusal(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("refusing to start:")]
    assert len(lines) >= 1, output[-3000:]
    assert len(set(lines)) == 1, lines
    return lines[0]


CASES = {
    "signing key unset": ({"SIGNING_KEY_FILE": None}, "SIGNING_KEY_FILE is not set"),
    "demo signing key copied": ({"SIGNING_KEY_FILE": "copied-demo-odl.ed25519.pem"}, "SIGNING_KEY_FILE="),
    "demo signing key in place": ({"SIGNING_KEY_FILE": str(DEMO / "oulu-social.ed25519.pem")}, "SIGNING_KEY_FILE="),
    "encryption key unset": ({"ENCRYPTION_KEY_FILE": None}, "ENCRYPTION_KEY_FILE is not set"),
    "demo encryption key": ({"ENCRYPTION_KEY_FILE": "copied-demo-odl.x25519"}, "ENCRYPTION_KEY_FILE="),
    "pathway secret unset": ({"PATHWAY_SECRET_FILE": None}, "PATHWAY_SECRET_FILE is not set"),
    "demo pathway secret": ({"PATHWAY_SECRET_FILE": "copied-demo-pathway-secret"}, "PATHWAY_SECRET_FILE="),
    "session secret unset": ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
    "session secret short": ({"SECRET_KEY": "lyhyt"}, "SECRET_KEY is shorter"),
    "demo metrics token": ({"METRICS_TOKEN_FILE": str(DEMO / "metrics-token")}, "METRICS_TOKEN is the public demo"),
    "no such SameSite": ({"SESSION_COOKIE_SAMESITE": "Sometimes"}, "SESSION_COOKIE_SAMESITE='Sometimes'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_gunicorn_refuses_to_start_naming_the_setting(case, own, database, tmp_path):
    changes, expected = CASES[case]
    g = Gunicorn("referrals", settings(own, database, **changes), tmp_path / "web.log")
    code = g.run_to_exit(within=60)
    line = refusal(g.output())
    assert code != 0 and expected in line, (code, line)
    assert "YHD_DEMO_MODE=1" in line or "SECRET_KEY" in expected or "SAMESITE" in expected
    if "demo" in case and "key" in case:
        assert "public demo key" in line


def test_the_worker_refuses_a_demo_key_too(own, database):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("YHD_DEMO")},
           **settings(own, database, ENCRYPTION_KEY_FILE=str(DEMO / "odl.x25519")),
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-m", "services.referrals.worker", "relay"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert refusal(done.stderr).startswith("refusing to start: ENCRYPTION_KEY_FILE=")


def test_own_keys_and_secret_start_and_the_cookie_is_secure_by_default(own, database, tmp_path):
    g = Gunicorn("referrals", settings(own, database), tmp_path / "web.log").start()
    try:
        cookie = requests.get(g.url + "/login", timeout=10).headers["Set-Cookie"]
        assert "; Secure" in cookie and "SameSite=Lax" in cookie
    finally:
        g.stop()
    assert "refusing to start" not in g.output()


def test_demo_mode_starts_on_the_demo_keys(database, tmp_path):
    g = Gunicorn("referrals", {"ORG_ID": "odl", "DATABASE_URL": database, "YHD_DEMO_MODE": "1"},
                 tmp_path / "web.log").start()
    try:
        assert requests.get(g.url + "/login", timeout=10).status_code == 200
    finally:
        g.stop()
