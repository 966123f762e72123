"""Charts for the report, drawn ONLY from already disclosure-controlled strings.

Every function takes the suppressed strings ("0", "*", "15", "85%") that the report tables
show, draws bar heights/colours from them ("*" is drawn as an empty bar, so a small count
cannot be read off the picture either), hides count axes (the annotations carry the values),
and returns the PNG as base64 plus the exact list of annotation strings drawn, which the HTML
carries in ``data-labels`` so tests can check every chart label.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SUPPRESSED = "*"


def value_of(text: str) -> float:
    """Numeric value of a suppressed string for drawing: "*" draws as 0, "85%" as 85."""
    text = text.strip()
    if text == SUPPRESSED or text == "":
        return 0.0
    return float(text.rstrip("%").replace(",", ""))


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def bar_chart(categories: list[str], labels: list[str], *, title: str, xlabel: str) -> tuple[str, list[str]]:
    """Horizontal bars, one per category, annotated with its (suppressed) label."""
    heights = np.array([value_of(s) for s in labels])
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(categories) + 1.2))
    y = np.arange(len(categories))
    ax.barh(y, heights, color="#4c72b0")
    top = heights.max() if len(heights) and heights.max() > 0 else 1.0
    for yi, h, text in zip(y, heights, labels, strict=True):
        ax.text(h + top * 0.01, float(yi), text, va="center", fontsize=8)
    ax.set_yticks(y, categories, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.15)
    ax.set_xticks([])  # values are in the annotations, already suppressed
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return _png(fig), list(labels)


def heatmap(rows: list[str], columns: list[str], cells: list[list[str]], *, title: str, xlabel: str,
            ylabel: str) -> tuple[str, list[str]]:
    """A from/to matrix coloured by the suppressed values and annotated with them."""
    values = np.array([[value_of(s) for s in row] for row in cells]) if rows and columns else np.zeros((1, 1))
    fig, ax = plt.subplots(figsize=(1.3 * max(len(columns), 2) + 2, 0.6 * max(len(rows), 2) + 1.5))
    ax.imshow(values, cmap="Blues", aspect="auto", vmin=0)
    vmax = values.max() if values.size and values.max() > 0 else 1.0
    drawn = []
    for i, row in enumerate(cells):
        for j, text in enumerate(row):
            colour = "white" if values[i, j] > vmax * 0.6 else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)
            drawn.append(text)
    ax.set_xticks(range(len(columns)), [c.replace("_", " ") for c in columns], fontsize=8, rotation=20)
    ax.set_yticks(range(len(rows)), [r.replace("_", " ") for r in rows], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return _png(fig), drawn


def grouped_bars(groups: list[str], series: dict[str, list[str]], *, title: str, ylabel: str,
                 percent: bool = False) -> tuple[str, list[str]]:
    """Vertical bars per group (e.g. year), one bar per series (e.g. setting type), annotated."""
    fig, ax = plt.subplots(figsize=(min(10, max(5, 0.45 * len(groups) * max(len(series), 1))), 3.4))
    x = np.arange(len(groups))
    width = 0.8 / max(len(series), 1)
    drawn = []
    tallest = max((value_of(s) for labels in series.values() for s in labels), default=1.0) or 1.0
    for k, (name, labels) in enumerate(series.items()):
        heights = [value_of(s) for s in labels]
        positions = x + (k - (len(series) - 1) / 2) * width
        bars = ax.bar(positions, heights, width=width, label=name.replace("_", " "))
        colour = bars.patches[0].get_facecolor() if bars.patches else "grey"
        for xi, h, text in zip(positions, heights, labels, strict=True):
            if text == "*":
                # a suppressed value is drawn as a hatched bar labelled "suppressed", never as an
                # empty (zero-height) bar that reads as 0
                full = 100.0 if percent else tallest
                ax.bar([xi], [full], width=width, fill=False, hatch="///", edgecolor=colour, linewidth=0.6)
                ax.text(xi, full * 0.5, "suppressed", ha="center", va="center", rotation=90, fontsize=6,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            else:
                ax.text(xi, h + tallest * 0.02, text, ha="center", fontsize=7)
            drawn.append(text)
    ax.set_xticks(x, groups, fontsize=8, rotation=20 if max(map(len, groups), default=0) > 6 else 0)
    if percent:
        ax.set_ylim(0, 110)
        ax.set_yticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
    else:
        ax.set_ylim(0, tallest * 1.2)
        ax.set_yticks([])
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig), drawn


def flow_chart(left: list[str], right: list[str], cells: list[list[str]], *, title: str) -> tuple[str, list[str]]:
    """A Sankey-like picture: ribbons from each ``left`` node to each ``right`` node, as wide as
    the suppressed count in ``cells[i][j]``. A "*" or "0" ribbon is not drawn, so a small
    flow cannot be seen; node sizes are sums of the drawn (rounded) ribbons."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    values = (np.array([[value_of(s) for s in row] for row in cells], dtype=float) if left and right
              else np.zeros((len(left), len(right))))  # no stays or moves: an empty chart, not a crash
    total = values.sum() or 1.0
    gap = 0.02
    scale = (1 - gap * (max(len(left), len(right)) - 1)) / total

    def stack(sizes: np.ndarray) -> np.ndarray:
        starts, y = [], 1.0
        for size in sizes:
            starts.append(y)
            y -= size * scale + gap
        return np.array(starts)

    left_top, right_top = stack(values.sum(axis=1)), stack(values.sum(axis=0))
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(8, 5))
    left_used = np.zeros(len(left))
    right_used = np.zeros(len(right))
    drawn = []
    for i in range(len(left)):
        for j in range(len(right)):
            width = values[i, j] * scale
            if width <= 0:
                continue
            y0 = left_top[i] - left_used[i]
            y1 = right_top[j] - right_used[j]
            left_used[i] += width
            right_used[j] += width
            x0, x1, mid = 0.1, 0.9, 0.5
            path = MplPath(
                [(x0, y0), (mid, y0), (mid, y1), (x1, y1), (x1, y1 - width), (mid, y1 - width),
                 (mid, y0 - width), (x0, y0 - width), (x0, y0)],
                [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO,
                 MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY],
            )
            ax.add_patch(PathPatch(path, facecolor=colours(i % 10), alpha=0.45, edgecolor="none"))
            if width >= 0.04:  # thin ribbons stay unlabelled (their counts are in the table)
                ax.text(x1 - 0.02, y1 - width / 2, cells[i][j], ha="right", va="center", fontsize=7)
                drawn.append(cells[i][j])
    for tops, used, names, x, align in ((left_top, left_used, left, 0.1, "right"),
                                        (right_top, right_used, right, 0.9, "left")):
        for top, size, name in zip(tops, used, names, strict=True):
            if size <= 0:
                continue
            ax.add_patch(plt.Rectangle((x - 0.01, top - size), 0.02, size, color="#333"))
            ax.text(x + (-0.02 if align == "right" else 0.02), top - size / 2, name.replace("_", " "),
                    ha=align, va="center", fontsize=9)
    ax.set_xlim(-0.15, 1.2)
    ax.set_ylim(min(0.0, float(np.min(left_top - left_used, initial=0)), float(np.min(right_top - right_used, initial=0))) - 0.02,
                1.02)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return _png(fig), drawn
