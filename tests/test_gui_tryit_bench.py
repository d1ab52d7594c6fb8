"""Try-it panel: its summary charts are the run's own benchmark (bench.json), with the students' ratios
against the PyTorch teacher and the fused int8 teacher."""


from tests.tiny_run import four_model_bench, make_tiny_run
from workbench.gui.panels.tryit import TryItPanel


def test_charts_show_the_runs_benchmark_with_both_teacher_ratios(qtbot, tmp_path, tiny_csv):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    four_model_bench(run)
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.set_runs([str(run)])  # choosing the run is enough: no model runs for these figures

    assert panel.charts["latency_ms"].values == {"teacher": 20.0, "teacher int8": 10.0, "student fp32": 8.0,
                                                 "student int8": 2.0}
    assert panel.charts["size_mib"].values["student int8"] == 2.5
    assert panel.charts["accuracy"].values["teacher int8"] == 0.79
    latency = panel.ratios["latency_ms"].text()
    assert "10.0× faster than the teacher" in latency and "5.0× faster than the int8 teacher" in latency
    assert "2.5× faster than the teacher" in latency  # the fp32 student: 20 / 8
    assert "16.0× smaller than the teacher" in panel.ratios["size_mib"].text()


def test_a_run_without_a_benchmark_shows_no_figures(qtbot, tmp_path, tiny_csv):
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.set_runs([str(run)])
    assert set(panel.charts["latency_ms"].values.values()) == {None}
    assert panel.ratios["latency_ms"].text() == ""


def test_live_and_benchmark_latencies_each_name_their_source(qtbot):
    """Timed now on the typed texts, or by the run's benchmark: two figures that differ must never read as one."""
    panel = TryItPanel()
    qtbot.addWidget(panel)
    live = panel.table.horizontalHeaderItem(TryItPanel.COLUMNS.index(next(c for c in TryItPanel.COLUMNS
                                                                          if c.startswith("latency")))).text()
    assert "now" in live and "these texts" in live
    assert "the run's benchmark" in panel.charts["latency_ms"].title
