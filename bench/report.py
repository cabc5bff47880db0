"""The end of a run: the table on the terminal and the whole report as JSON in var/bench/latest.json."""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from datetime import datetime, timezone

from .common import GIB, MIB, OUT_DIR, ROOT, T0, Row, Run


def fmt_num(x, unit: str = "") -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and math.isnan(x):
        return "n/a"
    if unit == "bytes":
        return f"{x / MIB:,.0f} MiB" if x < GIB else f"{x / GIB:.2f} GiB"
    if abs(x) >= 1000:
        s = f"{x:,.0f}"
    elif abs(x) >= 100:
        s = f"{x:.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return f"{s} {unit}".strip()


def table(rows: list[Row]) -> str:
    header = ["measure", "baseline", "ours", "ratio", "target", "met?"]
    lines = []
    for r in rows:
        base = fmt_num(r.baseline, r.unit)
        ours = fmt_num(r.ours, r.unit)
        if r.baseline_label:
            base += f" ({r.baseline_label})"
        if r.ours_label:
            ours += f" ({r.ours_label})"
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        lines.append([f"{r.section}. {r.measure}", base, ours, ratio, r.target or "—", met])
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    sep = "-+-".join("-" * w for w in widths)
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths)), sep]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    notes = [f"  {r.section}. {r.measure}: {r.note}" for r in rows if r.note]
    text = "\n".join(out)
    if notes:
        text += "\n\nnotes:\n" + "\n".join(notes)
    return text


def git_state() -> tuple[str | None, bool | None]:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        return None, None
    return rev, dirty


def report(run: Run, rows: list[Row], details: dict, errors: list[str]) -> None:
    """Print the table (rows by section) and write the JSON report."""
    rows = sorted(rows, key=lambda r: r.section)
    kind = "quick" if run.quick else "full"
    print()
    print(f"Yhdistämö benchmark — {kind} run, {datetime.now().isoformat(timespec='seconds')}, "
          f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("ratio = ours / baseline (throughput: higher is better; latency and memory: lower is better); "
          "1-min load average at each section's start: " +
          ", ".join(f"{k}: {v}" for k, v in run.loadavg.items()) + "\n")
    text = table(rows)
    print(text, flush=True)
    observed = sorted(set(run.observed))
    if observed:
        print("\nobserved:\n  " + "\n  ".join(observed))
    if errors:
        print("\nERRORS:\n  " + "\n  ".join(errors))
    rev, dirty = git_state()
    out = OUT_DIR / "latest.json"
    out.write_text(json.dumps({
        "when": datetime.now(timezone.utc).isoformat(), "quick": run.quick, "sizes": list(run.sizes),
        "host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "git": {"rev": rev, "dirty": dirty}, "rows": [r.as_dict() for r in rows], "table": text,
        "errors": errors, "observed": observed, "loadavg": run.loadavg, "details": details,
        "profiles": run.profiles, "elapsed_s": time.monotonic() - T0}, indent=2, ensure_ascii=False, default=str))
    print(f"\nwrote {out} ({time.monotonic() - T0:.0f}s in all)")
