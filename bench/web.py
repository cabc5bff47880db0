"""Section 3: the write endpoints against bare Flask, each app on gunicorn with deploy/gunicorn.conf.py.

POST /api/v1/encounters (attendance) and POST /api/v1/referrals (a client with consent, sealed personal
data) against the same POST on bench/bare_app.py; the same WEB_CONCURRENCY / WEB_THREADS for every app.
"""
from __future__ import annotations

import cProfile
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import insert

import services.attendance as attendance
import services.referrals as referrals
from devstack.client import NotInTime, consent_to, eventually
from services.attendance.app import create_app
from services.kernel.auth import Actor, Role, new_token, upsert_user
from services.referrals import service as rs
from services.referrals.domain.identity import synthetic_identity_code
from services.referrals.schemas import ConsentIn
from services.referrals.tables import service_target

from .common import (OUT_DIR, RECEIVER, ROOT, SENDER, VENV_BIN, Row, Run, free_ports, keep_profile, past_iso,
                     profile_text, say, tree_cpu)
from .engines import Engines
from .load import Load, ensure_wrk

BENCH_USER = f"caseworker@{SENDER}"


class Gunicorn:
    def __init__(self, name: str, app: str, env: dict, log: Path):
        self.name, self.app, self.env, self.log = name, app, env, log
        self.proc = None
        self.port = int(env["BIND"].rsplit(":", 1)[1])

    def start(self, timeout: float = 60) -> "Gunicorn":
        argv = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--pythonpath", str(ROOT), self.app]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        try:
            eventually(self.healthy, timeout, interval=0.3, what=f"gunicorn {self.name} healthy")
        except NotInTime:
            raise RuntimeError(f"gunicorn {self.name} not healthy: {self.log.read_text()[-2000:]}") from None
        return self

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn {self.name} exited: {self.log.read_text()[-2000:]}")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
            return r.status == 200

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass


def app_env(tmp: Path, name: str, **extra) -> dict:
    """This process's environment for an app: its own Prometheus directory, and `extra`."""
    metrics_dir = tmp / "metrics" / name
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), YHD_DEMO_MODE="1", **extra)  # the demo keys
    return env


# -- the databases the endpoints write to ---------------------------------------------------------------------
def instance(eng: Engines, defn, prefix: str, token: str):
    """A fresh, migrated database of the sender's service with the bench user: (its URL, its context)."""
    url = eng.new_database(prefix)
    ctx = eng.context(defn, SENDER, url)
    with ctx.engine.begin() as conn:
        upsert_user(conn, BENCH_USER, "caseworker", token, "Bench caseworker")
    return url, ctx


def referrals_fixture(eng: Engines, token: str) -> tuple[str, str]:
    """A referrals database of the sender with the bench user, a target at the receiver and a client with
    consent; (its URL, the body of a referral)."""
    url, ctx = instance(eng, referrals.DEFINITION, "webref", token)
    target = uuid.uuid4()
    with ctx.engine.begin() as conn:
        conn.execute(insert(service_target).values(service_id=target, organization_id=RECEIVER,
                                                   name_fi="Kuntouttava työtoiminta", status="active", version=1))
    actor = Actor(BENCH_USER, "Bench", Role.CASEWORKER, SENDER)
    client = rs.register_client(ctx.uow, actor, {"name": "Bench Esimerkki",
                                                 "identity_code": synthetic_identity_code(date(2003, 5, 17), 977)})
    rs.record_consent(ctx.uow, actor, client.id, ConsentIn().load(consent_to(RECEIVER)))
    ctx.dispose()
    return url, json.dumps({"client_id": str(client.id), "service_id": str(target), "note": "Bench"})


