"""The report's charts as PNG files, drawn with matplotlib from plain numbers (no run-folder knowledge here).

Figures are built as `Figure` objects on an explicit Agg canvas, never through pyplot: pyplot keeps global
state, picks a display backend on its own and is not safe off the main thread, while the window may write a
report from a worker thread and the core must not touch Qt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter, ScalarFormatter

from workbench.core.methods.html import size_text
from workbench.core.palette import COMPONENT_COLOURS, FLAG_RED, PALETTE, TEACHER_GREY

DPI = 110


@dataclass(frozen=True)
class ModelPoint:
    name: str
    latency_ms: float
    accuracy: float
    size_bytes: int
    shipped: bool = True  # False when the artifact failed its parity check


@dataclass(frozen=True)
class StageCurve:
    """One stage's stretch of a global step axis: the stage starts at `offset` and runs `length` steps."""

    name: str
    offset: int
    length: int
    points: list[tuple[int, float]]  # (step within the stage, value)


@dataclass(frozen=True)
class Link:
    student: int  # 0 = embeddings, M + 1 = prediction layer
    teacher: int
    kind: str  # a key of LINK_STYLES


LINK_STYLES = {  # kind -> (colour, line style, legend text)
    "outer": ("#8e24aa", "-", "embeddings / prediction layer"),
    "hidden+attention": ("#1e88e5", "-", "hidden states + attention scores"),
    "hidden": ("#1e88e5", "--", "hidden states only"),
    "attention": ("#1e88e5", "-.", "attention scores only"),
    "off": ("#9e9e9e", ":", "mapped, loss weight 0"),
}


def save_chart(figure: Figure, path: Path) -> Path:
    """Write a figure as the report's charts are written (resolution, tight box, white ground)."""
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    return path


def failed_label(model: str) -> str:
    """How a model that failed its parity check is marked: a teacher is a reference, never shipped anyway."""
    return "reference only: parity failed" if model.startswith("teacher") else "not shipped: parity failed"


def pareto_chart(points: Sequence[ModelPoint], title: str, path: Path) -> Path:
    """Accuracy against latency, bubble area proportional to size on disk; up and left is better."""
    figure = Figure(figsize=(8, 5.2))
    axes = figure.add_subplot()
    largest = max(p.size_bytes for p in points)
    students = iter(PALETTE)
    for point in points:
        colour = TEACHER_GREY if point.name.startswith("teacher") else next(students, PALETTE[-1])
        area = 60 + 2400 * point.size_bytes / largest  # in points², so the area, not the radius, tracks size
        axes.scatter(point.latency_ms, point.accuracy, s=area, color=colour, alpha=0.45,
                     edgecolors=FLAG_RED if not point.shipped else colour, linewidths=2)
        label = f"{point.name}\n{size_text(point.size_bytes)}, {point.latency_ms:.2f} ms"
        if not point.shipped:
            label += f"\n{failed_label(point.name).upper()}"
        axes.annotate(label, (point.latency_ms, point.accuracy), xytext=(0, math.sqrt(area / math.pi) + 2),
                      textcoords="offset points", ha="center", va="bottom", fontsize=8,
                      color=FLAG_RED if not point.shipped else "#212121",
                      bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1})
    latencies, accuracies = [p.latency_ms for p in points], [p.accuracy for p in points]
    if max(latencies) > 3 * min(latencies):  # ratios are what matter; a log axis shows them as distances
        axes.set_xscale("log")
        # 1-2-5 steps over two decades or less; over more, their labels run together, so decades alone.
        decades = math.log10(max(latencies) / min(latencies))
        axes.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if decades <= 2 else (1,)))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 0.1 ms, not "0"
        axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.25)
    # At least 5 points of accuracy on the axis: a tighter one blows a few test examples up into a gap.
    middle, half = (max(accuracies) + min(accuracies)) / 2, max(0.025, (max(accuracies) - min(accuracies)) * 0.7)
    axes.set_ylim(middle - half, middle + half * 1.2)  # the extra room on top is for the labels
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    axes.set_xlabel("median latency (ms) — left is faster")
    axes.set_ylabel("test accuracy — up is better")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3, which="both")
    return save_chart(figure, path)


def loss_chart(stage: str, components: dict[str, list[tuple[int, float]]], path: Path) -> bool:
    """One line per loss component; returns whether the y axis is logarithmic."""
    figure = Figure(figsize=(5.0, 3.4))
    axes = figure.add_subplot()
    for name, points in components.items():
        steps, values = zip(*points, strict=True)
        axes.plot(steps, values, label=name.replace("_", " "), color=COMPONENT_COLOURS.get(name),
                  linewidth=2.2 if name == "total" else 1.4, marker="." if len(points) < 30 else None)
    values = [v for points in components.values() for _, v in points]
    # Components differ by orders of magnitude (attention MSE against embedding MSE), and a log axis keeps
    # the small ones from lying flat on zero; only when every value is positive.
    log = min(values) > 0 and max(values) > 20 * min(values)
    if log:
        axes.set_yscale("log")
    else:  # a flat curve would otherwise be labelled as offsets ("1e-5+1.0987"), unreadable to a stakeholder
        axes.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    axes.set_title(stage, fontsize=10)
    axes.set_xlabel("step")
    axes.set_ylabel("loss" + (" (log scale)" if log else ""))
    axes.grid(alpha=0.3, which="both")
    # Below the axes: inside, the legend hides the curves where they start, which is where they are highest.
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(components), frameon=False)
    save_chart(figure, path)
    return log


