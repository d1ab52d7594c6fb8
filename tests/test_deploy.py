"""The deploy bundle on a finished tiny run: its files, its torch-free runner, the ORT-format model, and the
one-line refusals of runs and folders it cannot use."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_deploy import make_deployable_run, workbench_int8_logits
from workbench.cli import main
from workbench.core.compress.parity import compare
from workbench.core.deploy.bundle import write_bundle
from workbench.core.run_folder import RunFolder, write_json
from workbench.core.sources.split_inputs import load_split

RUNTIME = {"onnxruntime", "tokenizers", "numpy"}


@pytest.fixture(scope="session")
def deployable_run(tmp_path_factory, tiny_csv) -> Path:
    from workbench.core.sources.data import load_task_data

    run = make_deployable_run(tmp_path_factory.mktemp("deploy-runs") / "run", tiny_csv)
    folder = RunFolder(run)
    write_json(folder.data_manifest_path, load_task_data(folder.recipe().data).manifest())  # as the job writes them
    write_json(folder.evaluation_path, {"split": "test", "teacher": {"accuracy": 0.9, "macro_f1": 0.88},
                                                "student": {"accuracy": 0.81, "macro_f1": 0.8},
                                                "teacher_student_agreement": 0.85})
    return run


@pytest.fixture(scope="session")
def bundle(deployable_run, tmp_path_factory) -> Path:
    """Written by the command line, with the ORT-format model."""
    out = tmp_path_factory.mktemp("bundle") / "out"
    assert main(["deploy", str(deployable_run), "--out", str(out), "--format", "ort"]) == 0
    return out


@pytest.fixture
def run_copy(deployable_run, tmp_path) -> RunFolder:
    return RunFolder(Path(shutil.copytree(deployable_run, tmp_path / "run")))


def load_classifier(bundle: Path, model: str = "model.onnx"):
    """The bundle's own predict.py, imported from the bundle folder as its receiver would."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bundle_predict_{abs(hash(str(bundle)))}", bundle / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Classifier(bundle, model, threads=1)


def test_the_bundle_holds_model_tokenizer_labels_card_runner_and_pins(bundle, deployable_run):
    names = {p.name for p in bundle.iterdir()}
    assert names == {"model.onnx", "model.ort", "model.required_operators.config", "tokenizer.json", "labels.json",
                     "model-card.md", "predict.py", "requirements.txt", ".workbench-bundle.json"}
    assert not list(bundle.parent.glob(".*partial"))  # assembled aside, then moved into place
    assert json.loads((bundle / "labels.json").read_text()) == ["negative", "neutral", "positive"]
    from importlib.metadata import version

    pins = (bundle / "requirements.txt").read_text().split()
    assert pins == [f"{name}=={version(name)}" for name in ("onnxruntime", "tokenizers", "numpy")]
    assert (bundle / "model.onnx").read_bytes() == RunFolder(deployable_run).onnx_path("student-int8.onnx").read_bytes()