# -- measuring ------------------------------------------------------------------------------------------------
def measure(eng: Engines, tmp: Path, name: str, app: str, load: Load, seconds: float, workers: int, threads: int,
            **extra) -> dict:
    """Requests per second, latency and CPU per request of one app under `load` (after a warm-up)."""
    env = app_env(tmp, name, BIND=f"127.0.0.1:{free_ports(1)[0]}", WEB_CONCURRENCY=str(workers),
                  WEB_THREADS=str(threads), PROC_NAME=f"yhd-bench-{name}", PYTHONUNBUFFERED="1", **extra)
    g = Gunicorn(name, app, env, OUT_DIR / "logs" / f"gunicorn-{name}.log")
    try:
        g.start()
        load(g.port, 2)           # warm-up, not counted
        cpu0 = {"app": tree_cpu(g.proc.pid), "postgres": tree_cpu(eng.pg.pid())}
        result = load(g.port, seconds)
        n_req = max(1, result["requests"])
        result["cpu_us_per_request"] = {
            "app": (tree_cpu(g.proc.pid) - cpu0["app"]) / n_req * 1e6,
            "postgres": (tree_cpu(eng.pg.pid()) - cpu0["postgres"]) / n_req * 1e6}
        say(f"  {name}: {result['rps']:,.0f} req/s (p50 {result['p50_ms'] or 0:.1f} ms, "
            f"p99 {result['p99_ms'] or 0:.1f} ms, non-2xx {result['non2xx']})")
        return result
    finally:
        g.stop()


def profile_http_child(spec: str) -> int:
    """In a child with the service's environment: cProfile n POSTs through the app (Flask test client)."""
    args = json.loads(spec)
    logging.basicConfig(level=logging.WARNING)
    client = create_app().test_client()
    headers = {"Authorization": f"Bearer {args['token']}", "Content-Type": "application/json"}
    for _ in range(20):   # warm: imports, pool, caches
        assert client.post("/api/v1/encounters", data=args["body"], headers=headers).status_code == 201
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for _ in range(args["n"]):
        r = client.post("/api/v1/encounters", data=args["body"], headers=headers)
        assert r.status_code == 201, r.data
    prof.disable()
    elapsed = time.perf_counter() - t
    print(profile_text(prof, 45, 30, f"{args['n']} requests in {elapsed:.2f}s under cProfile: "
                                     f"{elapsed / args['n'] * 1e3:.2f} ms/request\n"))
    return 0


def profile_in_process(run: Run, url: str, body: str, token: str) -> None:
    """--profile: the attendance endpoint in a child process (bench/run --profile-http-child)."""
    env = app_env(run.tmp, "profile", ORG_ID=SENDER, DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=run.engines.bootstrap)
    n = 300 if run.quick else 1000
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run"), "--profile-http-child", json.dumps(
        {"n": n, "body": body, "token": token})], env=env, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"profiling the endpoint failed: {r.stderr[-2000:]}")
    path = keep_profile(run, "http attendance in-process", r.stdout, "http-attendance")
    say(f"profile of {n} in-process POST /api/v1/encounters written to {path}")


def write_endpoints(run: Run) -> tuple[list[Row], dict]:
    eng, tmp = run.engines, run.tmp
    workers = int(os.environ.get("BENCH_WEB_CONCURRENCY", "2"))
    threads = int(os.environ.get("BENCH_WEB_THREADS", "4"))
    connections = workers * threads
    seconds = 3 if run.quick else 10
    token = new_token()
    url, ctx = instance(eng, attendance.DEFINITION, "web", token)
    ctx.dispose()
    body = json.dumps({"kind": "drop-in", "count": 2, "occurred_at": past_iso()})
    tap_body = json.dumps({"kind": "drop-in", "age_band": "18-24", "gender": "woman", "occurred_at": past_iso()})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    wrk = ensure_wrk()
    say(f"HTTP: load generator {'wrk' if wrk else 'python http.client (wrk unavailable)'}, {connections} connections,"
        f" {seconds}s each; gunicorn WEB_CONCURRENCY={workers} WEB_THREADS={threads}")
    encounters = Load.of(wrk, connections, headers, "/api/v1/encounters", body, tmp / "post.lua")
    taps = Load.of(wrk, connections, headers, "/api/v1/encounters", tap_body, tmp / "tap.lua", unique="Idempotency-Key")
    tally = Load.of(wrk, connections, headers, "/api/v1/tally", "", tmp / "tally.lua", method="GET")
    ref_url, ref_body = referrals_fixture(eng, token)
    refer = Load.of(wrk, connections, headers, "/api/v1/referrals", ref_body, tmp / "post-referral.lua")
    results = {}
    for name, app, load, db in (("bare", "bench.bare_app:app", encounters, None),
                                ("attendance", "services.attendance.app:create_app()", encounters, url),
                                ("bare-tap", "bench.bare_app:app", taps, None),
                                ("tally-tap", "services.attendance.app:create_app()", taps, url),
                                ("bare-get", "bench.bare_app:app", tally, None),
                                ("tally", "services.attendance.app:create_app()", tally, url),
                                ("referrals", "services.referrals.app:create_app()", refer, ref_url)):
        extra = {} if db is None else {"ORG_ID": SENDER, "DATABASE_URL": db, "KAFKA_BOOTSTRAP_SERVERS": eng.bootstrap}
        results[name] = measure(eng, tmp, name, app, load, seconds, workers, threads, **extra)
    if run.profile:
        profile_in_process(run, url, body, token)
    details = {"http": {**results, "connections": connections, "seconds": seconds, "workers": workers,
                        "threads": threads}}
    return rows(results, f"{results['bare']['tool']}, {connections} connections, {seconds}s, "
                         f"gunicorn {workers}×{threads} gthread"), details


