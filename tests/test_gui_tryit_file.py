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


def test_a_files_results_export_as_csv_with_agreement_and_a_disagreement_filter(qtbot, tmp_path, tiny_csv):
    import csv

    run_dir = make_tiny_run(tmp_path / "run", tiny_csv)
    panel = panel_on(qtbot, run_dir)
    panel.load_file(str(write_lines(tmp_path / "lines.txt", 300)))
    run = panel.file_run
    qtbot.waitUntil(lambda: not run.busy, timeout=120_000)
    disagreeing = sum(run.results.disagrees(row) for row in range(run.results.rowCount()))
    agreeing = run.results.rowCount() - disagreeing
    assert f"Agreement with the {TEACHER}: {STUDENT} {agreeing / 300:.1%}" in run.status.text()
    run.only_disagreements.setChecked(True)
    assert run.filtered.rowCount() == disagreeing
    run.only_disagreements.setChecked(False)
    assert run.filtered.rowCount() == 300
    written = list(csv.reader(open(run.results.write_csv(tmp_path / "out.csv"), encoding="utf-8")))
    assert written[0] == ["text", TEACHER, STUDENT] and len(written) == 301
    assert written[1][0] == "what a great day number 0" and written[1][1] in ("negative", "neutral", "positive")


def test_try_it_offers_examples_from_the_runs_test_split_and_room_for_many_texts(qtbot, tmp_path, tiny_csv):
    from workbench.core.run_folder import RunFolder
    from workbench.core.sources.data import load_task_data
    from workbench.gui.panels.tryit import SAMPLE_TEXTS

    run_dir = make_tiny_run(tmp_path / "run", tiny_csv)
    panel = panel_on(qtbot, run_dir)
    panel.resize(1100, 780)  # the Try it page of a 1280×800 window
    qtbot.waitUntil(lambda: panel.text.toPlainText() != SAMPLE_TEXTS, timeout=60_000)
    test = set(load_task_data(RunFolder(run_dir).recipe().data).splits["test"]["text"])
    examples = panel.texts()
    assert len(examples) == 3 and set(examples) <= test
    panel.text.setPlainText("\n".join(f"text number {i}" for i in range(20)))
    panel.classify()
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)
    qtbot.wait(50)
    rows_seen = panel.texts_table.viewport().height() // panel.texts_table.rowHeight(0)
    assert rows_seen >= 8, (rows_seen, panel.splitter.sizes(), panel.texts_table.rowHeight(0), panel.height())
