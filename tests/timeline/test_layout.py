"""Placing a timeline: packing never overlaps, dates keep their precision on the page."""

import os
from datetime import date

import matplotlib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhirconv.cases import load_case
from fhirconv.timeline.describe import describe
from fhirconv.timeline.items import Item
from fhirconv.timeline.labels import wrap
from fhirconv.timeline.layout import Placed, Scale, layout, pack
from fhirconv.timeline.render import RC, measurer
from fhirconv.timeline.shapes import GAP_X, GAP_Y, Box, Text

DERANDOMIZE = os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def measure():
    with matplotlib.rc_context(RC):
        yield measurer()


@pytest.fixture(scope="module")
def pages(measure):
    return {name: layout(describe(load_case(name)), measure) for name in ("case1", "case2")}


def rect(x0, width, height):
    item = Item("k", "diagnoses", "", "", ())
    return Placed(item, None, x0, x0 + width, height, x0)


@settings(max_examples=300, derandomize=DERANDOMIZE, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 500, allow_nan=False),
            st.floats(1, 200, allow_nan=False),
            st.floats(1, 40, allow_nan=False),
        ),
        max_size=30,
    )
)
def test_packed_rectangles_never_overlap(boxes):
    placed = [rect(*box) for box in boxes]
    height = pack(placed)
    for i, a in enumerate(placed):
        assert a.y >= 0 and a.y + a.height <= height + 1e-9
        for b in placed[:i]:
            apart_x = a.x1 + GAP_X <= b.x0 or b.x1 + GAP_X <= a.x0
            apart_y = a.y + a.height + GAP_Y <= b.y or b.y + b.height + GAP_Y <= a.y
            assert apart_x or apart_y, (a, b)


def test_packing_reuses_a_row_where_there_is_room():
    placed = [rect(0, 100, 10), rect(50, 100, 10), rect(200, 50, 10)]
    pack(placed)
    assert [p.y for p in placed] == [0, 10 + GAP_Y, 0]


def test_wrap_keeps_lines_within_the_width(measure):
    text = "aspiration biopsies (breast and lymph nodes), including the right axillary lymph nodes"
    lines = wrap(text, 120, measure)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(measure(line, 7.5, False) <= 120 for line in lines)


def test_a_year_only_date_is_drawn_over_the_whole_year(pages, measure):
    timeline = describe(load_case("case1"))
    page = pages["case1"]
    mark = next(s for s in page.shapes if isinstance(s, Box) and s.gid == "primary-left-breast")
    year_start, year_end = _x_of(page, timeline, date(2016, 1, 1)), _x_of(page, timeline, date(2017, 1, 1))
    assert mark.x0 == pytest.approx(year_start)
    assert mark.x1 == pytest.approx(year_end)
    month = next(s for s in page.shapes if isinstance(s, Box) and s.gid == "recurrence-2018")
    assert month.x1 - month.x0 == pytest.approx(
        _x_of(page, timeline, date(2018, 11, 1)) - _x_of(page, timeline, date(2018, 10, 1))
    )


def _x_of(page, timeline, day):
    from fhirconv.timeline.shapes import MARGIN, TITLE_COLUMN, UNDATED_GAP, UNDATED_W

    left = MARGIN + TITLE_COLUMN
    right = page.width - MARGIN - UNDATED_W - UNDATED_GAP
    return Scale.fit(timeline.first, timeline.last, left + 4, right - 4)(day)


def test_every_item_has_its_mark_and_label(pages):
    for name, page in pages.items():
        gids = [s.gid for s in page.shapes if s.gid]
        assert len(gids) == len(set(gids)), name
        for item in describe(load_case(name)).items:
            assert item.key in gids, item.key
            assert f"{item.key}.label" in gids, item.key


def test_notes_show_both_values(pages):
    texts = " ".join(s.text for s in pages["case1"].shapes if isinstance(s, Text))
    assert "Figure 4: \u201cSecondary surgery (hysterectomy)\u201d" in texts
    assert "text: \u201cbilateral oophorectomies for ovarian suppression\u201d" in texts


def test_an_undated_timeline_cannot_be_laid_out(measure):
    timeline = describe(load_case("case1")).__class__("x", "t", "s", (), ())
    with pytest.raises(ValueError, match="no dated item"):
        layout(timeline, measure)