def rows(results: dict, settings: str) -> list[Row]:
    bare, ours, refs = results["bare"], results["attendance"], results["referrals"]
    ms = lambda x: "?" if x is None else f"{x:.1f}"  # noqa: E731
    cpu = lambda r: "/".join(f"{r['cpu_us_per_request'][k]:.0f}" for k in ("app", "postgres"))  # noqa: E731
    note = (f"{settings}; p50/p99 bare {ms(bare['p50_ms'])}/{ms(bare['p99_ms'])} ms, "
            f"attendance {ms(ours['p50_ms'])}/{ms(ours['p99_ms'])} ms")
    note += f"; CPU µs per request app/PostgreSQL: bare {cpu(bare)}, attendance {cpu(ours)}"
    if bare["non2xx"] + ours["non2xx"]:
        note += f"; NON-2xx responses: bare {bare['non2xx']}, attendance {ours['non2xx']}"
    ref_note = (f"same settings; client with consent, sealed personal data; p50/p99 {ms(refs['p50_ms'])}/"
                f"{ms(refs['p99_ms'])} ms; CPU µs per request app/PostgreSQL {cpu(refs)}")
    if refs["non2xx"]:
        ref_note += f"; NON-2xx responses: {refs['non2xx']}"
    taps, tally = results["tally-tap"], results["tally"]
    tap_note = (f"a drop-in tap with a fresh Idempotency-Key per request (as the tally page sends), vs the same POST "
                f"on bare Flask; p50/p99 {ms(taps['p50_ms'])}/{ms(taps['p99_ms'])} ms; CPU µs app/PostgreSQL "
                f"{cpu(taps)}" + (f"; NON-2xx responses: {taps['non2xx']}" if taps["non2xx"] else ""))
    tally_note = (f"today's tally (totals by age band and gender over the day's drop-ins) vs a bare GET; p50/p99 "
                  f"{ms(tally['p50_ms'])}/{ms(tally['p99_ms'])} ms; CPU µs app/PostgreSQL {cpu(tally)}"
                  + (f"; NON-2xx responses: {tally['non2xx']}" if tally["non2xx"] else ""))
    return [Row("3", "HTTP POST /api/v1/encounters", "req/s", bare["rps"], ours["rps"], target="≥ 0.4×",
                met=ours["rps"] / bare["rps"] >= 0.4 and not ours["non2xx"], note=note),
            Row("3", "HTTP POST tally tap (Idempotency-Key)", "req/s", results["bare-tap"]["rps"], taps["rps"],
                target="≥ 0.4×", met=taps["rps"] / results["bare-tap"]["rps"] >= 0.4 and not taps["non2xx"],
                note=tap_note),
            Row("3", "HTTP GET /api/v1/tally", "req/s", results["bare-get"]["rps"], tally["rps"], target="≥ 0.4×",
                met=tally["rps"] / results["bare-get"]["rps"] >= 0.4 and not tally["non2xx"], note=tally_note),
            Row("3", "HTTP POST /api/v1/referrals", "req/s", bare["rps"], refs["rps"], target="≥ 0.4×",
                met=refs["rps"] / bare["rps"] >= 0.4 and not refs["non2xx"], note=ref_note)]
