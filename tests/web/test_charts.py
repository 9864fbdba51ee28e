"""Server-drawn SVG charts: sizes follow the numbers, labels are escaped."""

from __future__ import annotations

import re
from datetime import date

from qanat.web import charts


def bar_widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="150" y="[\d.]+" width="([\d.]+)"', svg)]


def test_horizontal_bars_scale_to_the_largest() -> None:
    svg = str(charts.horizontal_bars([("sewage", 80), ("roads", 40)], title="rate", unit="%"))
    assert svg.startswith("<svg") and "<title>rate</title>" in svg
    long, short = bar_widths(svg)
    assert long == 2 * short
    assert "80%" in svg and "40%" in svg


def test_labels_are_escaped() -> None:
    svg = str(charts.horizontal_bars([("<script>alert(1)</script>", 1)], title="<b>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<title>&lt;b&gt;</title>" in svg


def test_stacked_days_stack_each_series() -> None:
    days = [date(2026, 11, 1), date(2026, 11, 2)]
    svg = str(charts.stacked_daily(days, {"sms": [2, 0], "x": [2, 1]}, title="volume"))
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill="#', svg)]
    bars, swatches = heights[:-2], heights[-2:]  # the legend has one swatch per series
    assert len(bars) == 3  # a zero draws nothing
    assert bars[0] == bars[1] == 2 * bars[2]
    assert swatches == [12.0, 12.0]
    assert "sms" in svg and "11-01" in svg


def test_against_target_marks_what_is_over() -> None:
    svg = str(
        charts.against_target(
            [("sewage", 30.0, 24.0), ("roads", 5.0, 24.0), ("parks", None, None)],
            title="hours",
            names=("actual", "SLA"),
        )
    )
    assert svg.count('fill="#d62728"') == 1  # sewage is over its target
    assert svg.count('fill="#2ca02c"') == 2  # roads is within it (plus the legend swatch)
    assert "parks" in svg


def test_no_data_still_draws() -> None:
    assert str(charts.stacked_daily([], {}, title="empty")).endswith("</svg>")
    assert str(charts.horizontal_bars([], title="empty")).endswith("</svg>")
