import pytest

from workbench.core.distill.mapping import LayerMapping, MappingError, layer_mapping
from workbench.core.errors import WorkbenchError


def teacher_side(mapping: LayerMapping) -> list[int]:
    assert [m for m, _ in mapping.pairs] == list(range(1, len(mapping.pairs) + 1))
    return [n for _, n in mapping.pairs]


def test_uniform_whole_multiple_has_no_note():
    mapping = layer_mapping("uniform", 4, 12)
    assert teacher_side(mapping) == [3, 6, 9, 12]
    assert mapping.note is None


def test_uniform_rounds_halves_up_and_says_so():
    mapping = layer_mapping("uniform", 4, 6)
    assert teacher_side(mapping) == [2, 3, 5, 6]
    assert mapping.note == (
        "6 teacher layers onto 4 student layers is not a whole multiple: uniform mapping rounds to 2, 3, 5, 6"
    )


@pytest.mark.parametrize("teacher", range(1, 25))
def test_uniform_is_strictly_increasing_and_ends_on_the_last_teacher_layer(teacher):
    for student in range(1, teacher + 1):
        layers = teacher_side(layer_mapping("uniform", student, teacher))
        assert len(layers) == student
        assert all(a < b for a, b in zip(layers, layers[1:], strict=False))
        assert 1 <= layers[0] and layers[-1] == teacher


def test_last_maps_onto_the_top_layers():
    assert teacher_side(layer_mapping("last", 4, 12)) == [9, 10, 11, 12]
    assert teacher_side(layer_mapping("last", 2, 2)) == [1, 2]


@pytest.mark.parametrize("mode", ["uniform", "last"])
def test_more_student_than_teacher_layers_is_refused(mode):
    with pytest.raises(MappingError, match="student has 6 layers but the teacher only 4"):
        layer_mapping(mode, 6, 4)


def test_custom_accepts_any_valid_list_including_embeddings():
    assert layer_mapping("custom", 3, 4, [0, 4, 2]).pairs == [(1, 0), (2, 4), (3, 2)]
    assert teacher_side(layer_mapping("custom", 6, 4, [1, 1, 2, 2, 3, 4])) == [1, 1, 2, 2, 3, 4]


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ([1, 9, 2], r"entry 2 \(student layer 2\) is 9; teacher layers run 0\.\.4"),
        ([1, 2, -1], r"entry 3 \(student layer 3\) is -1; teacher layers run 0\.\.4"),
        ([1, 2], r"lists 2 teacher layers for a student with 3 layers.*0\.\.4"),
        (None, r"lists 0 teacher layers for a student with 3 layers"),
    ],
)
def test_custom_errors_name_the_bad_entry_and_the_range(custom, message):
    with pytest.raises(MappingError, match=message) as info:
        layer_mapping("custom", 3, 4, custom)
    assert isinstance(info.value, WorkbenchError)


def test_unknown_mode_lists_the_modes():
    with pytest.raises(MappingError, match="'every-other'.*uniform, last, custom"):
        layer_mapping("every-other", 2, 4)
