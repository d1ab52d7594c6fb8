"""Event lines: one wording for the window's log and the command line's progress output."""

import io

from workbench.core.events import (
    ArtifactWritten,
    Evaluation,
    Finished,
    Notice,
    StageFinished,
    StageStarted,
    Step,
    describe,
)
from workbench.core.progress import follow

STAGE = StageStarted("intermediate", total_steps=10, epochs=2.0, resumed_at_step=4)
STEP = Step("intermediate", 5, 10, 1.0, {"hidden": 0.5, "total": 0.75}, 1e-4, 30.0)
EVALUATION = Evaluation("prediction", 10, 1.0, "dev", {"accuracy": 0.8125, "macro_f1": 0.75})
FINISHED = Finished("runs/x", "finished")


def test_describe_words_each_event_worth_a_line():
    assert describe(STAGE) == "▶ intermediate: 10 steps (2 epochs, resumed at step 4)"
    assert describe(STEP) == "  intermediate step 5/10  hidden 0.5000  total 0.7500  lr 1.00e-04"
    assert describe(EVALUATION) == "✓ prediction epoch 1.00: dev accuracy 0.8125, macro-F1 0.7500"
    assert describe(FINISHED) == "● finished: runs/x"
    assert describe(Notice("int8 failed parity")) == "⚠ int8 failed parity"


def test_command_line_prints_the_same_lines_as_the_window():
    stream = io.StringIO()
    lines = [EVALUATION, ArtifactWritten("student", "runs/x/student"), Notice("int8 failed parity"),
             StageFinished("intermediate", 12.0, 40.0)]
    assert follow([STAGE, STEP, *lines, FINISHED], stream) is FINISHED
    printed = stream.getvalue()
    for event in lines:
        assert describe(event) in printed


def test_command_line_names_export_and_benchmark_while_they_run():
    from workbench.core.events import PhaseStarted

    stream = io.StringIO()
    follow([PhaseStarted("intermediate"), STAGE, STEP, PhaseStarted("export"), PhaseStarted("benchmark"), FINISHED],
           stream)
    printed = stream.getvalue()
    assert "▶ export" in printed and "▶ benchmark" in printed and "None" not in printed


def test_job_progress_covers_export_and_benchmark_and_leaves_pauses_out():
    from workbench.core.events import JobPlanned, PhaseStarted, StageStarted, Step
    from workbench.core.progress import JobProgress

    now = [0.0]
    progress = JobProgress(lambda: now[0])
    progress.add(JobPlanned({"intermediate": 10, "prediction": 10, "export": 20}))
    progress.add(PhaseStarted("intermediate"))
    progress.add(StageStarted("intermediate", 10, 1.0))
    assert progress.eta_seconds() is None  # no step timed yet
    now[0] = 5.0
    progress.add(Step("intermediate", 5, 10, 0.5, {"total": 1.0}, 1e-4, 10.0))
    assert progress.fraction() == 5 / 40
    assert progress.eta_seconds() == 35.0  # 1 s a step, export's 20 steps included
    progress.clock.set_paused(True)
    now[0] = 100.0  # a pause: neither the pace nor the ETA changes
    progress.clock.set_paused(False)
    assert progress.eta_seconds() == 35.0
    now[0] = 105.0
    progress.add(Step("intermediate", 10, 10, 1.0, {"total": 1.0}, 1e-4, 10.0))
    progress.add(PhaseStarted("prediction"))
    progress.add(StageStarted("prediction", 10, 1.0))
    now[0] = 115.0
    progress.add(Step("prediction", 10, 10, 1.0, {"total": 1.0}, 1e-4, 10.0))
    progress.add(PhaseStarted("export"))
    assert progress.phase == "export" and progress.fraction() == 0.5 and progress.eta_seconds() == 20.0
    now[0] = 120.0
    assert progress.eta_seconds() == 15.0  # export's time so far comes off its estimate
