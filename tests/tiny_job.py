"""A tiny job run to its last event (its recipe is the `recipe` fixture in conftest.py)."""

from workbench.core.events import Failed, Finished
from workbench.core.job import run_job


def run_to_end(recipe, control=None, resume_dir=None):
    events = list(run_job(recipe, control, resume_dir))
    assert isinstance(events[-1], Finished | Failed), events[-1]
    return events
