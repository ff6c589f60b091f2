"""Plotly figures drawn straight from processed histograms: steps, markers, heat maps, stacks and overlays.

``latex`` turns ROOT titles into Plotly text, ``downsample`` fits a histogram into the cell budget,
``lines`` and ``maps`` draw 1D and 2D histograms on the axes of ``drawing``, and ``layout`` puts a figure
together.
"""

from __future__ import annotations

from dashboard.figures.downsample import downsample
from dashboard.figures.drawing import (
    COLOURWAY,
    COMPACT_CELL_BUDGET,
    DEFAULT_CELL_BUDGET,
    DEFAULT_COLOUR_SCALE,
    FULL_WIDTH_CELL_BUDGET,
    OVERLAY_COLOUR,
)
from dashboard.figures.latex import root_text
from dashboard.figures.layout import empty_figure, figure, figure_json_bytes

__all__ = [
    "COLOURWAY",
    "COMPACT_CELL_BUDGET",
    "DEFAULT_CELL_BUDGET",
    "DEFAULT_COLOUR_SCALE",
    "FULL_WIDTH_CELL_BUDGET",
    "OVERLAY_COLOUR",
    "downsample",
    "empty_figure",
    "figure",
    "figure_json_bytes",
    "root_text",
]
