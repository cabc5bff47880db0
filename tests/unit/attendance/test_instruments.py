"""Life-situation instruments as data: the shipped one loads, scores are checked, change is per item."""
from __future__ import annotations

import pytest
import yaml

from services.kernel.errors import Invalid
from services.attendance.instruments import SHIPPED, InstrumentError, available, load

SHIPPED_FILE = SHIPPED / "life-domains-v1.yaml"


@pytest.fixture
def meter():
    return load(SHIPPED_FILE)


def test_the_shipped_instrument_is_complete_in_three_languages(meter):
    assert meter.key == "life-domains.v1" and len(meter.items) == 10
    assert (meter.scale_min, meter.scale_max) == (0, 10) and not meter.total_allowed
    assert [(b.min, b.max) for b in meter.bands] == [(0, 5), (6, 7), (8, 10)]
    assert "EUPL" in meter.licence and "life-domains.v1" in available()


def test_scores_are_whole_numbers_on_the_scale_for_known_items(meter):
    assert meter.check_scores({"mood": 4, "housing": 10}) == {"housing": 10, "mood": 4}  # in the items' order
    for bad, code in (({"mood": 11}, "score-off-scale"), ({"mood": -1}, "score-off-scale"),
                      ({"mood": 5.5}, "score-off-scale"), ({"mood": True}, "score-off-scale"),
                      ({"sleep": 3}, "unknown-item"), ({}, "no-scores")):
        with pytest.raises(Invalid) as e:
            meter.check_scores(bad)
        assert e.value.code == code, bad


def test_change_is_per_item_with_bands_and_no_total_where_none_is_allowed(meter):
    change = meter.change({"mood": 3, "money": 7, "future": 5}, {"mood": 8, "money": 7, "housing": 9})
    assert change == {"money": {"baseline": 7, "later": 7, "change": 0, "band_from": "middle", "band_to": "middle"},
                      "mood": {"baseline": 3, "later": 8, "change": 5, "band_from": "low", "band_to": "high"}}
    assert meter.total({i: 5 for i in meter.item_ids}) is None


def write(tmp_path, **changes):
    raw = yaml.safe_load(SHIPPED_FILE.read_text(encoding="utf-8"))
    raw.update(changes)
    path = tmp_path / "licensed.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_a_licensed_instrument_from_the_organisations_own_directory_loads_beside_the_shipped(tmp_path):
    write(tmp_path, id="licensed-meter", version=2, total_allowed=True)
    both = available(tmp_path)
    assert {"life-domains.v1", "licensed-meter.v2"} <= set(both)
    assert both["licensed-meter.v2"].total({i: 5 for i in both["licensed-meter.v2"].item_ids}) == 50


@pytest.mark.parametrize("changes, says", [
    ({"bands": [{"id": "a", "min": 0, "max": 5, "label": {"fi": "a", "sv": "a", "en": "a"}}]}, "bands must cover"),
    ({"name": {"fi": "Mittari"}}, "name needs fi, sv and en"),
    ({"version": 0}, "version"),
    ({"items": [{"id": "x", "text": {"fi": "x", "sv": "x", "en": "x"}}] * 2}, "each once"),
    ({"total_allowed": "no"}, "total_allowed"),
])
def test_a_broken_instrument_file_is_refused_saying_what_and_where(tmp_path, changes, says):
    with pytest.raises(InstrumentError, match=says):
        load(write(tmp_path, **changes))


def test_the_same_instrument_twice_is_refused(tmp_path):
    write(tmp_path)  # the shipped one's id and version, from the organisation's directory
    with pytest.raises(InstrumentError, match="defined twice"):
        available(tmp_path)
