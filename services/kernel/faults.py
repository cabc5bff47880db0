"""Deliberate crash points for the fault tests (tests/faults).

Inert unless YHD_FAULT_INJECT names the point; then the process SIGKILLs
itself there, once per YHD_FAULT_MARKER_DIR (the marker file records that it
happened, so the restarted process runs on).
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

_ARMED = {p for p in os.environ.get("YHD_FAULT_INJECT", "").split(",") if p}


def crash_point(name: str) -> None:
    if name not in _ARMED:
        return
    marker = Path(os.environ.get("YHD_FAULT_MARKER_DIR", "/tmp")) / f"fault-{name}"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
