"""Charts as inline SVG, drawn with matplotlib.

Why matplotlib: it is the best-kept plotting library in Python, renders without a display or a network
(the Agg/SVG backends), and its SVG needs no JavaScript, so the page opens anywhere, offline, and prints.
Text is kept as SVG text (svg.fonttype none): smaller files, and the words stay searchable.
"""

from __future__ import annotations

import io
import re
from typing import Any

_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "fhirconv"})
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG sits inside HTML


def colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def bars(labels: list[str], series: dict[str, list[float]], *, xlabel: str, title: str) -> str:
    """Horizontal grouped bars: one group per label, one bar per series (e.g. per arm)."""
    plt = _pyplot()
    height = max(1.6, 0.28 * len(labels) * max(1, len(series)) + 0.8)
    fig, ax = plt.subplots(figsize=(6.4, min(height, 14)))
    n = max(1, len(series))
    width = 0.8 / n
    for i, (name, values) in enumerate(series.items()):
        positions = [k + (i - (n - 1) / 2) * width for k in range(len(labels))]
        ax.barh(positions, values, height=width, label=name, color=colour(i))
    ax.set_yticks(range(len(labels)), [short(x) for x in labels])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    if len(series) > 1:
        ax.legend(loc="best", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def over_time(test: str, unit: str, summary: dict[str, Any], arms: list[str]) -> str:
    """Median with the interquartile range by visit, one line per arm, and the reference range as a band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    if summary["low"] is not None and summary["high"] is not None:
        ax.axhspan(summary["low"], summary["high"], color="#2ca02c", alpha=0.12, label="reference range")
    for i, arm in enumerate(arms):
        points = [p for p in summary["series"] if p["arm"] == arm]
        if not points:
            continue
        x = [p["x"] for p in points]
        ax.plot(x, [p["median"] for p in points], marker="o", ms=3, color=colour(i), label=arm)
        ax.fill_between(x, [p["q1"] for p in points], [p["q3"] for p in points], color=colour(i), alpha=0.15)
    ax.set_title(short(test, 40), loc="left")
    ticks = summary["visits"]
    step = max(1, len(ticks) // 8)  # at most about 8 labels: names of visits are long
    ax.set_xticks(range(0, len(ticks), step), [short(v, 14) for v in ticks[::step]], rotation=30, ha="right")
    ax.set_xlabel("visit" if summary["by_visit"] else "study day (weeks)")
    ax.set_ylabel(unit)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False)
    return _svg(fig)


def timeline(events: list[tuple[str, str, str]]) -> str:
    """Dates on one line: (label, start, end or '') as ISO dates; a bar for a period, a dot for a day."""
    from datetime import date

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(events) + 0.7))
    for i, (_label, start, end) in enumerate(events):
        a, b = _as_date(start), _as_date(end)
        if a and b:
            ax.barh(i, (b - a).days or 1, left=a.toordinal(), color=colour(i), height=0.5)
        elif a:
            ax.plot([a.toordinal()], [i], "o", color=colour(i))
    ax.set_yticks(range(len(events)), [e[0] for e in events])
    ax.invert_yaxis()
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [date.fromordinal(int(t)).isoformat()[:7] for t in ticks], rotation=30)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _as_date(text: str) -> Any:
    """An ISO date, year-month or year (the registry gives all three) as a date: the first day it can mean."""
    from datetime import date

    if not text:
        return None
    parts = [int(p) for p in text[:10].split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def short(text: str, limit: int = 48) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
