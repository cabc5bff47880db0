"""Attendance domain: encounters of every kind, groups and their sessions, intensity of guidance, the referral
loop, life-situation measures. Plain Python: rules as tables, facts returned as values."""
from .encounters import (APPOINTMENT_STATUSES, COUNTED, KINDS, WITH_CLIENT, Encounter, iso, now)  # noqa: F401
from .groups import Group, Mark, Participant, Session, enrol, leave  # noqa: F401
from .intensity import Followed, Overdue, overdue  # noqa: F401
from .loop import ARRIVED, NOT_ARRIVED, IncomingReferral, ReferralLink  # noqa: F401
from .measures import POINTS, Measurement, change, current_series  # noqa: F401