def accuracy_chart(stages: Sequence[StageCurve], path: Path) -> Path:
    """Dev accuracy at every evaluation, each stage in its own shaded stretch of one step axis."""
    figure = Figure(figsize=(8, 3.6))
    axes = figure.add_subplot()
    for index, stage in enumerate(stages):
        colour = TEACHER_GREY if stage.name.startswith("teacher") else PALETTE[index % len(PALETTE)]
        if index % 2:
            axes.axvspan(stage.offset, stage.offset + stage.length, color="#f2f2f2", zorder=0)
        axes.text(stage.offset + stage.length / 2, 1.02, stage.name.replace("_", " "), ha="center", va="bottom",
                  fontsize=8, transform=axes.get_xaxis_transform())
        xs = [stage.offset + step for step, _ in stage.points]
        ys = [value for _, value in stage.points]
        axes.plot(xs, ys, marker="o", color=colour, label=stage.name.replace("_", " "))
        axes.annotate(f"{ys[-1]:.1%}", (xs[-1], ys[-1]), xytext=(0, 6), textcoords="offset points", ha="center",
                      fontsize=8, color=colour)
    axes.set_xlim(0, (stages[-1].offset + stages[-1].length) * 1.04)  # room for the last value's label
    axes.set_ylim(0, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("step (stages one after another)")
    axes.set_ylabel("dev accuracy")
    axes.grid(alpha=0.3)
    return save_chart(figure, path)


def mapping_chart(teacher_layers: int, student_layers: int, links: Sequence[Link], path: Path) -> Path:
    """Teacher layers left, student layers right, embeddings at the bottom and the prediction layer on top
    (as the window's mapping panel draws them), a line from each teacher layer to the student layer it
    teaches."""
    rows = teacher_layers + 2
    figure = Figure(figsize=(6.4, 0.42 * rows + 1.2))
    axes = figure.add_subplot()
    box_w, box_h, student_x = 1.0, 0.7, 2.2
    student_step = rows / (student_layers + 2)  # the student is spread over the teacher's height

    def centre_y(index: int, step: float) -> float:
        return (index + 0.5) * step

    for x, count, step, title in ((0.0, teacher_layers, 1.0, f"Teacher · {teacher_layers} layers"),
                                  (student_x, student_layers, student_step, f"Student · {student_layers} layers")):
        axes.text(x + box_w / 2, rows + 0.2, title, ha="center", va="bottom", fontsize=10, fontweight="bold")
        for index in range(count + 2):
            name = "embeddings" if index == 0 else "prediction layer" if index == count + 1 else f"layer {index}"
            y = centre_y(index, step)
            axes.add_patch(Rectangle((x, y - box_h / 2), box_w, box_h, facecolor="#e3f2fd", edgecolor="#455a64"))
            axes.text(x + box_w / 2, y, name, ha="center", va="center", fontsize=9)
    for link in links:
        colour, style, _ = LINK_STYLES[link.kind]
        axes.plot([box_w, student_x], [centre_y(link.teacher, 1.0), centre_y(link.student, student_step)],
                  color=colour, linestyle=style, linewidth=2)
    kinds = dict.fromkeys(link.kind for link in links)
    axes.legend([Line2D([], [], color=LINK_STYLES[k][0], linestyle=LINK_STYLES[k][1], linewidth=2) for k in kinds],
                [LINK_STYLES[k][2] for k in kinds], loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8,
                ncol=2, frameon=False)
    axes.set_xlim(-0.1, student_x + box_w + 0.1)
    axes.set_ylim(-0.1, rows + 0.7)
    axes.axis("off")
    return save_chart(figure, path)


def confusion_chart(matrices: Sequence[tuple[str, list[list[int]]]], labels: Sequence[str], path: Path) -> Path:
    """Counts in each cell; the shade is the row's share, so that a small class reads as clearly as a large."""
    size = max(2.6, 0.9 * len(labels) + 1.2)
    figure = Figure(figsize=(size * len(matrices), size + 0.4))
    for index, (title, matrix) in enumerate(matrices, start=1):
        axes = figure.add_subplot(1, len(matrices), index)
        shares = [[count / max(sum(row), 1) for count in row] for row in matrix]
        axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                axes.text(j, i, f"{count}\n{shares[i][j]:.0%}", ha="center", va="center", fontsize=9,
                          color="white" if shares[i][j] > 0.55 else "#212121")
        ticks = range(len(labels))
        crowded = sum(map(len, labels)) > 8 * len(labels)  # long names overlap unless slanted
        axes.set_xticks(ticks, labels, **({"rotation": 30, "ha": "right"} if crowded else {}))
        axes.set_yticks(ticks, labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return save_chart(figure, path)
