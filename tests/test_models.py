import pytest

from workbench.core.errors import ModelSourceError
from workbench.core.sources.models import resolve_model_source, summarize_model


def test_local_folder_summary(tiny_classifier_dir):
    summary = summarize_model(str(tiny_classifier_dir))
    assert (summary.layers, summary.hidden_size, summary.heads, summary.ffn_size) == (2, 32, 4, 64)
    assert summary.labels == ["negative", "neutral", "positive"]
    assert summary.size_bytes > 0
    assert summary.parameters > 10_000


def test_base_encoder_has_no_head(tiny_base_dir):
    summary = summarize_model(str(tiny_base_dir))
    assert summary.labels == []
    assert "no (fine-tuned first)" in "\n".join(summary.lines())


def test_bundled_teacher_is_minilm():
    summary = summarize_model("bundled:all-MiniLM-L6-v2")
    assert (summary.layers, summary.hidden_size, summary.heads) == (6, 384, 12)
    assert 22.5e6 < summary.parameters < 22.9e6


def test_folder_without_a_model_names_the_folder(tmp_path):
    with pytest.raises(ModelSourceError, match=rf"{tmp_path}: holds no model \(no config.json\)"):
        resolve_model_source(str(tmp_path))


def test_folder_with_config_but_no_weights(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ModelSourceError, match="no weights"):
        resolve_model_source(str(tmp_path))


def test_missing_path_and_unknown_bundled_name(tmp_path):
    with pytest.raises(ModelSourceError, match="no such model folder"):
        resolve_model_source(str(tmp_path / "absent"))
    with pytest.raises(ModelSourceError, match="unknown bundled model"):
        resolve_model_source("bundled:gpt-9")


def test_hub_id_offline_says_so(monkeypatch, tmp_path):
    # The hub code path is real; offline with an empty cache it must explain itself, not hang.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(ModelSourceError, match=r"someone/some-model: cannot fetch it .*offline"):
        resolve_model_source("someone/some-model")
