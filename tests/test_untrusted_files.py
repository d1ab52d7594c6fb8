"""A pickle payload that would write a marker file, planted in every kind of file the workbench loads from
models, recipes and data: no marker may appear, and each ends in one clean line (or is safely ignored)."""

from __future__ import annotations

import json

import pytest

from tests.hostile import copy_model, payload_bytes, pickle_only_model
from workbench.cli import main
from workbench.core.errors import ModelSourceError, WorkbenchError
from workbench.core.sources.models import load_tokenizer, pretrained_options, resolve_model_source


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "a loaded file ran code"


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_the_payload_really_runs_when_unpickled(tmp_path):
    """The fixture is live: plain pickle.loads executes it (so its absence below means something)."""
    import pickle

    pickle.loads(payload_bytes(tmp_path / "ran"))
    assert (tmp_path / "ran").exists()


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "model.pth", "weights.ckpt"])
def test_pickle_only_model_folder_is_refused_with_how_to_convert(tiny_classifier_dir, tmp_path, marker, capsys,
                                                                 name):
    folder = pickle_only_model(tiny_classifier_dir, tmp_path / "model", marker, name)
    err = one_line_error(capsys, ["info", str(folder)])
    assert "only weights are pickle files" in err and name in err and "safetensors" in err
    assert "weights_only" not in err  # never the advice to turn the protection off


def test_pickle_beside_safetensors_is_never_opened(tiny_classifier_dir, tmp_path, marker):
    from transformers import AutoModelForSequenceClassification

    folder = copy_model(tiny_classifier_dir, tmp_path / "model")
    (folder / "pytorch_model.bin").write_bytes(payload_bytes(marker))
    source = resolve_model_source(str(folder))
    AutoModelForSequenceClassification.from_pretrained(source.folder, **pretrained_options())


def test_try_it_runner_loads_safetensors_only(tiny_classifier_dir, tmp_path, marker):
    from workbench.core.measure.inference import TorchPredictor

    folder = copy_model(tiny_classifier_dir, tmp_path / "student")
    (folder / "pytorch_model.bin").write_bytes(payload_bytes(marker))
    assert TorchPredictor("student", folder).predict(["good day"]).shape == (1, 3)


@pytest.mark.parametrize("name", ["config.json", "tokenizer_config.json"])
def test_payload_in_a_json_settings_file_is_a_clean_error(tiny_classifier_dir, tmp_path, marker, capsys, name):
    folder = copy_model(tiny_classifier_dir, tmp_path / "model")
    (folder / name).write_bytes(payload_bytes(marker))
    err = one_line_error(capsys, ["info", str(folder)])
    assert f"{name}: is not a readable JSON file" in err


@pytest.mark.parametrize("name", ["tokenizer.json", "vocab.txt", "special_tokens_map.json"])
def test_payload_in_tokenizer_files_never_runs(tiny_classifier_dir, tmp_path, marker, name):
    folder = copy_model(tiny_classifier_dir, tmp_path / "model")
    (folder / name).write_bytes(payload_bytes(marker))
    try:
        load_tokenizer(resolve_model_source(str(folder)))
    except ModelSourceError as error:
        assert "\n" not in str(error)


@pytest.mark.parametrize("name", ["config.json", "tokenizer_config.json"])
def test_custom_code_is_refused_without_a_prompt_unless_opted_in(tiny_classifier_dir, tmp_path, marker, name):
    folder = copy_model(tiny_classifier_dir, tmp_path / "model")
    (folder / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
    settings = json.loads((folder / name).read_text())
    settings["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoTokenizer": ["evil.EvilTokenizer", None]}
    (folder / name).write_text(json.dumps(settings))
    with pytest.raises(ModelSourceError, match=r"asks to run the model's own Python code.*trust_remote_code: true"):
        resolve_model_source(str(folder))
    assert resolve_model_source(str(folder), trust_remote_code=True).trust_remote_code  # the opt-in passes


def test_custom_code_config_read_directly_is_refused_too(tiny_classifier_dir, tmp_path, marker, monkeypatch):
    """Run folders are read without resolve_model_source: transformers gets trust_remote_code=False, so an
    unknown model type with auto_map is an error, never the interactive question."""
    from workbench.core.measure.inference import TorchPredictor
    from workbench.core.sources.pruned_models import load_pruned

    folder = copy_model(tiny_classifier_dir, tmp_path / "student")
    (folder / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil", auto_map={"AutoConfig": "evil.EvilConfig"})
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr("builtins.input", lambda *_: pytest.fail("transformers asked whether to run code"))
    with pytest.raises(ModelSourceError, match="asks to run the model's own Python code"):
        TorchPredictor("student", folder)  # the try-it runner checks the folder first
    with pytest.raises(ValueError, match="trust_remote_code"):
        load_pruned(folder)  # and the loader under it would not run the code either


def test_yaml_python_tags_are_refused(tmp_path, marker, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    err = one_line_error(capsys, ["check", str(recipe)])
    assert "not valid YAML" in err and "python/object/apply" in err


def test_pickle_given_as_recipe_is_refused(tmp_path, marker, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_bytes(payload_bytes(marker))
    one_line_error(capsys, ["check", str(recipe)])


@pytest.mark.parametrize("name", ["data.csv", "data.json", "data.jsonl", "data.parquet", "data.txt", "data.pkl"])
def test_payload_given_as_data_is_refused(tiny_classifier_dir, tmp_path, marker, capsys, name):
    data = tmp_path / name
    data.write_bytes(payload_bytes(marker))
    one_line_error(capsys, ["data", str(data), "--tokenizer", str(tiny_classifier_dir)])


def test_payload_as_augmentation_cache_is_ignored_and_recomputed(tmp_path, marker):
    from workbench.core.distill.augment import cached_augmentation

    cache = tmp_path / "augmented.jsonl"
    cache.write_bytes(payload_bytes(marker))
    texts, labels = cached_augmentation(cache, {"k": 1}, lambda: (["fresh"], [0]))
    assert (texts, labels) == (["fresh"], [0])
    assert cached_augmentation(cache, {"k": 1}, lambda: pytest.fail("the rewritten cache was not reused"))


def test_run_folder_recipe_with_a_python_tag_is_refused(tmp_path, marker):
    from workbench.core.run_folder import RunFolder
    from workbench.core.run_summary import summarize

    run = tmp_path / "run"
    run.mkdir()
    (run / "recipe.yaml").write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(WorkbenchError, match="not valid YAML"):
        RunFolder.open(run).recipe()
    assert summarize(RunFolder(run)).recipe == "?"


def test_the_workbench_writes_safetensors_files_the_library_reads_back_exactly(tmp_path):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    from workbench.core.distill.checkpoints import write_safetensors

    tensors = {"w": torch.randn(3, 4), "step": torch.tensor(5), "empty": torch.zeros(0, 3),
               "half": torch.randn(2).bfloat16(), "mask": torch.tensor([True, False]), "rng": torch.arange(7).byte()}
    write_safetensors(tmp_path / "x.safetensors", tensors, {"info": "{}"})
    back = load_file(tmp_path / "x.safetensors")
    assert all(torch.equal(back[k], v) and back[k].dtype == v.dtype for k, v in tensors.items())
    with safe_open(tmp_path / "x.safetensors", "pt") as handle:
        assert handle.metadata() == {"info": "{}"}
