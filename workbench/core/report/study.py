"""The report of a budget search: STUDY/report/index.html with the frontier chart and table, from plain rows
(the search room computes them; this module only draws, so the report stays below the search in the layers).

The reference models are drawn as vertical lines at their measured latency: their latency is measured in
the study's own process, but their accuracy comes from each trial's job (a fine-tuned teacher), so a point
with an accuracy of its own would claim more than was measured beside the candidates.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from workbench.core.methods.html import table
from workbench.core.palette import PALETTE, TEACHER_GREY
from workbench.core.report.charts import save_chart
from workbench.core.report.document import CSS
from workbench.core.report.sections import figure, section
from workbench.core.run_folder import atomic_write

GREY, FRONTIER = "#bdbdbd", PALETTE[0]


def frontier_chart(rows: Sequence[dict[str, Any]], references: dict[str, dict[str, Any]], path: Path) -> Path:
    """Dev accuracy against measured int8 latency; marker area by size, over-budget and pruned trials grey
    (untrained ones along the bottom), the frontier joined, the reference models as labelled vertical lines."""
    figure_ = Figure(figsize=(8, 5))
    axes = figure_.add_subplot()
    plotted = [r for r in rows if r.get("latency_ms") is not None and r.get("dev_accuracy") is not None]
    largest = max((r["size_mib"] for r in plotted), default=1.0) or 1.0
    for row in plotted:
        live = row["state"] == "complete" and not row["over_budget"]
        axes.scatter(row["latency_ms"], row["dev_accuracy"], s=40 + 400 * row["size_mib"] / largest,
                     color=FRONTIER if live else GREY, alpha=0.6,
                     edgecolors="#212121" if row["on_frontier"] else "none")
        axes.annotate(str(row["number"]), (row["latency_ms"], row["dev_accuracy"]), fontsize=8, ha="center",
                      va="center")
    untrained = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None and r.get("dev_accuracy") is None]
    if untrained:  # measured but never trained: no accuracy, so a row of grey marks along the bottom
        axes.scatter(untrained, [0.03] * len(untrained), marker="v", color=GREY, transform=axes.get_xaxis_transform(),
                     label="measured, not trained (over budget)")
    front = sorted((r for r in plotted if r["on_frontier"]), key=lambda r: r["latency_ms"])
    if front:
        axes.step([r["latency_ms"] for r in front], [r["dev_accuracy"] for r in front], where="post",
                  color=FRONTIER, linewidth=1.5, label="frontier")
    for name, model in references.items():
        axes.axvline(model["latency_ms"], color=TEACHER_GREY, linestyle="--", linewidth=1)
        axes.annotate(name, (model["latency_ms"], 1), xycoords=("data", "axes fraction"), rotation=90, fontsize=8,
                      va="top", ha="right", color=TEACHER_GREY)
    if front or untrained:
        axes.legend(loc="lower right", fontsize=8)
    axes.set_xscale("log")
    latencies = [r["latency_ms"] for r in rows if r.get("latency_ms")] + [m["latency_ms"] for m in references.values()]
    if latencies:  # marks placed in axes coordinates do not widen the limits by themselves
        axes.set_xlim(min(latencies) / 1.6, max(latencies) * 1.6)
    if not plotted:
        axes.set_ylim(0, 1)
    axes.set_xlabel("measured int8 latency (ms, log) — left is faster")
    axes.set_ylabel("dev accuracy — up is better")
    axes.set_title("Candidates of the study (grey: over budget or pruned; ringed: on the frontier)", fontsize=10)
    axes.grid(alpha=0.3, which="both")
    return save_chart(figure_, path)


def write_study_report(out: Path, title: str, rows: list[dict[str, Any]], references: dict[str, dict[str, Any]],
                       budget: str, best: dict[str, Any] | None, message: str) -> Path:
    """Write OUT/index.html and OUT/frontier.png; return the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    verdict = (f'<p class="headline">Best under budget: trial {best["number"]} — {html.escape(best["candidate"])}, '
               f'{best["latency_ms"]:.2f} ms, {best["size_mib"]:.1f} MiB, dev accuracy {best["dev_accuracy"]:.1%}</p>'
               if best else f'<p class="banner">{html.escape(message)}</p>')
    chart = frontier_chart(rows, references, out / "frontier.png") if rows else None
    body = "".join([
        f"<h1>{html.escape(title)}</h1><p class='meta'>Budget: {html.escape(budget)}</p>", verdict,
        section("Frontier", (figure(chart, "frontier chart") if chart else "<p>No trial has been measured yet.</p>")
                + _frontier_table([r for r in rows if r["on_frontier"]], references)),
        section("All trials", _trials_table(rows)),
    ])
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
    return atomic_write(out / "index.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))


def _frontier_table(front: list[dict[str, Any]], references: dict[str, dict[str, Any]]) -> str:
    header = ["model", "int8 latency (ms)", "size (MiB)", "dev accuracy", "kept of teacher", "kept of int8 teacher"]
    cells = [[html.escape(name), f"{m['latency_ms']:.2f}", f"{m['size_mib']:.1f}", "-", "-", "-"]
             for name, m in references.items()]
    cells += [[f"trial {r['number']}: {html.escape(r['candidate'])}", f"{r['latency_ms']:.2f}", f"{r['size_mib']:.1f}",
               _share(r["dev_accuracy"]), _share(r["kept_teacher"]), _share(r["kept_int8_teacher"])] for r in front]
    over = [False] * len(references) + [bool(r["over_budget"]) for r in front]
    return table(header, cells, over)


def _trials_table(rows: list[dict[str, Any]]) -> str:
    header = ["trial", "candidate", "state", "latency (ms)", "size (MiB)", "dev accuracy", "why"]
    cells = [[str(r["number"]), html.escape(r["candidate"]), r["state"], _number(r["latency_ms"]),
              _number(r["size_mib"], 1), _share(r["dev_accuracy"]), html.escape(r["reason"])] for r in rows]
    return table(header, cells, [bool(r["over_budget"]) for r in rows])


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
