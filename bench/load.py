"""HTTP load for section 3: wrk when it is there (installed with apt-get once, as root), else a Python client."""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .common import percentile, say


def ensure_wrk() -> str | None:
    if os.environ.get("BENCH_NO_WRK"):
        return None
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    say("installing wrk with apt-get (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "wrk"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, text=True)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        say(f"apt-get install wrk failed: {r.stderr.strip()[-300:]}")
    return shutil.which("wrk")


def wrk_run(wrk: str, url: str, lua: Path, connections: int, threads: int, seconds: float) -> dict:
    r = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{int(max(1, seconds))}s", "--latency",
                        "-s", str(lua), url], capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        raise RuntimeError(f"wrk failed: {r.stderr or r.stdout}")
    out = r.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    p = {}
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m:
            p[q] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    return {"rps": rps, "requests": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1).strip() if errors else "", "p50_ms": p.get("50"),
            "p99_ms": p.get("99"), "tool": "wrk"}


def _py_client(args) -> tuple[int, int, list]:
    host, port, path, body, headers, seconds, method, unique = args
    import uuid
    ok = bad = 0
    lat = []
    conn = http.client.HTTPConnection(host, port, timeout=30)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        try:
            sent = {**headers, unique: uuid.uuid4().hex} if unique else headers
            conn.request(method, path, body=body if method == "POST" else None, headers=sent)
            resp = conn.getresponse()
            resp.read()
            if resp.status == (201 if method == "POST" else 200):
                ok += 1
            else:
                bad += 1
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        except Exception:
            bad += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        lat.append((time.perf_counter() - t) * 1000)
    conn.close()
    return ok, bad, lat


def py_run(port: int, path: str, body: bytes, headers: dict, connections: int, seconds: float, method: str = "POST",
           unique: str | None = None) -> dict:
    """Fallback load generator: one keep-alive connection per process (http.client)."""
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        t = time.perf_counter()
        parts = pool.map(_py_client, [("127.0.0.1", port, path, body, headers, seconds, method, unique)] * connections)
        elapsed = time.perf_counter() - t
    ok = sum(p[0] for p in parts)
    bad = sum(p[1] for p in parts)
    lat = [x for p in parts for x in p[2]]
    return {"rps": (ok + bad) / elapsed, "requests": ok + bad, "non2xx": bad, "socket_errors": "",
            "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "tool": "python http.client"}


# wrk runs the script once per thread: a key per request from the thread's random prefix and a counter
UNIQUE_LUA = """
local prefix, n = nil, 0
request = function()
  if prefix == nil then math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16)); prefix = tostring(math.random(1, 2^30)) end
  n = n + 1
  wrk.headers[%s] = prefix .. "-" .. n .. "-bench"
  return wrk.format()
end
"""


@dataclass
class Load:
    """Requests (a POST of one JSON body, or a GET) to one path, from `connections` keep-alive connections
    (wrk or Python). `unique`: a header given a fresh value on every request (an Idempotency-Key)."""
    wrk: str | None
    connections: int
    headers: dict
    path: str
    body: str
    lua: Path
    method: str = "POST"
    unique: str | None = None

    @classmethod
    def of(cls, wrk: str | None, connections: int, headers: dict, path: str, body: str, lua: Path,
           method: str = "POST", unique: str | None = None) -> "Load":
        script = f"wrk.method = {json.dumps(method)}\n"
        if method == "POST":
            script += f"wrk.body = {json.dumps(body)}\n"
        script += "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items())
        if unique:
            script += UNIQUE_LUA % json.dumps(unique)
        lua.write_text(script)
        return cls(wrk, connections, headers, path, body, lua, method, unique)

    def __call__(self, port: int, seconds: float) -> dict:
        if self.wrk:
            return wrk_run(self.wrk, f"http://127.0.0.1:{port}{self.path}", self.lua, self.connections, 2, seconds)
        return py_run(port, self.path, self.body.encode(), self.headers, self.connections, seconds, self.method,
                      self.unique)
