"""Referrals domain: plain Python, no database, no HTTP, no broker.

    referral.py   a referral's lifecycle between organisations: State, TRANSITIONS, ACTIONS, reasons, outcomes,
                  the events each change sends (Referral.act → change_event), the client's arrival (note_arrival)
    consent.py    a client's consent to disclose named data categories to a named organisation, and disclosure
    client.py     a client, kept only in the organisation that serves them
    identity.py   Finnish personal identity codes, the pathway key, age bands
"""
from .client import GENDERS, LANGUAGES, Client
from .consent import CATEGORIES, METHODS, PURPOSES, Consent, Decision, choose_consent, disclose, shared_categories
from .referral import (ACTIONS, AGE_BANDS, ARRIVALS, NOTIFICATIONS, OUTCOME_POINTS, OUTCOMES, REASONS, TERMINAL,
                       TRANSITIONS, Arrival, ArrivalNoted, Change, Direction, Outcome, Referral, State, parse_time,
                       unseal_personal)

__all__ = ["ACTIONS", "AGE_BANDS", "ARRIVALS", "CATEGORIES", "GENDERS", "LANGUAGES", "METHODS", "NOTIFICATIONS",
           "OUTCOME_POINTS", "OUTCOMES", "PURPOSES", "REASONS", "TERMINAL", "TRANSITIONS", "Arrival", "ArrivalNoted",
           "Change", "Client", "Consent", "Decision", "Direction", "Outcome", "Referral", "State", "choose_consent",
           "disclose", "parse_time", "shared_categories", "unseal_personal"]
