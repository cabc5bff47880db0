"""The consumer: the service database owns the offsets, every record is applied exactly once in effect.

    handlers.py    Handlers: a service's event handlers, by CloudEvents type
    apply.py       RecordApplier: the one exactly-once apply path, and dead letters
    offsets.py     the stored offsets (lock, advance, reset)
    assignment.py  seeking to the stored offsets on every (re)join; partitions nobody reads
    runner.py      ConsumerRunner: poll, apply, back off, restart
    replay.py      ReplayWindow: events older than the inbox remembers are refused
"""
from .apply import ClusterChanged, RecordApplier, Retry
from .assignment import Orphaned, Stalled
from .handlers import Handler, Handlers
from .replay import OutsideReplayWindow, ReplayWindow
from .runner import ConsumerRunner

__all__ = ["ClusterChanged", "ConsumerRunner", "Handler", "Handlers", "Orphaned", "OutsideReplayWindow", "RecordApplier",
           "ReplayWindow", "Retry", "Stalled"]
