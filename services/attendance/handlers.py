"""Attendance consumes no events yet: it only records and publishes encounters."""
from services.kernel.consumer import Handlers

handlers = Handlers()
