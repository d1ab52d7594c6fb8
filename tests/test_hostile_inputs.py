"""A sweep of hostile and careless inputs across data, recipes, models, run faults and try-it.

Each case is one row of CASES: what to build, the command (or core call, or the deploy bundle's predict.py
in its own process) that meets it, and a fragment of the one line that must answer it. For every case: exit
code 2 (1 for predict.py, which runs without the workbench; or a WorkbenchError from the core), exactly one
line on stderr naming the problem, no traceback, and the earlier run folder beside it left intact.
Add a case by adding a row. HOSTILE_TABLE=path writes the table (case, message, exit code) for the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.alias_bomb import bomb_text
from tests.hostile import (
    World,
    added_tokens,
    auto_map_model,
    deploy_to,
    deployable,
    edit_json,
    foreign_file_in_the_way,
    gpt2_folder,
    make_deployed,
    no_tokenizer,
    payload_bytes,
    pickle_only_model,
    pickle_student,
    predict,
    rows,
    run_with_broken_recipe,
    run_without_checkpoint,
    symlink_loop,
    truncated_weights,
    try_it,
)
from tests.tiny import save_tiny_bert
from workbench.cli import main
from workbench.core.errors import WorkbenchError


@dataclass(frozen=True)
class Case:
    id: str
    expect: str  # a fragment of the one line that answers it
    argv: Callable[[World], list[str]] | None = None  # a command line ...
    call: Callable[[World], object] | None = None  # ... or a core call that must raise a WorkbenchError
    fresh_process: bool = False  # run the command in its own process, as a user does
    process: Callable[[World], tuple[list[str], bytes]] | None = None  # a Python script's argv and stdin
    code: int = 2  # the exit code that answers it


CASES = [
    # -- data ------------------------------------------------------------------------------------------------
    Case("data-empty-file", "the file is empty", lambda w: w.check(data=w.file("d.csv", ""))),
    Case("data-header-only", "has a header line but no rows",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\n"))),
    Case("data-one-class", "needs at least two classes",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\n" + rows(60, ("positive",))))),
    Case("data-class-with-one-row", "cannot split by label: The least populated class",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\n" + rows(90, ("a", "b")) + "c,lonely row\n"),
                           data__train_size=0.5, data__dev_size=0.2, data__test_size=0.2)),
    Case("data-binary-as-csv", "holds binary data", lambda w: w.check(data=w.file("d.csv", os.urandom(4096)))),
    Case("data-huge-line", "needs at least two classes",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\npositive," + "word " * 400_000 + "\n"))),
    Case("data-missing-text-column", "no column 'text'",
         lambda w: w.check(data=w.file("d.csv", "sentiment,body\n" + rows(30)))),
    Case("data-missing-label-column", "no column 'sentiment'",
         lambda w: w.check(data=w.file("d.csv", "label,text\n" + rows(30)))),
    Case("data-is-a-folder", "is a folder", lambda w: w.check(data=w.root)),
    Case("data-missing-file", "no such data file", lambda w: w.check(data=w.root / "absent.csv")),
    Case("data-unknown-format", "unknown data format '.xlsx'", lambda w: w.check(data=w.file("d.xlsx", "x"))),
    Case("data-symlink-loop", "no such data file", lambda w: w.check(data=symlink_loop(w, "loop.csv"))),
    Case("data-ragged-csv", "cannot be read as csv (Error tokenizing data",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\n" + rows(10) + "a,b,c,d,e\n"))),
    Case("data-invalid-json", "cannot be read as json", lambda w: w.check(data=w.file("d.json", "{not json"))),
    Case("data-float-labels", "holds fractional numbers",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\n" + "".join(
             f"{i / 7:.3f},text {i}\n" for i in range(60))))),
    Case("data-mixed-labels", "mixes numbers",
         lambda w: w.check(data=w.file("d.jsonl", "".join(
             json.dumps({"sentiment": [0, "positive"][i % 2], "text": f"t {i}"}) + "\n" for i in range(40))))),
    Case("data-list-labels", "holds lists",
         lambda w: w.check(data=w.file("d.jsonl", "".join(
             json.dumps({"sentiment": ["a", "b"], "text": f"t {i}"}) + "\n" for i in range(40))))),
    Case("data-text-column-as-labels", "different labels",
         lambda w: w.check(data=w.file("d.csv", "sentiment,text\n" + "".join(
             f"label {i},text {i}\n" for i in range(1200))))),
    Case("data-named-class-without-rows", "no row has that label",
         lambda w: w.check(data__label_names=["negative", "neutral", "positive", "sarcastic"])),
    Case("data-label-not-named", "are not in data.label_names",
         lambda w: w.check(data__label_names=["negative", "positive"])),
    Case("data-split-too-large", "the split asks for", lambda w: w.check(data__train_size=5000)),
    Case("data-garbage-parquet", "cannot be read as parquet",
         lambda w: w.check(data=w.file("d.parquet", b"not parquet at all"))),
    Case("data-pickle-as-data", "unknown data format '.pkl'",
         lambda w: w.check(data=w.file("d.pkl", payload_bytes(w.root / "MARKER")))),
    # -- recipes ---------------------------------------------------------------------------------------------
    Case("recipe-unknown-key", "training.epochs: unknown key",
         lambda w: ["check", str(w.file("r.yaml", "training:\n  epochs: 3\n"))]),
    Case("recipe-wrong-type", "training.batch_size: Input should be a valid integer",
         lambda w: ["check", str(w.file("r.yaml", "training:\n  batch_size: big\n"))]),
    Case("recipe-huge-number", "training.batch_size: Input should be less than or equal to 4096",
         lambda w: ["check", str(w.file("r.yaml", "training:\n  batch_size: 1000000000000000000000000000\n"))]),
    Case("recipe-negative-epochs", "Input should be greater than or equal to 0",
         lambda w: ["check", str(w.file("r.yaml", "distillation:\n  intermediate:\n    epochs: -1\n"))]),
    Case("recipe-nan-temperature", "distillation.temperature: Input should be a finite number",
         lambda w: ["check", str(w.file("r.yaml", "distillation:\n  temperature: .nan\n"))]),
    Case("recipe-is-a-list", "a recipe is a mapping of sections",
         lambda w: ["check", str(w.file("r.yaml", "- data\n- teacher\n"))]),
    Case("recipe-invalid-yaml", "not valid YAML at line 3, column 1",
         lambda w: ["check", str(w.file("r.yaml", "data:\n  source: [unclosed\n"))]),
    Case("recipe-alias-bomb", "anchors and aliases expand", lambda w: ["check", str(w.file("r.yaml", bomb_text()))],
         fresh_process=True),
    Case("recipe-alias-loop", "refers to the value that contains it",
         lambda w: ["check", str(w.file("r.yaml", "name: &a [*a]\n"))]),
    Case("recipe-python-tag", "not valid YAML",
         lambda w: ["check", str(w.file("r.yaml", "name: !!python/object/apply:os.system ['true']\n"))]),
    Case("recipe-is-a-folder", "is a folder; give a recipe file", lambda w: ["check", str(w.root)]),
    Case("recipe-missing", "no such recipe file", lambda w: ["check", str(w.root / "absent.yaml")]),
    Case("recipe-not-utf8", "is not UTF-8 text", lambda w: ["check", str(w.file("r.yaml", "name: caf\xe9\n".encode(
        "latin-1")))]),
    Case("recipe-huge-file", "too large for a recipe",
         lambda w: ["check", str(w.file("r.yaml", "name: x\n" + "#" * 2_000_000))]),
    Case("recipe-symlink-loop", "cannot read the recipe", lambda w: ["check", str(symlink_loop(w, "loop.yaml"))]),
    Case("recipe-fractions-over-one", "add up to more than 1",
         lambda w: ["check", str(w.file("r.yaml", "data:\n  train_size: 0.8\n  dev_size: 0.3\n"))]),
    Case("recipe-set-without-equals", "write it as section.key=value",
         lambda w: ["check", str(w.recipe()), "--set", "training.seed"]),
    Case("recipe-set-into-a-value", "'name' is a value, not a section",
         lambda w: ["check", str(w.recipe()), "--set", "name.x=1"]),
    Case("recipe-odd-head-split", "is not a multiple of heads",
         lambda w: w.check(student__preset="custom", student__layers=1, student__hidden_size=30, student__heads=4,
                           student__ffn_size=64, student__init="random", student__teacher_layers=None)),
    Case("recipe-output-dir-is-a-file", "is a file; give a folder",
         lambda w: w.check(output_dir=str(w.file("not-a-folder", "x")))),
    Case("recipe-name-parent-path", "name: Value error, the name names the run folders inside output_dir",
         lambda w: w.check(name="../../escaped")),
    Case("recipe-name-absolute-path", "give a plain name without /", lambda w: w.check(name="/tmp/escaped")),
    Case("recipe-name-dot-dot", "give a plain name without /", lambda w: w.check(name="..")),
    Case("recipe-name-too-long", "the name is longer than 100 bytes", lambda w: w.check(name="n" * 300)),
    Case("recipe-huge-seed", "training.seed: Input should be less than or equal to 4294967295",
         lambda w: ["check", str(w.file("r.yaml", "training:\n  seed: 99999999999999999999999\n"))]),
    Case("recipe-section-is-a-number", "data: Input should be a valid dictionary",
         lambda w: ["check", str(w.file("r.yaml", "data: 5\n"))]),
    Case("recipe-negative-split", "data.train_size: Input should be greater than 0",
         lambda w: ["check", str(w.file("r.yaml", "data:\n  train_size: -5\n"))]),
    Case("recipe-cache-dir-is-a-file", "teacher.cache_dir", lambda w: w.check(
        teacher__cache_dir=str(w.file("cache-file", "x")))),
    Case("recipe-cache-dir-under-a-file", "is a file; give a folder for the fine-tuned teachers", lambda w: w.check(
        teacher__cache_dir=str(w.file("cache-file", "x") / "teachers"))),
    # -- models ----------------------------------------------------------------------------------------------
    Case("model-missing-folder", "no such model folder", lambda w: w.check(teacher=w.root / "absent")),
    Case("model-folder-without-config", "holds no model (no config.json)",
         lambda w: w.check(teacher=w.file("empty/readme.txt", "x").parent)),
    Case("model-path-is-a-file", "is a file, not a model folder", lambda w: w.check(teacher=w.file("m.bin", "x"))),
    Case("model-corrupt-config", "config.json: is not a readable JSON file",
         lambda w: w.check(teacher=w.file("model/config.json", "{broken").parent)),
    Case("model-config-not-an-object", "is JSON but not an object",
         lambda w: w.check(teacher=w.file("model/config.json", "[1, 2]").parent)),
    Case("model-unknown-model-type", "is not a model configuration transformers knows",
         lambda w: w.check(teacher=edit_json(w.model() / "config.json", model_type="no-such-type"))),
    Case("model-no-weights", "no weights",
         lambda w: w.check(teacher=w.file("model/config.json", json.dumps({"model_type": "bert"})).parent)),
    Case("model-pickle-only", "only weights are pickle files",
         lambda w: w.check(teacher=pickle_only_model(w.teacher, w.root / "model", w.root / "MARKER"))),
    Case("model-truncated-weights", "is not a readable safetensors file",
         lambda w: w.check(teacher=truncated_weights(w))),
    Case("model-tokenizer-missing", "has no tokenizer files", lambda w: w.check(teacher=no_tokenizer(w))),
    Case("model-gpt2-teacher", "model type 'gpt2' is not supported",
         lambda w: w.check(teacher=gpt2_folder(w.root / "gpt2"))),
    Case("model-custom-code", "asks to run the model's own Python code", lambda w: w.check(teacher=auto_map_model(w))),
    Case("model-symlink-loop", "no such model folder", lambda w: w.check(teacher=symlink_loop(w, "loop-model"))),
    Case("model-max-length-too-long", "longer than the teacher can read", lambda w: w.check(data__max_length=256)),
    Case("model-mapping-out-of-range", "custom mapping entry 1",
         lambda w: w.check(mapping__mode="custom", mapping__layers=[7])),
    Case("model-student-deeper-than-teacher", "the student has 3 layers but the teacher only 2",
         lambda w: w.check(student__init="random", student__layers=3, student__teacher_layers=None)),
    Case("model-teacher-layer-out-of-range", "names layer 4 but the teacher has 2",
         lambda w: w.check(student__teacher_layers=[4])),
    Case("model-tokenizer-beyond-embeddings", "embedding table only", lambda w: w.check(teacher=added_tokens(w))),
    Case("model-pretrained-student-missing", "no such model folder",
         lambda w: w.check(student__init="pretrained", student__pretrained=str(w.root / "absent"))),
    Case("model-pretrained-student-other-labels", "its head predicts",
         lambda w: w.check(student__init="pretrained", student__pretrained=str(save_tiny_bert(
             w.root / "student", with_head=True, layers=1)), data__label_names=["neutral", "negative", "positive"])),
    Case("model-head-count-mismatch", "attention loss needs equal head counts",
         lambda w: w.check(student__preset="custom", student__layers=1, student__hidden_size=32, student__heads=2,
                           student__ffn_size=64, student__init="random", student__teacher_layers=None)),
    # -- run faults ------------------------------------------------------------------------------------------
    Case("run-nothing-to-run", "give a recipe file to run", lambda w: ["run"]),
    Case("run-set-on-resume", "--set changes a recipe",
         lambda w: ["run", "--resume", str(w.earlier), "--set", "name=x"]),
    Case("run-resume-not-a-run-folder", "not a run folder (no recipe.yaml)",
         lambda w: ["run", "--resume", str(w.root)]),
    Case("run-resume-without-checkpoint", "has no checkpoint to resume from", run_without_checkpoint),
    Case("run-resume-broken-recipe", "not valid YAML", run_with_broken_recipe),
    Case("run-gpt2-teacher", "model type 'gpt2' is not supported",
         lambda w: ["run", str(w.recipe(teacher=gpt2_folder(w.root / "gpt2")))], fresh_process=True),
    Case("run-bad-data", "holds fractional numbers", lambda w: ["run", str(w.recipe(data=w.file("d.csv", (
        "sentiment,text\n" + "".join(f"{i / 7:.3f},text {i}\n" for i in range(60))))))]),
    Case("run-output-dir-is-a-file", "is a file",
         lambda w: ["run", str(w.recipe(output_dir=str(w.file("not-a-folder", "x"))))], fresh_process=True),
    Case("run-name-escapes-output-dir", "give a plain name without /",
         lambda w: ["run", str(w.recipe(name="../../escaped"))]),
    Case("run-resume-tampered-status", "has no checkpoint to resume from",
         lambda w: ["run", "--resume", str(deployable(w, status__json="[1, 2]"))]),
    # -- export, bench, report -------------------------------------------------------------------------------
    Case("export-not-a-run-folder", "not a run folder (no recipe.yaml)", lambda w: ["export", str(w.root)]),
    Case("export-broken-recipe", "not valid YAML",
         lambda w: ["export", str(deployable(w, recipe__yaml="data: [unclosed\n"))]),
    Case("export-zero-threads", "--threads 0: give a whole number from 1 to 256",
         lambda w: ["export", str(w.earlier), "--threads", "0"]),
    Case("bench-not-a-run-folder", "not a run folder (no recipe.yaml)", lambda w: ["bench", str(w.root)]),
    Case("bench-negative-threads", "--threads -3: give a whole number from 1 to 256",
         lambda w: ["bench", str(w.earlier), "--threads", "-3"]),
    Case("bench-zero-repeats", "--repeats 0: give a whole number",
         lambda w: ["bench", str(w.earlier), "--repeats", "0"]),
    Case("bench-zero-batch", "--batches 0: give a whole number", lambda w: ["bench", str(w.earlier), "--batches", "0"]),
    Case("bench-huge-batch", "--batches 1000000000: give a whole number from 1 to 4096",
         lambda w: ["bench", str(w.earlier), "--batches", "1000000000"]),
    Case("bench-huge-sequence", "--seq-lens 100000: give a whole number from 1 to 512",
         lambda w: ["bench", str(w.earlier), "--seq-lens", "100000"]),
    Case("report-not-a-run-folder", "not a run folder (no recipe.yaml)", lambda w: ["report", str(w.root)]),
    Case("report-symlink-loop", "not a run folder", lambda w: ["report", str(symlink_loop(w, "loop-run"))]),
    # -- deploy ----------------------------------------------------------------------------------------------
    Case("deploy-folder-of-other-files", "is not empty and holds no earlier bundle",
         lambda w: deploy_to(w, w.file("receiver/notes.txt", "mine").parent)),
    Case("deploy-out-is-a-file", "is a file; give a folder", lambda w: deploy_to(w, w.file("out.txt", "x"))),
    Case("deploy-out-is-the-root", "is the file system's root", lambda w: deploy_to(w, "/")),
    Case("deploy-receiver-file-in-the-way", "is in the way and was not written by workbench deploy",
         foreign_file_in_the_way),
    Case("deploy-not-a-run-folder", "not a run folder (no recipe.yaml)", lambda w: ["deploy", str(w.root)]),
    Case("deploy-tampered-status", "the run is unknown, not finished",
         lambda w: ["deploy", str(deployable(w, status__json="{not json"))]),
    Case("deploy-unfinished-path-with-space", "`workbench run --resume '",
         lambda w: ["deploy", str(deployable(w, "runs with space", status__json='{"status": "cancelled"}'))]),
    Case("deploy-failed-parity", "failed its parity check", lambda w: ["deploy", str(deployable(
        w, **{"onnx/parity__json": json.dumps({"results": [{"artifact": "student-int8.onnx", "ok": False,
                                                            "message": "differs"}]})}))]),
    # -- the bundle's predict.py, run by the receiver without the workbench ----------------------------------
    Case("predict-stdin-not-utf8", "standard input: is not UTF-8 text", process=predict(stdin=b"caf\xe9 au lait\n"),
         code=1),
    Case("predict-file-not-utf8", "is not UTF-8 text",
         process=predict("--file", "{root}/texts.txt", file=b"na\xefve text\n"), code=1),
    Case("predict-binary-file", "is not UTF-8 text", process=predict("--file", "/bin/sh"), code=1),
    Case("predict-missing-file", "no such file", process=predict("--file", "{root}/absent.txt"), code=1),
    Case("predict-file-is-a-folder", "is a folder", process=predict("--file", "{root}"), code=1),
    Case("predict-empty-text", "text 2 is empty, so there is nothing to label",
         process=predict("good day", "  "), code=1),
    Case("predict-only-empty-lines", "standard input: holds no text", process=predict(stdin=b"\n  \n\n"), code=1),
    Case("predict-labels-wrong-count", "names 2 labels but the model has 3 outputs",
         process=predict("good day", labels='["a", "b"]'), code=1),
    Case("predict-labels-not-json", "is not a readable JSON list of labels",
         process=predict("good day", labels="negative, positive"), code=1),
    Case("predict-labels-a-dict", "must be a JSON list of label names",
         process=predict("good day", labels='{"0": "negative"}'), code=1),
    Case("predict-labels-million", "is too large for a list of labels",
         process=predict("good day", labels=json.dumps([f"l{i}" for i in range(10**6)])), code=1),
    Case("predict-missing-model", "is not a readable ONNX model",
         process=predict("good day", "--model", "absent.onnx"), code=1),
    Case("predict-corrupt-tokenizer", "is not a readable tokenizer",
         process=predict("good day", tokenizer=b"{truncated"), code=1),
    # -- try-it ----------------------------------------------------------------------------------------------
    Case("tryit-no-text", "give at least one text", call=lambda w: try_it(w, lambda *_: None, texts=())),
    Case("tryit-pickle-student", "only weights are pickle files", call=lambda w: try_it(w, pickle_student)),
    Case("tryit-corrupt-student-config", "is not a readable JSON file",
         call=lambda w: try_it(w, lambda _w, folder: (folder / "config.json").write_text("{"))),
    Case("tryit-student-weights-truncated", "is not a readable safetensors file",
         call=lambda w: try_it(w, lambda _w, folder: (folder / "model.safetensors").write_bytes(b"\0" * 16))),
]


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_case(case: Case, world: World, capsys) -> tuple[int, str]:
    """The exit code and stderr of the case's command, or 2 and the message of its core call."""
    if case.process is not None:
        argv, stdin = case.process(world)
        done = subprocess.run([sys.executable, *argv], input=stdin, capture_output=True, timeout=180, cwd=world.root)
        return done.returncode, done.stderr.decode("utf-8", "replace")
    if case.call is not None:
        with pytest.raises(WorkbenchError) as caught:
            case.call(world)
        return 2, f"error: {caught.value}\n"
    argv = case.argv(world)
    capsys.readouterr()  # what building the case printed (save_pretrained's progress bars) is not the answer
    if case.fresh_process:
        done = subprocess.run([sys.executable, "-m", "workbench.cli", *argv], capture_output=True, text=True,
                              timeout=180, cwd=world.root)
        return done.returncode, done.stderr
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture(scope="session")
def deployed(tmp_path_factory, tiny_csv) -> Path:
    return make_deployed(tmp_path_factory.mktemp("deployed"), tiny_csv)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hostile_input(case: Case, tiny_base_dir, tiny_classifier_dir, tiny_csv, deployed, tmp_path, capsys):
    world = World(tmp_path, tiny_base_dir, tiny_classifier_dir, tiny_csv, deployed)
    before = snapshot(world.earlier)
    code, err = run_case(case, world, capsys)
    if table := os.environ.get("HOSTILE_TABLE"):
        with open(table, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"case": case.id, "message": err.strip(), "exit": code}) + "\n")
    assert code == case.code, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    assert case.expect in err, err
    assert snapshot(world.earlier) == before  # the earlier run folder is untouched
    assert not (tmp_path / "MARKER").exists()


def test_the_sweep_is_wide():
    kinds = {case.id.split("-")[0] for case in CASES}
    assert len(CASES) >= 40 and kinds == {"data", "recipe", "model", "run", "tryit", "export", "bench", "report",
                                          "deploy", "predict"}
    assert len({case.id for case in CASES}) == len(CASES)
