"""Life-situation measures: a client's measurements with one instrument form a series — a baseline, follow-ups,
an end. Each keeps the instrument's id, version and scale, so a change is never computed across scales."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from services.kernel.errors import Conflict, Invalid

from .encounters import check_time, iso, now

POINTS = ("baseline", "follow-up", "end")


@dataclass
class Measurement:
    id: uuid.UUID
    organization_id: str
    client_id: uuid.UUID
    series_id: uuid.UUID
    instrument: str               # id.vN
    instrument_id: str
    instrument_version: int
    scale_min: int
    scale_max: int
    point: str
    measured_at: datetime
    scores: dict
    recorded_by: str | None = None
    recorded_at: datetime = field(default_factory=now)

    @classmethod
    def record(cls, instrument, earlier: list["Measurement"], *, organization_id: str, client_id, point: str,
               measured_at: datetime, scores: dict, by: str) -> "Measurement":
        """`earlier`: the client's measurements with this instrument. A series begins with a baseline and
        ends with an end; a follow-up or an end needs an open series, a baseline needs none open."""
        if point not in POINTS:
            raise Invalid(f"point must be one of {', '.join(POINTS)}.", code="unknown-point", field="point")
        check_time(measured_at, "measured_at")
        checked = instrument.check_scores(scores)
        open_series = current_series(earlier)
        if point == "baseline":
            if open_series:
                raise Conflict("The client has a baseline with this instrument already; record a follow-up or "
                               "the end.", code="baseline-exists")
            series = uuid.uuid4()
        else:
            if not open_series:
                raise Conflict("Record the baseline first.", code="no-baseline")
            if measured_at < open_series[0].measured_at:
                raise Invalid("A follow-up cannot be before the baseline.", code="before-baseline",
                              field="measured_at")
            series = open_series[0].series_id
        return cls(uuid.uuid4(), organization_id, client_id, series, instrument.key, instrument.id,
                   instrument.version, instrument.scale_min, instrument.scale_max, point, measured_at, checked, by)

    def recorded_event(self) -> dict:
        """Scores per item with the scale; the series travels only sealed for reporting (it links a person's
        measurements)."""
        return {"measurement_id": str(self.id), "organization_id": self.organization_id,
                "instrument": self.instrument_id, "instrument_version": self.instrument_version,
                "scale_min": self.scale_min, "scale_max": self.scale_max, "point": self.point,
                "measured_at": iso(self.measured_at), "scores": dict(self.scores)}


def current_series(measurements: list[Measurement]) -> list[Measurement]:
    """The open series (baseline first), or [] when there is none or the latest has ended."""
    by_series: dict[uuid.UUID, list[Measurement]] = {}
    for m in sorted(measurements, key=lambda m: (m.measured_at, m.recorded_at)):
        by_series.setdefault(m.series_id, []).append(m)
    if not by_series:
        return []
    latest = max(by_series.values(), key=lambda s: s[0].measured_at)
    return [] if any(m.point == "end" for m in latest) else latest


def change(instrument, series: list[Measurement]) -> dict:
    """Per item: baseline and latest score, the difference and the bands (instrument.change)."""
    ordered = sorted(series, key=lambda m: m.measured_at)
    if len(ordered) < 2:
        return {}
    return instrument.change(ordered[0].scores, ordered[-1].scores)
