import pytest
import torch
from transformers import BertModel, BertTokenizerFast

from tests.tiny import LABELS, tiny_bert_config, tiny_tokenizer, write_vocab
from workbench.core.errors import ModelSourceError, RecipeError
from workbench.core.recipe import StudentConfig
from workbench.core.sources.models import load_config, resolve_model_source
from workbench.core.sources.student import (
    build_student,
    check_same_vocabulary,
    default_teacher_layers,
    describe_student,
    student_config,
)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return tiny_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def teacher(tokenizer):
    """A 4-layer tiny encoder whose layers all hold different random weights."""
    torch.manual_seed(0)
    return BertModel(tiny_bert_config(tokenizer.vocab_size, layers=4)).eval()


def _sizes(config):
    return (
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        config.intermediate_size,
    )


@pytest.mark.parametrize(
    ("student", "sizes"),
    [
        (StudentConfig(preset="tinybert-4l-312d", init="random"), (4, 312, 12, 1200)),
        (StudentConfig(preset="tinybert-6l-768d", init="random"), (6, 768, 12, 3072)),
        (StudentConfig(preset="drop-layers"), (2, 32, 4, 64)),  # half the teacher's layers
        (StudentConfig(preset="drop-layers", teacher_layers=[1, 2, 4]), (3, 32, 4, 64)),
        (StudentConfig(preset="custom", layers=1, hidden_size=16, heads=2, ffn_size=24), (1, 16, 2, 24)),
    ],
)
def test_preset_shapes_keep_the_teachers_vocabulary(teacher, student, sizes):
    config = student_config(student, teacher.config, LABELS)
    assert _sizes(config) == sizes
    assert config.model_type == "bert"
    assert config.vocab_size == teacher.config.vocab_size
    assert config.max_position_embeddings == teacher.config.max_position_embeddings
    assert config.id2label == dict(enumerate(LABELS)) and config.label2id["positive"] == 2
    assert config.architectures == ["BertForSequenceClassification"]
    assert _sizes(teacher.config) == (4, 32, 4, 64)  # the teacher's configuration is left alone


def test_default_teacher_layers_spread_evenly_up_to_the_top():
    assert default_teacher_layers(3, 6) == [2, 4, 6]
    assert default_teacher_layers(1, 6) == [6]
    assert default_teacher_layers(4, 6) == [2, 3, 5, 6]
    assert default_teacher_layers(6, 6) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(("student", "teacher"), [(m, n) for n in range(1, 13) for m in range(1, n + 1)])
def test_student_initialisation_and_uniform_mapping_pick_the_same_teacher_layers(student, teacher):
    from workbench.core.distill.mapping import layer_mapping

    mapped = [n for _, n in layer_mapping("uniform", student, teacher).pairs]
    assert default_teacher_layers(student, teacher) == mapped


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(
    ("student", "chosen"),
    [
        (StudentConfig(preset="drop-layers", teacher_layers=[3, 1]), [3, 1]),
        (StudentConfig(preset="drop-layers"), [2, 4]),
    ],
)
def test_teacher_init_copies_exactly_the_chosen_layers(teacher, student, chosen):
    model = build_student(student, teacher, LABELS)
    assert model.config._attn_implementation == "sdpa"
    assert _same(model.bert.embeddings, teacher.embeddings)
    for layer, index in zip(model.bert.encoder.layer, chosen, strict=True):
        for other in range(1, 5):
            assert _same(layer, teacher.encoder.layer[other - 1]) == (other == index)


def test_random_init_copies_nothing(teacher):
    model = build_student(StudentConfig(preset="drop-layers", init="random"), teacher, LABELS)
    assert not _same(model.bert.embeddings, teacher.embeddings)


def test_teacher_init_with_another_width_names_the_dimension(teacher):
    with pytest.raises(RecipeError, match=r"hidden size differs \(student 312, teacher 32\).*'random'"):
        build_student(StudentConfig(preset="tinybert-4l-312d"), teacher, LABELS)
    with pytest.raises(RecipeError, match=r"FFN size differs \(student 48, teacher 64\)"):
        build_student(StudentConfig(preset="drop-layers", ffn_size=48), teacher, LABELS)
    with pytest.raises(RecipeError, match="names layer 5 but the teacher has 4"):
        build_student(StudentConfig(preset="drop-layers", teacher_layers=[1, 5]), teacher, LABELS)


def test_pretrained_student_is_loaded_and_its_labels_checked(teacher, tmp_path):
    saved = build_student(StudentConfig(preset="drop-layers", init="random"), teacher, LABELS)
    saved.save_pretrained(tmp_path)
    loaded = build_student(StudentConfig(init="pretrained", pretrained=str(tmp_path)), teacher, LABELS)
    assert _same(loaded, saved)
    with pytest.raises(ModelSourceError, match="its head predicts"):
        build_student(StudentConfig(init="pretrained", pretrained=str(tmp_path)), teacher, LABELS[::-1])


def test_vocabulary_mismatch_names_sizes_or_the_first_differing_token(tokenizer, tmp_path):
    check_same_vocabulary(tokenizer, tokenizer)
    vocab = write_vocab(tmp_path / "bigger").read_text().splitlines()
    (tmp_path / "bigger" / "vocab.txt").write_text("\n".join(vocab + ["extra"]) + "\n")
    with pytest.raises(ModelSourceError, match=f"has {len(vocab) + 1} tokens and the teacher's {len(vocab)}"):
        check_same_vocabulary(tokenizer, BertTokenizerFast.from_pretrained(tmp_path / "bigger"))
    swapped = vocab[:10] + [vocab[11], vocab[10]] + vocab[12:]
    (tmp_path / "swapped").mkdir()
    (tmp_path / "swapped" / "vocab.txt").write_text("\n".join(swapped) + "\n")
    with pytest.raises(ModelSourceError, match=f"at token '{vocab[10]}'.*teacher's tokenizer"):
        check_same_vocabulary(tokenizer, BertTokenizerFast.from_pretrained(tmp_path / "swapped"))


def test_describe_student_counts_the_real_models_parameters(teacher):
    cfg = StudentConfig(preset="drop-layers", init="random")
    info = describe_student(student_config(cfg, teacher.config, LABELS), teacher.config)
    real = sum(p.numel() for p in build_student(cfg, teacher, LABELS).parameters())
    assert info["parameters"] == real
    assert info["fp32_mib"] == pytest.approx(real * 4 / 2**20)
    assert info["speedup"] == pytest.approx(2.0)  # half the layers of the same width
    wider = student_config(
        StudentConfig(preset="custom", layers=2, hidden_size=64, heads=4, ffn_size=128),
        teacher.config,
        LABELS,
    )
    assert describe_student(wider, teacher.config)["speedup"] < 1


def test_bundled_teacher_default_student_config():
    teacher_config = load_config(resolve_model_source("bundled:all-MiniLM-L6-v2"))
    config = student_config(StudentConfig(), teacher_config, LABELS)
    assert _sizes(config) == (3, 384, 12, 1536)
    assert (config.vocab_size, config.type_vocab_size) == (30522, 2)
    assert config.architectures == ["BertForSequenceClassification"]
    small = student_config(StudentConfig(preset="tinybert-4l-312d", init="random"), teacher_config, LABELS)
    assert 2 < describe_student(small, teacher_config)["speedup"] < 3