def test_predict_py_imports_only_onnxruntime_tokenizers_numpy_and_the_standard_library(bundle):
    tree = ast.parse((bundle / "predict.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert RUNTIME <= imported and imported - sys.stdlib_module_names == RUNTIME


def test_the_tokenizer_file_cuts_and_pads_as_the_workbench_does(bundle, deployable_run):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    max_length = RunFolder(deployable_run).recipe().data.max_length
    texts = [" ".join(["good movie"] * 40), "bad", "the car was not very nice"]
    ours = Tokenizer.from_file(str(bundle / "tokenizer.json")).encode_batch(texts)
    theirs = AutoTokenizer.from_pretrained(RunFolder(deployable_run).student_dir)(
        texts, padding=True, truncation=True, max_length=max_length)
    assert [e.ids for e in ours] == theirs["input_ids"] and len(ours[0].ids) == max_length
    assert [e.attention_mask for e in ours] == theirs["attention_mask"]
    assert [e.type_ids for e in ours] == theirs["token_type_ids"]


def test_the_bundle_labels_the_test_split_as_the_workbench_int8_model(bundle, deployable_run):
    texts = load_split(deployable_run, "test").texts
    expected = workbench_int8_logits(deployable_run, texts)
    for model in ("model.onnx", "model.ort"):  # the ORT-format file loads and agrees too
        actual = load_classifier(bundle, model).logits(texts)
        result = compare(model, "workbench int8", expected, actual, RunFolder(deployable_run).recipe().quantization)
        assert result.agreement == 1.0 and result.ok, result.message


def test_the_ort_model_loads_in_onnxruntime_with_its_operator_list(bundle):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(bundle / "model.ort"), providers=["CPUExecutionProvider"])
    assert {i.name for i in session.get_inputs()} == {"input_ids", "attention_mask", "token_type_ids"}
    operators = (bundle / "model.required_operators.config").read_text()
    assert "MatMulInteger" in operators or "DynamicQuantizeMatMul" in operators
    assert str(bundle) not in operators and "partial" not in operators


def test_the_runner_feeds_only_the_inputs_the_graph_declares(bundle, tmp_path):
    """A graph without token_type_ids (ONNX Runtime refuses an input it does not declare): logits are each
    text's attention-mask length times (1, 0, -1), so they show the mask that was fed."""
    import onnx
    from onnx import TensorProto, helper

    for name in ("tokenizer.json", "labels.json", "predict.py"):
        shutil.copy(bundle / name, tmp_path / name)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
         helper.make_node("ReduceSum", ["mask", "axes"], ["length"], keepdims=1),
         helper.make_node("Mul", ["length", "weights"], ["logits"])],
        "lengths",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids",
                                                                                             "attention_mask")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
         helper.make_tensor("weights", TensorProto.FLOAT, [1, 3], [1.0, 0.0, -1.0])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "model.onnx")
    classifier = load_classifier(tmp_path)
    assert classifier.inputs == ["input_ids", "attention_mask"]
    logits = classifier.logits(["good movie", "bad"])  # [CLS] good movie [SEP] / [CLS] bad [SEP] [PAD]
    np.testing.assert_array_equal(logits, [[4, 0, -4], [3, 0, -3]])
    assert [label for label, _ in classifier.predict(["good movie"])] == ["negative"]


def test_the_model_card_reads_the_run_and_the_measured_bundle(bundle, deployable_run):
    card = (bundle / "model-card.md").read_text()
    recipe = RunFolder(deployable_run).recipe()
    assert card.startswith(f"# {recipe.name}: a 3-label text classifier (negative / neutral / positive)")
    assert f"`{recipe.teacher.source}`" in card and "1-layer (hidden 32, 4 heads, FFN 64)" in card
    assert "| teacher (PyTorch) | 90.0% | 0.880 |" in card and "**this bundle** (predict.py's code)" in card
    assert "agrees with its teacher on 85.0%" in card
    assert f"cut to {recipe.data.max_length} tokens" in card and "ms a text" in card
    assert "| train | 60 |" in card and "no parity check against PyTorch was recorded" in card
    assert f"```yaml\n{recipe.to_yaml()}```" in card and "workbench bench RUN_DIR" in card


def test_deploying_again_replaces_the_earlier_bundle_and_ships_fp32_on_request(run_copy, tmp_path):
    from workbench.core.compress.export import export_onnx

    out = tmp_path / "out"
    write_bundle(run_copy.path, out, ort_format=True)
    export_onnx(run_copy.student_dir, run_copy.onnx_path("student-fp32.onnx"))
    bundle = write_bundle(run_copy.path, out, model="fp32")
    assert bundle.artifact == "student-fp32.onnx" and "model.ort" not in bundle.files
    assert (out / "model.onnx").read_bytes() == run_copy.onnx_path("student-fp32.onnx").read_bytes()
    assert "shipped as a fp32 ONNX model" in (out / "model-card.md").read_text()


