"""What every stage shares: the inputs read at the job's start are one frozen value with typed loaders, the
student comes with its layer mapping, and the rank that writes the run folder is a named flag."""

import dataclasses

import pytest

from workbench.core.events import JobControl
from workbench.core.stages.context import JobContext, JobInputs, Loaders, build_job_student
from workbench.core.stages.inputs import read_inputs


@pytest.fixture
def context(recipe):
    opened = JobContext.open(recipe, JobControl(), None)
    yield opened
    opened.run.close()


def test_reading_the_inputs_returns_one_frozen_value_with_typed_loaders(context):
    inputs = read_inputs(context)
    assert isinstance(inputs, JobInputs) and isinstance(inputs.loaders, Loaders)
    assert [len(loader.dataset) for loader in (inputs.loaders.train, inputs.loaders.dev, inputs.loaders.test)] == [
        60, 24, 24]
    assert inputs.loaders.distill is inputs.loaders.train  # no augmentation asked
    assert inputs.data.label_names == ["negative", "neutral", "positive"] and inputs.teacher_key is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.teacher = None
    assert context.writes_files and context.run.recipe_path.is_file()  # one process: it is the main one


def test_the_student_is_built_with_its_mapping_whichever_a_stage_reads_first(context):
    context.inputs = read_inputs(context)
    mapping = context.mapping  # before any stage asked for the student
    assert [student for student, _ in mapping.pairs] == [1]  # the tiny student has one layer
    assert context.student is context.student
    built = build_job_student(context.recipe, context.teacher, context.data.label_names, context.resume,
                              context.run)
    assert built.mapping == mapping and type(built.model) is type(context.student)
