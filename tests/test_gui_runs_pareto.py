"""Runs panel: int8 size and accuracy columns, and the Pareto chart of the listed runs."""

import json

from tests.tiny_run import bench_entry, make_tiny_run
from workbench.gui.panels.runs import COLUMNS, RunsPanel
from workbench.gui.pareto import Point, frontier


def benchmarked_run(folder, csv, int8_latency, int8_accuracy):
    """A tiny run as a finished job leaves it: an int8 student of 3 MiB, its score, the benchmark."""
    run = make_tiny_run(folder, csv)
    models = {"teacher-torch-fp32": bench_entry(20.0, 0.8, 40 * 2**20),
              "student-torch-fp32": bench_entry(8.0, 0.7, 10 * 2**20),
              "student-onnx-int8": bench_entry(int8_latency, int8_accuracy, 3 * 2**20)}
    (run / "bench.json").write_text(json.dumps({"models": models}))
    (run / "evaluation.json").write_text(json.dumps({"student_int8": {"accuracy": int8_accuracy}}))
    (run / "onnx").mkdir()
    with open(run / "onnx" / "student-int8.onnx", "wb") as file:
        file.truncate(3 * 2**20)
    return run


def test_runs_table_has_int8_columns_and_the_pareto_chart_draws_the_frontier(qtbot, tmp_path, tiny_csv):
    runs_dir = tmp_path / "runs"
    benchmarked_run(runs_dir / "fast", tiny_csv, 2.0, 0.70)
    benchmarked_run(runs_dir / "accurate", tiny_csv, 4.0, 0.76)
    benchmarked_run(runs_dir / "beaten", tiny_csv, 5.0, 0.72)  # slower and less accurate than "accurate"
    make_tiny_run(runs_dir / "unmeasured", tiny_csv)
    panel = RunsPanel(str(runs_dir))
    qtbot.addWidget(panel)
    panel.refresh()

    rows = {panel.table.item(r, 0).text(): r for r in range(panel.table.rowCount())}
    size_column, accuracy_column = COLUMNS.index("int8 size"), COLUMNS.index("int8 acc.")
    assert panel.table.item(rows["fast"], size_column).text() == "3.0 MiB"
    assert panel.table.item(rows["accurate"], accuracy_column).text() == "76.0%"
    assert panel.table.item(rows["unmeasured"], accuracy_column).text() == "–"

    chart = panel.pareto_chart
    assert {p.name for p in chart.points} == {"fast", "accurate", "beaten"}
    assert [p.name for p in chart.front] == ["fast", "accurate"]
    assert chart.legend.items and chart.legend.items[0][1].text == "Pareto frontier"


def test_frontier_keeps_runs_no_other_run_beats_on_both():
    points = [Point("a", 1, 0.5), Point("b", 2, 0.5), Point("c", 2, 0.9), Point("d", 3, 0.8), Point("e", 4, 0.95)]
    assert [p.name for p in frontier(points)] == ["a", "c", "e"]


def test_the_runs_frontier_is_the_studys_with_its_tie_rule():
    """One frontier in the workbench (workbench.core.search.frontier): two runs measured alike both stay on it."""
    from workbench.core.search.frontier import COMPLETE, TrialRow, pareto_front

    figures = [(1, 0.5), (2, 0.9), (2, 0.9), (3, 0.8), (4, 0.95)]
    points = [Point(str(number), latency, accuracy) for number, (latency, accuracy) in enumerate(figures)]
    rows = [TrialRow(number, COMPLETE, latency_ms=latency, dev_accuracy=accuracy)
            for number, (latency, accuracy) in enumerate(figures)]
    assert [p.name for p in frontier(points)] == [str(row.number) for row in pareto_front(rows)] == ["0", "1", "2", "4"]
