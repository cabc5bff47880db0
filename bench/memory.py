"""Section 5: resident memory of the whole embedded stack with its demo data (RSS and PSS sums), against
Kafka and PostgreSQL alone."""
from __future__ import annotations

import time

import psutil

from devstack.client import StackClient
from devstack.demo import load_demo_data

from .common import GIB, MIB, Row, Run, proc_tree, say
from .engines import running_stack

ENGINES = ("kafka", "postgres")


def pss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def processes(pids: dict) -> list[dict]:
    """Every process of the stack's parts (with their children): group, pid, name, RSS and PSS."""
    per = []
    for group, pid in pids.items():
        for p in proc_tree(pid):
            try:
                rss = p.memory_info().rss
                name = p.name()
            except psutil.NoSuchProcess:
                continue
            per.append({"group": group, "pid": p.pid, "name": name, "rss": rss, "pss": pss_bytes(p.pid)})
    return per


def by_kind(per: list[dict]) -> dict:
    """Sums by engine, or by the kind of a service's process (web, worker, consumer)."""
    kinds = {}
    for x in per:
        kind = x["group"] if x["group"] in ENGINES else x["group"].rsplit("/", 1)[1].split("-")[0]
        k = kinds.setdefault(kind, {"n": 0, "rss": 0, "pss": 0})
        k["n"] += 1
        k["rss"] += x["rss"]
        k["pss"] += x["pss"] or 0
    return kinds


def stack_memory(run: Run) -> tuple[list[Row], dict]:
    t = time.monotonic()
    with running_stack(run.tmp / "full", 400) as (stack, desc, _):
        load_demo_data(StackClient(desc))
        say(f"memory: full stack ({len(stack.children)} service processes + engines) up with demo data in "
            f"{time.monotonic() - t:.0f}s; settling")
        time.sleep(5 if run.quick else 15)
        dead = [c.name for c in stack.children if not c.alive()]
        per = processes(desc["pids"])
    has_pss = all(x["pss"] is not None for x in per)

    def total(key, pred=lambda x: True):
        return sum((x[key] or 0) for x in per if pred(x))

    engines = lambda x: x["group"] in ENGINES  # noqa: E731
    largest = max(per, key=lambda x: x["rss"])
    kinds = by_kind(per)
    memory = {"processes": per, "by_kind": kinds, "dead_children": dead, "rss_total": total("rss"),
              "pss_total": total("pss") if has_pss else None, "engines_rss": total("rss", engines),
              "engines_pss": total("pss", engines) if has_pss else None, "largest": largest}
    say("  " + ", ".join(f"{k}: {v['n']} procs {v['rss'] / MIB:,.0f} MiB RSS" for k, v in kinds.items()))
    note = (f"{len(per)} processes; by kind (RSS / PSS MiB): " +
            ", ".join(f"{k} ×{v['n']} {v['rss'] / MIB:,.0f}/{v['pss'] / MIB:,.0f}" for k, v in kinds.items()) +
            "; baseline column = Kafka + PostgreSQL alone")
    if dead:
        note += f"; DEAD children at measurement: {dead}"
    rows = [Row("5", "stack memory, RSS sum", "bytes", total("rss", engines), total("rss"), target="≤ 3 GiB",
                met=total("rss") <= 3 * GIB, note=note)]
    if has_pss:
        rows.append(Row("5", "stack memory, PSS sum", "bytes", total("pss", engines), total("pss"),
                        target="≤ 3 GiB", met=total("pss") <= 3 * GIB))
    rows.append(Row("5", "largest single process (RSS)", "bytes", None, largest["rss"],
                    ours_label=f"{largest['group']} {largest['name']}"))
    return rows, {"memory": memory}
