"""Try-it on a file of thousands of lines: batches in the background with progress and Cancel, results as
they come, a bounded number of rows kept."""

from tests.tiny_run import make_tiny_run
from workbench.core.measure.inference import STUDENT, TEACHER, predict_batches, run_predictors
from workbench.gui.panels import tryit_file
from workbench.gui.panels.tryit import TryItPanel

LINES = 2_500


def write_lines(path, count):
    moods = ("what a great day", "this is awful and slow", "the meeting is at noon")
    path.write_text("".join(f"{moods[i % 3]} number {i}\n" for i in range(count)), encoding="utf-8")
    return path


def panel_on(qtbot, run_dir):
    panel = TryItPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_runs([str(run_dir)])
    return panel


def test_thousands_of_lines_finish_in_batches_with_rows_as_they_come(qtbot, tmp_path, tiny_csv, monkeypatch):
    monkeypatch.setattr(tryit_file, "MAX_ROWS", 1_000)  # the cap on rows kept, reached well before the end
    run_dir = make_tiny_run(tmp_path / "run", tiny_csv)
    panel = panel_on(qtbot, run_dir)
    seen = []
    panel.file_run.results.rowsInserted.connect(lambda *_: seen.append(panel.file_run.done))

    panel.load_file(str(write_lines(tmp_path / "lines.txt", LINES)))
    assert panel.file_run.busy and panel.file_run.isVisible()
    qtbot.waitUntil(lambda: not panel.file_run.busy, timeout=120_000)

    run = panel.file_run
    assert run.done == run.total == LINES and run.progress.value() == LINES
    assert run.status.text().startswith(f"Done: {LINES:,} of {LINES:,} lines")
    assert len(seen) >= 1_000 // tryit_file.BATCH - 1  # one insertion per batch, while the rest ran
    assert run.results.rowCount() == 1_000 < LINES
    assert run.results.models == [TEACHER, STUDENT]
    assert all(isinstance(i, int) for _, predicted in run.results.rows[:50] for i in predicted)
    assert run.results.label(0, TEACHER) in ("negative", "neutral", "positive")


def test_cancel_stops_a_file_mid_way(qtbot, tmp_path, tiny_csv):
    run_dir = make_tiny_run(tmp_path / "run", tiny_csv)
    panel = panel_on(qtbot, run_dir)
    run = panel.file_run
    run.results.rowsInserted.connect(lambda *_: run.done >= 3 * tryit_file.BATCH and run.cancel())

    panel.load_file(str(write_lines(tmp_path / "lines.txt", 20_000)))
    qtbot.waitUntil(lambda: not run.busy, timeout=120_000)
    assert 3 * tryit_file.BATCH <= run.done < 20_000
    assert run.status.text().startswith("Cancelled after") and not run.cancel_button.isEnabled()


def test_the_core_predicts_an_iterable_in_batches(tmp_path, tiny_csv):
    predictors = run_predictors(make_tiny_run(tmp_path / "run", tiny_csv))
    consumed = []

    def texts():
        for i in range(10):
            consumed.append(i)
            yield f"text {i}"

    batches = predict_batches(predictors, texts(), batch_size=4)
    first, probabilities = next(batches)
    assert first == ["text 0", "text 1", "text 2", "text 3"] and len(consumed) == 4  # read lazily
    assert set(probabilities) == {TEACHER, STUDENT} and probabilities[TEACHER].shape == (4, 3)
    assert [len(b) for b, _ in batches] == [4, 2]
