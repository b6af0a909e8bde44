"""The SVG chart helpers (portal/core/charts.py): pure functions, checked on plain numbers."""

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from portal.core import charts


def test_linear_maps_the_domain_onto_the_span_and_a_flat_domain_to_the_middle():
    y = charts.linear((0, 10), (200, 0))
    assert (y(0), y(5), y(10)) == (200, 100, 0)
    assert charts.linear((3, 3), (0, 100))(3) == 50


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0, 0.123, [0, 0.05, 0.1, 0.15]),
        (0, 17.3, [0, 5, 10, 15, 20]),
        (0, 1, [0, 0.25, 0.5, 0.75, 1]),
        (-3, 7, [-5, -2.5, 0, 2.5, 5, 7.5]),
    ],
)
def test_nice_ticks_are_round_and_cover_the_values(lo, hi, expected):
    assert charts.nice_ticks(lo, hi) == pytest.approx(expected)


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.one_of(st.just(0.0), st.floats(1e-3, 1e6)),  # what we chart: flat, or a visible range
)
@example(-5.96e-08, 1e6)  # found by hypothesis: a hair below zero, a huge step
def test_nice_ticks_always_cover_the_range_with_a_few_even_steps(lo, width):
    hi = lo + width
    ticks = charts.nice_ticks(lo, hi)
    # covered up to float noise: a billionth of a step (lo = -6e-8 with steps of 200,000 is 0)
    slack = 1e-9 * max(1.0, abs(lo), abs(hi), ticks[-1] - ticks[0])
    assert ticks[0] <= lo + slack and ticks[-1] >= hi - slack
    assert 2 <= len(ticks) <= 8
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert len(steps) <= 2  # equal steps (up to float rounding)


def test_segments_break_the_line_at_gaps():
    points = [(0, 0), (1, 1), None, (3, 3), None, None, (6, 6)]
    assert charts.segments(points) == ["0,0 1,1", "3,3", "6,6"]
    assert charts.segments([None, None]) == []


def test_spread_keeps_labels_apart_in_order_and_inside():
    assert charts.spread([10, 11, 12, 100], 13, 0, 110) == [10, 23, 36, 100]
    assert charts.spread([100, 105, 108], 13, 0, 110) == [84, 97, 110]
    moved = charts.spread([50, 20, 21], 10, 0, 200)
    assert moved == [50, 20, 30]


@pytest.mark.parametrize("shape", charts.MARKERS)
def test_every_marker_is_a_path_around_its_point(shape):
    d = charts.marker_path(shape, 100, 50)
    start = [float(v) for v in d[1:].split("a")[0].split("h")[0].split("L")[0].split(",")]
    assert d.startswith("M") and abs(start[0] - 100) <= 4 and abs(start[1] - 50) <= 5


def test_line_chart_series_differ_in_dash_and_marker_and_are_labelled_at_their_ends():
    chart = charts.line_chart(
        ["w1", "w2", "w3"],
        [charts.Series("Humana", [0.1, 0.2, 0.3]), charts.Series("Aetna", [0.1, None, 0.1])],
        fmt=lambda v: f"{v * 100:.0f}%",
    )
    humana, aetna = chart.series
    assert (humana.dash, aetna.dash) == ("", "7 4")
    assert (humana.marker, aetna.marker) == ("circle", "square")
    assert len(humana.lines) == 1 and len(aetna.lines) == 2  # the gap breaks Aetna's line
    assert humana.last_value == "30%" and aetna.last_value == "10%"
    assert [p.label for p in humana.points] == ["10%", "20%", "30%"]
    assert humana.label_x == aetna.label_x == chart.right + 8
    assert abs(humana.label_y - aetna.label_y) >= 13
    assert humana.points[-1].y < aetna.points[-1].y  # higher values are higher up
    assert [label for _, label in chart.y_ticks] == ["0%", "10%", "20%", "30%"]
    assert charts.line_chart([], []) is None
    assert charts.line_chart(["w1"], [charts.Series("x", [None])]) is None


def test_sparkline_has_its_first_and_last_values_and_a_common_scale():
    spark = charts.sparkline([0.081, None, 0.1, 0.124])
    assert (spark.first, spark.last, spark.low, spark.high) == (0.081, 0.124, 0.081, 0.124)
    assert len(spark.lines) == 2
    assert spark.last_x == 117 and spark.last_y == 3  # the highest value, top right
    shared = charts.sparkline([0.1, 0.1], domain=(0.0, 0.2))
    assert shared.last_y == 14  # half-way up a 28-pixel box
    assert charts.sparkline([None]) is None