def test_a_pruned_vocabulary_ships_the_tokenizer_the_student_uses(run_copy, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tests.tiny_onnx import write_int8_onnx
    from workbench.core.compress.vocab_pruning import prune_vocabulary, select_vocabulary

    student, tokenizer = (AutoModelForSequenceClassification.from_pretrained(run_copy.student_dir),
                          AutoTokenizer.from_pretrained(run_copy.student_dir))
    texts = load_split(run_copy.path, "train").texts
    prune_vocabulary(student, tokenizer, select_vocabulary(student, tokenizer, texts), run_copy.student_dir)
    write_int8_onnx(run_copy.student_dir, run_copy.onnx_path("student-int8.onnx"))
    bundle = write_bundle(run_copy.path, tmp_path / "out").path
    vocabulary = json.loads((bundle / "tokenizer.json").read_text())["model"]["vocab"]
    assert len(vocabulary) == student.config.vocab_size < len(tokenizer)
    test = load_split(run_copy.path, "test").texts
    result = compare("bundle", "workbench int8", workbench_int8_logits(run_copy.path, test),
                     load_classifier(bundle).logits(test), run_copy.recipe().quantization)
    assert result.agreement == 1.0 and result.ok, result.message


def deploy_error(capsys, run: Path, out: Path) -> str:
    assert main(["deploy", str(run), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))
    return err


def test_a_run_without_an_int8_model_is_refused_with_what_to_do(run_copy, tmp_path, capsys):
    run_copy.onnx_path("student-int8.onnx").unlink()
    err = deploy_error(capsys, run_copy.path, tmp_path / "out")
    assert "has no int8 ONNX student" in err and f"workbench export {run_copy.path}" in err and "--model fp32" in err


@pytest.mark.parametrize("status, says", [("cancelled", "is cancelled, not finished; finish it with `workbench run "
                                                       "--resume"), ("running", "still running")])
def test_an_unfinished_run_is_refused(run_copy, tmp_path, capsys, status, says):
    run_copy.set_status(status)
    assert says in deploy_error(capsys, run_copy.path, tmp_path / "out")


def test_an_int8_model_that_failed_its_parity_check_is_not_shipped(run_copy, tmp_path, capsys):
    write_json(run_copy.parity_path, {"results": [{"artifact": "student-int8.onnx", "ok": False,
                                                   "message": "label agreement 0.9 < 0.98"}]})
    err = deploy_error(capsys, run_copy.path, tmp_path / "out")
    assert "failed its parity check" in err and "label agreement 0.9 < 0.98" in err


def test_deploy_accepts_an_equivalent_int8_model_and_refuses_a_broken_one_naming_what_broke(run_copy, tmp_path,
                                                                                             capsys):
    from tests.tiny_onnx import change_initializer
    from workbench.core.compress.parity import check_run

    assert [r.verdict for r in check_run(run_copy.path, dev=load_split(run_copy.path, "dev"))] == ["equivalent"]
    assert main(["deploy", str(run_copy.path), "--out", str(tmp_path / "good")]) == 0
    int8 = run_copy.onnx_path("student-int8.onnx")
    change_initializer(int8, int8, "classifier.bias", lambda bias: bias + np.array([5.0, 0.0, 0.0], bias.dtype))
    assert [r.verdict for r in check_run(run_copy.path, dev=load_split(run_copy.path, "dev"))] == ["broken"]
    capsys.readouterr()  # the check's own progress lines
    err = deploy_error(capsys, run_copy.path, tmp_path / "bad")
    assert "failed its parity check" in err and "BROKEN" in err and "beyond quantization noise" in err


def test_a_folder_of_other_files_is_never_written_over(run_copy, tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"jpeg")
    assert main(["deploy", str(run_copy.path), "--out", str(out)]) == 2
    assert "is not empty and holds no earlier bundle" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["holiday.jpg"]


def test_the_model_card_quotes_the_runs_benchmark_beside_the_teacher(run_copy, tmp_path):
    def model(size: int, ms: float) -> dict:
        return {"size_bytes": size, "latency": [{"batch": 1, "seq_len": 32, "median_ms": ms}]}

    write_json(run_copy.bench_path, {"threads": 2, "models": {"teacher-torch-fp32": model(90 * 2**20, 20.0),
                                                              "student-onnx-int8": model(9 * 2**20, 2.5)}})
    card = (write_bundle(run_copy.path, tmp_path / "out").path / "model-card.md").read_text()
    assert ("batch 1, 32 tokens, 2 threads: this model 2.50 ms and 9.0 MiB, the teacher in PyTorch 20.00 ms and "
            "90.0 MiB: 8.0× faster, 10.0× smaller.") in card


@pytest.mark.parametrize("pruning, says", [
    ({"ffn_ratio": 0.5, "recovery": {"epochs": 2}}, "0% of attention heads and 50% of FFN neurons removed by "
                                                     "gradient importance; then 2 recovery epoch(s)"),
    ({"threshold": 0.2, "threshold_units": "ffn"}, "FFN neurons below 0.2 of their layer's highest gradient "
                                                   "importance removed; then 1 recovery epoch(s)"),
    ({"unstructured_sparsity": 0.3}, "30% of encoder weights zeroed (in each matrix); then 1 recovery epoch(s)"),
])
def test_the_model_card_says_how_the_student_was_pruned(run_copy, tmp_path, pruning, says):
    recipe = run_copy.recipe()
    recipe.pruning = recipe.pruning.model_validate({"enabled": True, **pruning})
    recipe.save(run_copy.recipe_path)
    card = (write_bundle(run_copy.path, tmp_path / "out").path / "model-card.md").read_text()
    assert f"- **Pruning:** {says}." in card
