"""The search draws precision per layer: the int8 guard's tolerance, which keeps the layers int8 hurts most in fp32
(methods/int8_guard.py); the trial's latency is measured with them."""

from optuna.trial import FixedTrial

from workbench.core.methods.registry import search_knobs
from workbench.core.recipe import Recipe
from workbench.core.search.space import TeacherShape, candidate_recipe, space_size, suggest

TEACHER = TeacherShape(4, 32, 4, 64)


def _space(drops):
    return Recipe().search.space.model_copy(update={
        "layer_counts": [2], "ffn_ratios": [0.0], "heads_ratios": [0.0], "vocabulary": [False],
        "int8_accuracy_drops": drops})


def _params(drop) -> dict:
    """Every knob at its space's first option (other methods' knobs too), the guard's tolerance at `drop`."""
    space = _space([drop])
    knobs = {knob.name: getattr(space, knob.space)[0] for _, knob in search_knobs()}
    return {"shape": "keep:2,4", **knobs, "max_accuracy_drop": drop, "int8": "dynamic"}


def test_a_drawn_tolerance_turns_the_guard_on_in_the_candidates_recipe():
    space = _space([None, 0.01])
    assert space_size(space, TEACHER) == 2
    candidate = suggest(FixedTrial(_params(0.01)), space, TEACHER)
    assert "int8 guard 1.0%" in candidate.describe()
    assert candidate_recipe(Recipe(), candidate, TEACHER, "c", "runs").quantization.max_accuracy_drop == 0.01


def test_by_default_a_search_quantizes_every_layer_as_before():
    candidate = suggest(FixedTrial(_params(None)), Recipe().search.space.model_copy(update={"layer_counts": [2]}),
                        TEACHER)
    assert candidate_recipe(Recipe(), candidate, TEACHER, "c", "runs").quantization.max_accuracy_drop is None
    assert "guard" not in candidate.describe()
