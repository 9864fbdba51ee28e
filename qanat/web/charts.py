"""Charts as inline SVG, drawn on the server: no script, no third-party files.

Pure functions from numbers to markup; every label is escaped. Colours are SVG
attributes (not inline styles), so the page's strict CSP still holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup, escape

#: Colours for series, chosen to stay apart for common colour blindness.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def colour(n: int) -> str:
    """The colour of the ``n``-th series."""
    return PALETTE[n % len(PALETTE)]


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" direction="ltr" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _legend(
    names: Sequence[str], *, top: int, width: int, colours: Sequence[str] | None = None
) -> tuple[list[str], int]:
    """Legend swatches and names from ``top`` down; returns them and the height used."""
    parts, x, y = [], 0, top
    for n, name in enumerate(names):
        label = str(escape(name))
        step = 24 + 8 * len(name)
        if x + step > width:
            x, y = 0, y + 18
        fill = colours[n] if colours else colour(n)
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{fill}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 11}" font-size="12">{label}</text>')
        x += step
    return parts, y - top + 18


def _linked(shape: str, href: str | None) -> str:
    """A bar that opens the list it counts (drill-down), when it has an address."""
    return f'<a href="{escape(href)}">{shape}</a>' if href else shape


def stacked_daily(
    days: Sequence[date],
    series: dict[str, list[int]],
    *,
    title: str,
    width: int = 720,
    labels: dict[str, str] | None = None,
    href: Callable[[str, date], str] | None = None,
) -> Markup:
    """Stacked bars per day, one colour per series (channel or department), with a legend.

    ``labels`` names each series (its key when absent); ``href(key, day)`` is where a
    bar leads: the list of the tickets it counts."""
    labels = labels or {}
    plot_height, left, bottom = 180, 32, 20
    totals = [sum(values[n] for values in series.values()) for n in range(len(days))]
    peak = max(totals, default=0) or 1
    slot = (width - left) / max(1, len(days))
    bar = max(1.0, slot * 0.8)
    parts = [
        f'<text x="0" y="12" font-size="11">{peak}</text>',
        f'<line x1="{left}" y1="{plot_height}" x2="{width}" y2="{plot_height}" stroke="#999"/>',
    ]
    for n, day in enumerate(days):
        x, y = left + n * slot, float(plot_height)
        for s, (key, values) in enumerate(series.items()):
            if values[n]:
                h = values[n] / peak * (plot_height - 10)
                y -= h
                rect = (
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{colour(s)}"><title>{escape(labels.get(key, key))} {day}: '
                    f"{values[n]}</title></rect>"
                )
                parts.append(_linked(rect, href(key, day) if href else None))
        if len(days) <= 14 or n % max(1, len(days) // 7) == 0:
            label_x = min(x, width - 34)  # the last day's label stays inside the chart
            parts.append(
                f'<text x="{label_x:.1f}" y="{plot_height + 14}" font-size="10">{day:%m-%d}</text>'
            )
    names = [labels.get(key, key) for key in series]
    legend, used = _legend(names, top=plot_height + bottom, width=width)
    return _svg(width, plot_height + bottom + used, title, parts + legend)


def horizontal_bars(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = 480,
    hrefs: Sequence[str | None] = (),
) -> Markup:
    """One bar per row (label, value), longest first as given; ``hrefs[n]`` is where
    row ``n``'s bar leads."""
    label_width, row_height = 150, 22
    peak = max((value for _, value in rows), default=0) or 1
    parts = []
    for n, (label, value) in enumerate(rows):
        y = n * row_height
        length = value / peak * (width - label_width - 60)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>')
        rect = (
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="16" '
            f'fill="{colour(n)}"/>'
        )
        parts.append(_linked(rect, hrefs[n] if n < len(hrefs) else None))
        parts.append(
            f'<text x="{label_width + length + 4:.1f}" y="{y + 15}" font-size="12">'
            f"{value:g}{escape(unit)}</text>"
        )
    return _svg(width, max(row_height, row_height * len(rows)), title, parts)


def against_target(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str,
    names: tuple[str, str],
    width: int = 480,
    hrefs: Sequence[str | None] = (),
) -> Markup:
    """Per row, the actual figure (bar) beside its target (outlined bar): hours vs SLA;
    ``hrefs[n]`` is where row ``n``'s bar leads."""
    label_width, row_height = 150, 34
    values = [v for _, actual, target in rows for v in (actual, target) if v is not None]
    peak = max(values, default=0) or 1
    scale = (width - label_width - 60) / peak
    parts = []
    for n, (label, actual, target) in enumerate(rows):
        y = n * row_height
        parts.append(f'<text x="0" y="{y + 20}" font-size="12">{escape(label)}</text>')
        if actual is not None:
            over = target is not None and actual > target
            rect = (
                f'<rect x="{label_width}" y="{y + 4}" width="{actual * scale:.1f}" height="12" '
                f'fill="{"#d62728" if over else "#2ca02c"}"/>'
            )
            parts.append(
                _linked(rect, hrefs[n] if n < len(hrefs) else None)
                + f'<text x="{label_width + actual * scale + 4:.1f}" y="{y + 15}" '
                f'font-size="11">{actual:g}</text>'
            )
        if target is not None:
            parts.append(
                f'<rect x="{label_width}" y="{y + 18}" width="{target * scale:.1f}" height="10" '
                f'fill="none" stroke="#555"/>'
                f'<text x="{label_width + target * scale + 4:.1f}" y="{y + 27}" '
                f'font-size="11">{target:g}</text>'
            )
    top = row_height * len(rows) + 4
    legend, used = _legend(names, top=top, width=width, colours=("#2ca02c", "#555"))
    return _svg(width, top + used, title, parts + legend)
