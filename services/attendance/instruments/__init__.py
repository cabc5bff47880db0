"""Life-situation instruments are data: a file each (id, version, items with fi/sv/en texts, the scale and its
anchors, bands, whether a total score is allowed, a licence note). The project ships its own
(`life-domains-v1.yaml`); an organisation holding a licence for another (e.g. the 3X10D® meter) loads it from
its own directory (`INSTRUMENTS_DIR`), never from this repository.

Every measurement keeps the instrument's id, version and scale with it: the published means of one meter
were once off by one because some data had been coded 1–11 instead of 0–10.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from services.kernel.errors import Invalid

LANGUAGES = ("fi", "sv", "en")
SHIPPED = Path(__file__).parent


class InstrumentError(ValueError):
    """An instrument file that cannot be used: said with the file and the field."""


@dataclass(frozen=True)
class Band:
    id: str
    min: int
    max: int
    label: dict


@dataclass(frozen=True)
class Instrument:
    id: str
    version: int
    name: dict
    licence: str
    scale_min: int
    scale_max: int
    anchors: dict          # score -> {lang: text}
    bands: tuple[Band, ...]
    total_allowed: bool
    items: tuple[tuple[str, dict], ...]  # (item id, {lang: text}) in the order they are asked

    @property
    def key(self) -> str:
        return f"{self.id}.v{self.version}"

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.items)

    def check_scores(self, scores: dict) -> dict[str, int]:
        """A measurement's scores: item id -> whole number on the scale. Items may be left unanswered (a
        young person may skip one); an unknown item or a score off the scale is refused, naming it."""
        if not isinstance(scores, dict) or not scores:
            raise Invalid("A measurement needs at least one item's score.", code="no-scores")
        unknown = sorted(set(scores) - set(self.item_ids))
        if unknown:
            raise Invalid(f"{self.key} has no item {', '.join(unknown)}.", code="unknown-item", items=unknown)
        out = {}
        for item, score in scores.items():
            if isinstance(score, bool) or not isinstance(score, int) or not self.scale_min <= score <= self.scale_max:
                raise Invalid(f"{item}: a score is a whole number from {self.scale_min} to {self.scale_max}.",
                              code="score-off-scale", item=item)
            out[item] = score
        return {i: out[i] for i in self.item_ids if i in out}

    def band(self, score: int) -> Band:
        return next(b for b in self.bands if b.min <= score <= b.max)

    def total(self, scores: dict) -> int | None:
        """The sum over every item, only where the instrument allows a total and every item was answered."""
        if not self.total_allowed or set(scores) != set(self.item_ids):
            return None
        return sum(scores.values())

    def change(self, baseline: dict, later: dict) -> dict[str, dict]:
        """Per item answered at both points: the two scores, the difference and whether the band moved."""
        out = {}
        for item in self.item_ids:
            if item in baseline and item in later:
                before, after = baseline[item], later[item]
                out[item] = {"baseline": before, "later": after, "change": after - before,
                             "band_from": self.band(before).id, "band_to": self.band(after).id}
        return out


def load(path: Path | str) -> Instrument:
    """Read and check an instrument file; InstrumentError says what is wrong where."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise InstrumentError(f"{path.name}: cannot be read: {e}") from None

    def need(cond: bool, what: str):
        if not cond:
            raise InstrumentError(f"{path.name}: {what}")

    need(isinstance(raw, dict), "is not a mapping")
    for field in ("id", "version", "name", "licence", "scale", "bands", "total_allowed", "items"):
        need(field in raw, f"has no {field!r}")
    need(isinstance(raw["version"], int) and raw["version"] >= 1, "version is a whole number from 1")
    scale = raw["scale"]
    need(isinstance(scale.get("min"), int) and isinstance(scale.get("max"), int) and scale["min"] < scale["max"],
         "scale needs whole numbers min < max")
    lo, hi = scale["min"], scale["max"]
    texts = lambda d: isinstance(d, dict) and all(isinstance(d.get(lang), str) and d[lang].strip()  # noqa: E731
                                                  for lang in LANGUAGES)
    need(texts(raw["name"]), "name needs fi, sv and en")
    anchors = scale.get("anchors") or {}
    need(all(isinstance(k, int) and lo <= k <= hi and texts(v) for k, v in anchors.items()),
         "every anchor is a score on the scale with fi, sv and en text")
    bands = tuple(Band(b["id"], b["min"], b["max"], b["label"]) for b in raw["bands"])
    covered = sorted(s for b in bands for s in range(b.min, b.max + 1))
    need(covered == list(range(lo, hi + 1)), f"bands must cover {lo}..{hi} once each")
    need(all(texts(b.label) for b in bands), "every band label needs fi, sv and en")
    items = tuple((i["id"], i["text"]) for i in raw["items"])
    ids = [i for i, _ in items]
    need(ids and len(ids) == len(set(ids)), "items need ids, each once")
    need(all(texts(t) for _, t in items), "every item text needs fi, sv and en")
    need(isinstance(raw["total_allowed"], bool), "total_allowed is true or false")
    return Instrument(raw["id"], raw["version"], raw["name"], str(raw["licence"]), lo, hi, anchors, bands,
                      raw["total_allowed"], items)


def available(extra_dir: Path | None = None) -> dict[str, Instrument]:
    """The shipped instruments and those of the organisation's own directory, by `id.vN`."""
    files = sorted(SHIPPED.glob("*.yaml")) + (sorted(Path(extra_dir).glob("*.yaml")) if extra_dir else [])
    out: dict[str, Instrument] = {}
    for f in files:
        inst = load(f)
        if inst.key in out:
            raise InstrumentError(f"{f.name}: {inst.key} is defined twice")
        out[inst.key] = inst
    return out
