"""The change per item of a life-situation measurement as the geometry of a server-rendered inline SVG chart
(no script, no library; colours come from the stylesheet's classes, as the pages' CSP allows no inline style)."""
from __future__ import annotations

WIDTH = 640            # the viewBox's width; the chart scales to the page
LABEL = 20             # an item's label above its two bars
BAR, GAP, ROW_GAP = 14, 4, 14
AXIS = 24              # the scale's numbers below the last row


def change_chart(instrument, change: dict, text_of) -> dict:
    """Rows (item text, baseline and latest score, their bar lengths, the difference, the bands) and the size.
    `text_of` gives a text of several languages in the page's language."""
    lo, hi = instrument.scale_min, instrument.scale_max
    span = WIDTH - 40
    length = lambda score: max(2, round((score - lo) / (hi - lo) * span))  # noqa: E731  (a zero still shows)
    rows, y = [], 0
    texts = dict(instrument.items)
    for item in instrument.item_ids:
        c = change.get(item)
        if c is None:
            continue
        rows.append({"item": item, "text": text_of(texts[item]), "y": y, "baseline": c["baseline"],
                     "later": c["later"], "change": c["change"], "band_from": c["band_from"], "band_to": c["band_to"],
                     "base_w": length(c["baseline"]), "later_w": length(c["later"]),
                     "base_y": y + LABEL, "later_y": y + LABEL + BAR + GAP})
        y += LABEL + 2 * BAR + GAP + ROW_GAP
    ticks = [{"value": v, "x": round((v - lo) / (hi - lo) * span)} for v in range(lo, hi + 1)]
    bands = {b.id: text_of(b.label) for b in instrument.bands}
    return {"key": instrument.key, "name": text_of(instrument.name), "rows": rows, "width": WIDTH,
            "height": y + AXIS, "axis_y": y + 4, "ticks": ticks, "bar": BAR, "bands": bands}
