"""Plots both papers use: the learning curve, and the figure helpers under every tfxmodal plot.

Rendering uses matplotlib's Agg canvas directly (no pyplot, no display, no
global backend switch), and every PNG is written atomically.
"""

import os

import numpy as np

from tfxmodal.utils.files import atomic_path


def new_figure(width_px, height_px, dpi=100, facecolor="white"):
    """A matplotlib `Figure` of `width_px` × `height_px` on its own Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 — matplotlib (a slow import) only when a figure is drawn
    from matplotlib.figure import Figure  # noqa: PLC0415 — matplotlib only when a figure is drawn, with its canvas

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, facecolor=facecolor)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path):
    """Writes `figure` to `path` as PNG atomically; returns `path` as str.

    No `bbox_inches="tight"`: the image keeps the figure's pixel size, which
    callers (and Fig. 3's pixel layout) rely on.
    """
    path = os.fspath(path)
    with atomic_path(path) as temp:
        figure.savefig(temp, format="png", dpi=figure.dpi, facecolor=figure.get_facecolor())
    return path


def figure_pixels(figure):
    """The drawn figure as a uint8 `(H, W, 3)` RGB array."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def learning_curve(records, path, metrics, references=None, title=None):
    """Plots evaluation metrics against training steps; writes a PNG and returns its path.

    Args:
        records: `[{"step": int, metric: float, ...}, ...]` in step order.
        path: PNG file to write (atomically).
        metrics: `[(key, label, log_scale)]`, one panel each (missing keys skipped).
        references: `{key: value}` drawn as a dashed line labelled "real
            data" (e.g. the real test split's FID, the real notes' level).
        title: figure title.
    """
    references = references or {}
    panels = [(key, label, log) for key, label, log in metrics if any(key in record for record in records)]
    if not panels:
        raise ValueError(f"learning_curve: none of {[key for key, _, _ in metrics]} is in the records")
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure = new_figure(330 * columns, 240 * rows + 40)
    for index, (key, label, log) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        points = [(record["step"], record[key]) for record in records if key in record and record[key] is not None]
        steps, values = zip(*points) if points else ((), ())
        axes.plot(steps, values, marker="o", ms=3, lw=1.2)
        if key in references and references[key] is not None:
            axes.axhline(references[key], color="#888888", ls="--", lw=1, label="real data")
            axes.legend(fontsize=7, frameon=False)
        if log and values and min(values) > 0:
            axes.set_yscale("log")
        axes.set_title(label, fontsize=9)
        axes.set_xlabel("step", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(
        left=0.08, right=0.97, top=1 - 45 / (240 * rows + 40), bottom=0.1 / rows, hspace=0.55, wspace=0.3
    )
    return save_png(figure, path)
