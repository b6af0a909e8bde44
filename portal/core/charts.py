"""Server-rendered SVG charts: pure functions from numbers to coordinates (no ORM, no Django).

Templates draw what these return (``templates/core/_line_chart.html``, ``_sparkline.html``); no
JavaScript and no CDN. Every series of a multi-series chart is told apart without colour: its own
dash pattern, its own marker shape, and its name written at the end of its line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# Told apart without colour: series i gets DASHES[i] and MARKERS[i] (cycling).
DASHES = ("", "7 4", "2 3", "10 3 2 3", "4 2 1 2 1 2")
MARKERS = ("circle", "square", "triangle", "diamond", "cross")


def linear(domain: tuple[float, float], span: tuple[float, float]) -> Callable[[float], float]:
    """A linear scale from ``domain`` onto ``span`` (a flat domain maps to the span's middle)."""
    d0, d1 = domain
    r0, r1 = span
    if d1 == d0:
        middle = round((r0 + r1) / 2, 1)
        return lambda value: middle
    factor = (r1 - r0) / (d1 - d0)
    return lambda value: round(r0 + (value - d0) * factor, 1)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) that cover ``[lo, hi]``, about ``count``
    of them. The first tick is ≤ ``lo`` and the last ≥ ``hi``; flat data gets a range around it."""
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1.0):  # flat (or nearly): a range around it
        hi = lo + (abs(lo) if abs(lo) >= 1e-6 else 1.0)
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-12))
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    # rounded to the step's precision: 0.1 * 3 reads 0.3, not 0.30000000000000004
    decimals = max(0, 2 - math.floor(math.log10(step)))
    return [round(k * step, decimals) + 0.0 for k in range(first, last + 1)]


def polyline(points: Iterable[tuple[float, float]]) -> str:
    """``x,y x,y …`` for an SVG ``<polyline points>``."""
    return " ".join(f"{x:g},{y:g}" for x, y in points)


def segments(points: Sequence[tuple[float, float] | None]) -> list[str]:
    """Polylines of the runs of points between gaps (``None``): a missing week breaks the line
    instead of drawing a slope through data that is not there."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [polyline(run) for run in runs if run]


def marker_path(shape: str, x: float, y: float, r: float = 3.5) -> str:
    """The SVG path ``d`` of a marker centred on (x, y)."""
    if shape == "square":
        return f"M{x - r:g},{y - r:g}h{2 * r:g}v{2 * r:g}h{-2 * r:g}Z"
    if shape == "triangle":
        return f"M{x:g},{y - r * 1.2:g}L{x + r * 1.1:g},{y + r:g}L{x - r * 1.1:g},{y + r:g}Z"
    if shape == "diamond":
        return f"M{x:g},{y - r * 1.3:g}L{x + r:g},{y:g}L{x:g},{y + r * 1.3:g}L{x - r:g},{y:g}Z"
    if shape == "cross":
        return f"M{x - r:g},{y - r:g}L{x + r:g},{y + r:g}M{x - r:g},{y + r:g}L{x + r:g},{y - r:g}"
    # circle: two arcs
    return f"M{x - r:g},{y:g}a{r:g},{r:g} 0 1,0 {2 * r:g},0a{r:g},{r:g} 0 1,0 {-2 * r:g},0Z"


