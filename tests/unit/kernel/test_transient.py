"""Which database errors the consumer retries and which are a record's doing (it is parked instead)."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError, OperationalError

from services.kernel.db import is_transient


class Orig(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize("cls, sqlstate, retried", [
    (OperationalError, None, True),        # connection refused: no SQLSTATE
    (OperationalError, "08006", True),     # connection failure
    (OperationalError, "57P01", True),     # the server was shut down
    (OperationalError, "40001", True),     # serialization failure
    (OperationalError, "54000", False),    # an index row too large: the data's doing, retried for ever otherwise
    (OperationalError, "54001", False),    # statement too complex
    (DataError, "22021", False),           # NUL in text
])
def test_program_limits_are_the_datas_fault_outages_are_retried(cls, sqlstate, retried):
    assert is_transient(cls("INSERT ...", {}, Orig(sqlstate))) is retried
