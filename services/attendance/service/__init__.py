"""Attendance use cases: one function per user action, each one transaction; every read or change of a
registered client's data writes its access-log row in that transaction."""
from .clients import (begin_guidance, client_measurements, end_guidance, incoming_referrals, instruments,  # noqa: F401
                      link_referral, no_contact, record_measurement, timeline)
from .common import AttendanceConfig  # noqa: F401
from .encounters import list_encounters, own_services, record_encounter, tally, void_encounter  # noqa: F401
from .groups import (cancel_session, create_group, enrol_client, get_group, get_session, list_groups,  # noqa: F401
                     list_sessions, parse_marks, plan_session, remove_participant, take_attendance)
