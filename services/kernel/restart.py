"""Keeping a worker loop alive through broker and database outages."""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


def keep_running(step: Callable[[], object], stop: threading.Event, *, name: str,
                 after_error: Callable[[], object], first_wait: float, longest_wait: float) -> None:
    """Call `step` until `stop` is set; after an error, clean up and wait, twice as long each time in a row."""
    wait = first_wait
    while not stop.is_set():
        try:
            step()
            wait = first_wait
        except Exception as e:
            log.warning("%s: %r; restarting in %.1fs", name, e, wait)
            after_error()
            stop.wait(wait)
            wait = min(wait * 2, longest_wait)
