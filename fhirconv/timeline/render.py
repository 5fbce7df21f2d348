"""Drawing a laid-out timeline with matplotlib (Agg, no display), as SVG or PNG bytes.

Deterministic: the same timeline gives the same bytes.  SVG ids that matplotlib derives
from hashes use a fixed salt, the metadata carry no date, text stays text (searchable,
and every label names its fact in its ``id``), and the one font is DejaVu Sans, which
ships with matplotlib, so measuring and drawing use the same metrics everywhere.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal, cast

from fhirconv.timeline.items import Timeline
from fhirconv.timeline.layout import layout
from fhirconv.timeline.shapes import Box, Dot, Line, Measure, Page, Text

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

Format = Literal["svg", "png"]
FONT_FAMILY = "DejaVu Sans"
PNG_DPI = 150
RC = {
    "svg.hashsalt": "fhirconv-timeline",
    "svg.fonttype": "none",
    "svg.image_inline": True,
    # DejaVu Sans ships with matplotlib: measured and drawn the same on every machine.
    # An SVG viewer without it falls back to a font of similar width, not to a serif.
    "font.family": ["sans-serif"],
    "font.sans-serif": [FONT_FAMILY, "Bitstream Vera Sans", "Verdana"],
    "hatch.linewidth": 0.6,
    "text.usetex": False,
    # Unhinted glyphs have the same advance at every resolution, so the widths measured
    # for the layout hold in the PNG (150 dpi) and the SVG alike.
    "text.hinting": "none",
    "path.simplify": False,
}
METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None, "Creator": "fhirconv timeline", "Format": None, "Type": None},
    "png": {"Software": "fhirconv timeline"},
}


def measurer() -> Measure:
    """Text widths in points, from the font metrics the Agg renderer draws with."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, 72)  # type: ignore[no-untyped-call]  # at 72 dpi a pixel is a point
    cache: dict[tuple[str, float, bool], float] = {}
    properties: dict[tuple[float, bool], FontProperties] = {}

    def measure(text: str, size: float, bold: bool) -> float:
        key = (text, size, bold)
        if key not in cache:
            prop = properties.get((size, bold))
            if prop is None:
                prop = FontProperties(family=FONT_FAMILY, size=size, weight="bold" if bold else "normal")
                properties[(size, bold)] = prop
            width, _, _ = renderer.get_text_width_height_descent(  # type: ignore[no-untyped-call]
                text, prop, ismath=False
            )
            cache[key] = float(width)
        return cache[key]

    return measure


def figure(page: Page) -> Figure:
    """A matplotlib Figure with the page's shapes, one data unit a point, y downwards."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(page.width / 72, page.height / 72), dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, page.width)
    ax.set_ylim(page.height, 0)
    ax.set_autoscale_on(False)
    ax.set_axis_off()
    for shape in page.shapes:
        artist = _artist(shape)
        artist.set_gid(shape.gid)
        if isinstance(shape, Text):
            ax.add_artist(artist)
        elif isinstance(shape, Line | Dot) and isinstance(artist, Line2D):
            ax.add_line(artist)
        else:
            ax.add_patch(artist)  # type: ignore[arg-type]
    return fig


_STYLES: dict[str, Literal["-", "--", ":"]] = {"solid": "-", "dashed": "--", "dotted": ":"}


def _artist(shape: Box | Line | Dot | Text) -> Artist:
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Rectangle
    from matplotlib.text import Text as TextArtist

    if isinstance(shape, Box):
        return Rectangle(
            (shape.x0, shape.y0),
            shape.x1 - shape.x0,
            shape.y1 - shape.y0,
            facecolor=_with_alpha(shape.face, shape.alpha),
            edgecolor=shape.edge,
            linewidth=shape.width if shape.edge != "none" else 0,
            linestyle=_STYLES[shape.line],
            hatch=shape.hatch or None,
            zorder=shape.z,
        )
    if isinstance(shape, Line) and shape.arrow:
        return FancyArrowPatch(
            (shape.x0, shape.y0),
            (shape.x1, shape.y1),
            arrowstyle="-|>,head_length=4,head_width=2.5",
            color=shape.colour,
            linewidth=shape.width,
            shrinkA=0,
            shrinkB=0,
            zorder=shape.z,
        )
    if isinstance(shape, Line):
        return Line2D(
            [shape.x0, shape.x1],
            [shape.y0, shape.y1],
            color=shape.colour,
            linewidth=shape.width,
            linestyle=_STYLES[shape.style],
            solid_capstyle="butt",
            dash_capstyle="butt",
            zorder=shape.z,
        )
    if isinstance(shape, Dot) and shape.hatch:
        # Markers take no hatch: a hatched square patch of the marker's size instead.
        half = shape.size / 2
        return Rectangle(
            (shape.x - half, shape.y - half),
            shape.size,
            shape.size,
            facecolor=shape.face,
            edgecolor=shape.edge,
            linewidth=0.9,
            hatch=shape.hatch,
            zorder=shape.z,
        )
    if isinstance(shape, Dot):
        return Line2D(
            [shape.x],
            [shape.y],
            marker=shape.shape,
            markersize=shape.size,
            markerfacecolor=shape.face,
            markeredgecolor=shape.edge,
            markeredgewidth=0.9,
            linestyle="none",
            zorder=shape.z,
        )
    bbox = None
    if shape.chip:
        face, edge = shape.chip
        bbox = {
            "boxstyle": "round,pad=0.25,rounding_size=0.6",
            "facecolor": face,
            "edgecolor": edge,
            "linewidth": 0.7,
        }
    return TextArtist(
        shape.x,
        shape.y,
        shape.text,
        fontsize=shape.size,
        color=shape.colour,
        fontweight="bold" if shape.bold else "normal",
        fontstyle="italic" if shape.italic else "normal",
        horizontalalignment=shape.align,
        verticalalignment="center_baseline",
        bbox=bbox,
        zorder=shape.z,
        parse_math=False,
    )


def _with_alpha(colour: str, alpha: float) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour, alpha)


def draw(timeline: Timeline, fmt: Format, width_in: float | None = None) -> bytes:
    """The timeline as SVG or PNG bytes."""
    import matplotlib

    with matplotlib.rc_context(cast(Any, RC)):
        measure = measurer()
        page = layout(timeline, measure) if width_in is None else layout(timeline, measure, width_in)
        fig = figure(page)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=PNG_DPI if fmt == "png" else 72, metadata=METADATA[fmt])
    return buffer.getvalue()
