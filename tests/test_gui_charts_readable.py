"""Charts that stay readable at 1280×800: log-axis ticks within one decade, accuracy axes of a sensible span,
stage labels that do not collide, fresh axes for a new job, and a trade-off chart that names only what fits."""

from __future__ import annotations

import math

import pytest

from workbench.gui.curves import Series


def shown_card(qtbot, card):
    qtbot.addWidget(card)
    card.resize(600, 360)
    card.show()
    qtbot.waitUntil(lambda: card.built, timeout=10_000)
    return card


def test_a_log_axis_within_one_decade_labels_round_values(qtbot):
    from workbench.gui.charts import ChartCard
    from workbench.gui.log_axis import within_decade_ticks

    assert within_decade_ticks(0.05, 0.09) == [0.05, 0.06, 0.07, 0.08, 0.09]
    card = shown_card(qtbot, ChartCard("Loss", "loss (log scale)", log_y=True))
    card.set_curves({"total": Series([1, 2, 3], [0.061, 0.072, 0.084])})
    card.plot_item.setYRange(math.log10(0.06), math.log10(0.085), padding=0)
    axis = card.plot_item.getAxis("left")
    labels = [text for spacing, values in axis.tickValues(*axis.range, 300)
              for text in axis.tickStrings(values, 1, spacing) if text]
    assert labels[:2] == ["0.06", "0.065"] and len(labels) >= 3  # pyqtgraph labelled none of them


def test_accuracy_axes_span_at_least_a_tenth_and_a_new_job_starts_on_fresh_axes(qtbot):
    from workbench.gui.charts import ChartCard, fraction_range

    assert fraction_range([0.575]) == pytest.approx((0.525, 0.625))
    assert fraction_range([0.97, 0.99]) == pytest.approx((0.9, 1.0))  # inside [0, 1]
    card = shown_card(qtbot, ChartCard("Dev accuracy", "accuracy", fraction_y=True))
    card.set_curves({"student (dev)": Series([10], [0.575])})
    low, high = card.plot_item.viewRange()[1]
    assert high - low >= 0.1
    card.set_x_extent(500)
    card.clear()
    assert card.plot_item.viewRange()[0][1] < 100  # not the last job's 500 steps


def test_stage_labels_step_down_so_close_stages_do_not_collide(qtbot):
    from workbench.gui.charts import ChartCard

    card = shown_card(qtbot, ChartCard("Loss", "loss"))
    card.set_curves({"total": Series([0, 40], [1.0, 0.5])})
    card.set_markers([(0, "teacher_finetune"), (2, "intermediate"), (30, "prediction")])
    positions = [line.label.orthoPos for line in card.markers]
    assert len(set(positions)) == 3


def test_the_trade_off_chart_names_the_frontier_and_the_teacher_only(qtbot):
    from workbench.gui.pareto import LABEL_CHARS, ParetoCard, Point

    card = shown_card(qtbot, ParetoCard())
    assert "int8" in card.title
    students = [Point(f"quick-demo-20261206-01020{i}", 2.0 + i * 0.01, 0.70 + (i % 2) * 0.01) for i in range(6)]
    teacher = Point("int8 teacher (quick-demo-20261206-010200)", 6.0, 0.78)
    card.set_points(students, [teacher])
    named = [label.toPlainText() for label in card.labels]
    assert len(named) == len(card.front) + 1 < len(students) + 1  # the beaten runs only in tooltips
    assert all(len(name) <= LABEL_CHARS for name in named) and "int8 teacher" in named
    assert [item[1].text for item in card.legend.items] == ["Pareto frontier", "int8 teacher"]
