"""One progress bar for the whole job, export and benchmark included, with the phase the job is in; and a
Resume that clears "— paused" at once."""

from __future__ import annotations

from tests.gui_support import open_tiny_window, settings  # noqa: F401 (fixtures)
from workbench.core.events import Finished, PhaseStarted, Step


def test_the_header_follows_the_whole_job_through_export_and_benchmark(qtbot, recipe_path, settings, request):  # noqa: F811
    from workbench.core.recipe import Recipe

    recipe = Recipe.load(recipe_path)
    recipe.quantization.enabled = True  # export and the benchmark run, as in a real job
    recipe.save(recipe_path)
    window = open_tiny_window(qtbot, recipe_path, settings, request)
    training = window.training
    seen: list[tuple[str, str, str]] = []

    def on_event(event) -> None:  # connected after the panel's slot: sees what the panel shows
        if isinstance(event, PhaseStarted):
            seen.append((event.phase, training.stage_label.text(), training.job_bar.format()))
        if isinstance(event, Finished):  # the redraw timer ticking between the job's last event and the worker's end
            training.redraw()

    training.start()
    training.worker.event.connect(on_event)
    worker, paused_once = training.worker, []

    def pause_once(event) -> None:  # from the job's own thread, so the job is reliably mid-stage
        if isinstance(event, Step) and event.stage == "intermediate" and not paused_once:
            paused_once.append(event)
            worker.control.pause()

    worker.add_probe(pause_once)
    qtbot.waitUntil(lambda: training.resume_button.isEnabled(), timeout=60_000)
    training.pause()
    assert training.stage_label.text().endswith("— paused")
    assert "job" in training.job_bar.format() and 0 < training.job_bar.value() < training.job_bar.maximum()
    with qtbot.waitSignal(training.job_finished, timeout=120_000) as finished:
        training.resume()
        assert "paused" not in training.stage_label.text()  # at once, not at the job's next step
    assert isinstance(finished.args[0], Finished) and finished.args[0].status == "finished"
    phases = {phase: (label, bar) for phase, label, bar in seen}
    assert {"export", "benchmark"} <= set(phases)
    assert phases["export"][0].startswith("export:") and phases["export"][1].startswith("export · job ")
    assert "ETA" in phases["benchmark"][1]  # the job's ETA still counts during the benchmark
    assert training.job_bar.value() == training.job_bar.maximum() and training.job_bar.format() == "job finished"
