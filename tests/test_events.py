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