def spread(positions: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Move label positions apart so that no two are closer than ``gap``, keeping their order
    and staying within ``[low, high]`` when there is room (end-of-line labels must not overlap)."""
    if not positions:
        return []
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [positions[i] for i in order]
    placed[0] = max(placed[0], low)
    for k in range(1, len(placed)):  # push down, top to bottom
        placed[k] = max(placed[k], placed[k - 1] + gap)
    if placed[-1] > high:  # out of room: push up, bottom to top
        placed[-1] = high
        for k in range(len(placed) - 2, -1, -1):
            placed[k] = min(placed[k], placed[k + 1] - gap)
    result = [0.0] * len(positions)
    for k, i in enumerate(order):
        result[i] = round(placed[k], 1)
    return result


# -- line charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the value, formatted (a tooltip: <title>)
    path: str  # the marker


@dataclass(frozen=True)
class PlottedSeries:
    name: str
    index: int
    dash: str
    marker: str
    lines: list[str]
    points: list[Point]
    label_x: float
    label_y: float
    last_value: str

    @property
    def last_point(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def legend_path(self) -> str:
        """The series' marker beside its end label (the label's own key)."""
        return marker_path(self.marker, self.label_x + 14, self.label_y)


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    bottom: int  # y of the plot's bottom edge
    series: list[PlottedSeries]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]

    @property
    def legend_x(self) -> float:
        return self.right + 8


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[float], str] = lambda value: f"{value:g}",
    width: int = 720,
    height: int = 260,
    label_width: int = 150,
    zero_based: bool = True,
    x_tick_every: int = 0,
) -> LineChart | None:
    """Coordinates of a line chart of ``series`` over evenly spaced ``x_labels`` (e.g. weeks).

    1. The y domain spans every value (from 0 when ``zero_based``), widened to round ticks.
    2. Each series gets a dash pattern and a marker by its position, and a label at its last
       point; labels are spread apart so that they never overlap.
    Returns ``None`` when there is nothing to draw.
    """
    values = [v for s in series for v in s.values if v is not None]
    if not x_labels or not values:
        return None
    left, top, bottom = 56, 12, height - 28
    right = width - label_width - 8
    lo = min(0.0, min(values)) if zero_based else min(values)
    ticks = nice_ticks(lo, max(values), 5)
    y = linear((ticks[0], ticks[-1]), (bottom, top))
    n = len(x_labels)
    x = linear((0, max(n - 1, 1)), (left + 6, right - 6))

    plotted = []
    ends = []
    for index, s in enumerate(series):
        coords = [None if v is None else (x(i), y(v)) for i, v in enumerate(s.values)]
        marker = MARKERS[index % len(MARKERS)]
        points = [
            Point(c[0], c[1], fmt(v), marker_path(marker, c[0], c[1]))
            for c, v in zip(coords, s.values, strict=True)
            if c is not None and v is not None
        ]
        last = points[-1] if points else None
        ends.append(last.y if last else bottom)
        plotted.append((index, s, marker, coords, points, last))
    label_ys = spread(ends, 13, top + 4, bottom)
    every = x_tick_every or max(1, math.ceil(n / 8))
    return LineChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        series=[
            PlottedSeries(
                name=s.name,
                index=index,
                dash=DASHES[index % len(DASHES)],
                marker=marker,
                lines=segments(coords),
                points=points,
                label_x=right + 8,
                label_y=label_ys[index],
                last_value=last.label if last else "—",
            )
            for (index, s, marker, coords, points, last) in plotted
        ],
        y_ticks=[(y(t), fmt(t)) for t in ticks],
        x_ticks=[(x(i), x_labels[i]) for i in range(0, n, every)],
    )


# -- sparklines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    lines: list[str]
    last_x: float
    last_y: float
    first: float
    last: float
    low: float
    high: float


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    pad: float = 3,
    domain: tuple[float, float] | None = None,
) -> Sparkline | None:
    """A tiny line of ``values`` (gaps break it), scaled to its own range unless ``domain`` is
    given; ``first``/``last`` are the first and last known values, for its text alternative."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    lo, hi = domain if domain is not None else (min(known), max(known))
    if hi == lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1), hi + 0.5 * (abs(hi) or 1)
    y = linear((lo, hi), (height - pad, pad))
    n = len(values)
    x = linear((0, max(n - 1, 1)), (pad, width - pad))
    coords = [None if v is None else (x(i), y(v)) for i, v in enumerate(values)]
    last_point = next(c for c in reversed(coords) if c is not None)
    return Sparkline(
        width=width,
        height=height,
        lines=segments(coords),
        last_x=last_point[0],
        last_y=last_point[1],
        first=known[0],
        last=known[-1],
        low=min(known),
        high=max(known),
    )
