"""Issue 23's failures that are not one-line refusals (those are rows of tests/test_hostile_inputs.py): a
second deploy keeps the receiver's files, a full teacher cache costs no result, a model with its own code
trains and exports after a warning, notes of what went unchecked, pasteable commands, readable JSON."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest

from tests.hostile import make_deployed
from tests.tiny import save_tiny_bert, tiny_recipe
from tests.tiny_custom_code import code_ran, save_custom_code_bert
from workbench.cli import main
from workbench.core.deploy.bundle import write_bundle
from workbench.core.deploy.output_folder import MANIFEST
from workbench.core.errors import shell_command
from workbench.core.run_folder import RunFolder


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, tiny_csv) -> Path:
    return make_deployed(tmp_path_factory.mktemp("deployed"), tiny_csv)


def test_deploying_again_replaces_only_its_own_files(deployed, tmp_path):
    run = shutil.copytree(deployed / "run", tmp_path / "run")
    out = tmp_path / "bundle"
    first = write_bundle(run, out, ort_format=True)
    (out / "NOTES.md").write_text("the receiver's notes")
    (out / ".venv" / "bin").mkdir(parents=True)  # as the bundle's README suggests
    (out / ".venv" / "bin" / "python").write_text("#!")
    second = write_bundle(run, out)  # no ORT model this time: the earlier one goes, the receiver's stay
    assert (out / "NOTES.md").read_text() == "the receiver's notes" and (out / ".venv" / "bin" / "python").is_file()
    assert "model.ort" in first.files and not (out / "model.ort").exists() and "model.ort" not in second.files
    assert json.loads((out / MANIFEST).read_text())["files"] == second.files
    assert {p.name for p in out.iterdir()} == {*second.files, MANIFEST, "NOTES.md", ".venv"}
    assert not list(tmp_path.glob(".*partial"))


def test_a_manifest_edited_by_hand_never_makes_deploy_delete_other_files(deployed, tmp_path):
    run = shutil.copytree(deployed / "run", tmp_path / "run")
    out = shutil.copytree(deployed / "bundle", tmp_path / "bundle")
    (tmp_path / "precious.txt").write_text("keep me")
    (out / "NOTES.md").write_text("keep me too")
    files = json.loads((out / MANIFEST).read_text())["files"]
    (out / MANIFEST).write_text(json.dumps({"files": [*files, "NOTES.md", "../precious.txt", "/etc/hostname", ".."]}))
    write_bundle(run, out)
    assert (tmp_path / "precious.txt").is_file() and (out / "NOTES.md").is_file()


def test_a_full_teacher_cache_costs_the_job_nothing_but_a_notice(recipe, tmp_path, monkeypatch):
    """The disk fills while the fine-tuned teacher is copied into the cache: the job finishes with its
    teacher in the run folder, says so in one notice, and leaves no half-copied entry."""
    from workbench.core.events import Finished, Notice
    from workbench.core.job import run_job
    from workbench.core.stages import teacher_reuse

    def copy_until_full(source, target, **kwargs):
        Path(target).mkdir(parents=True, exist_ok=kwargs.get("dirs_exist_ok", False))
        shutil.copy(Path(source) / "config.json", target)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(teacher_reuse.shutil, "copytree", copy_until_full)
    events = list(run_job(recipe))
    assert isinstance(events[-1], Finished) and events[-1].status == "finished", events[-1]
    notices = [e.message for e in events if isinstance(e, Notice) and "teacher cache" in e.message]
    assert len(notices) == 1 and "No space left on device" in notices[0] and "goes on" in notices[0]
    assert (Path(events[-1].run_dir) / "teacher" / "model.safetensors").is_file()
    cache = recipe.teacher_cache_dir()
    assert not [p for p in cache.rglob("*") if p.name.endswith(".partial")] if cache.exists() else True


def test_check_refuses_a_teacher_cache_it_cannot_write(recipe, tmp_path, monkeypatch, capsys):
    import os

    from workbench.core import preflight

    cache = tmp_path / "shared-cache"
    cache.mkdir()
    recipe.teacher.cache_dir = str(cache)
    real_access = os.access
    monkeypatch.setattr(preflight.os, "access", lambda path, mode: Path(path) != cache and real_access(path, mode))
    assert main(["check", str(recipe.save(tmp_path / "r.yaml"))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"teacher.cache_dir {cache}: {cache} is not writable" in err


def test_a_model_with_its_own_code_trains_and_exports_after_a_warning(tiny_csv, tmp_path, capsys):
    teacher = save_custom_code_bert(tmp_path / "custom model")
    recipe = tiny_recipe(teacher, tiny_csv, tmp_path / "runs")
    recipe.name, recipe.teacher.trust_remote_code = "modèle maison", True
    path = recipe.save(tmp_path / "recipe.yaml")
    capsys.readouterr()  # what saving the model printed
    assert main(["run", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"warning: this recipe runs the model's own Python code from {teacher} ")
    assert "modèle maison" in out  # the summary's JSON keeps non-ASCII as it is
    run = RunFolder(json.loads(out)["run_dir"])
    assert code_ran(teacher) and (run.teacher_dir / "modeling_custom.py").is_file()
    assert main(["export", str(run.path)]) == 0  # the fine-tuned teacher, with its own class, exports too
    out, err = capsys.readouterr()
    assert err.startswith("warning: this recipe runs the model's own Python code")
    assert "teacher-fp32.onnx: equivalent to PyTorch" in out and "student-fp32.onnx: equivalent to PyTorch" in out


def test_without_the_opt_in_the_models_code_never_runs(tiny_csv, tmp_path, capsys):
    teacher = save_custom_code_bert(tmp_path / "custom")
    path = tiny_recipe(teacher, tiny_csv, tmp_path / "runs").save(tmp_path / "recipe.yaml")
    capsys.readouterr()
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "asks to run the model's own Python code" in err and "warning" not in err and not code_ran(teacher)


def test_a_student_without_tokenizer_files_is_noted_in_check_and_run(recipe, tmp_path, capsys):
    from workbench.core.events import Notice
    from workbench.core.job import run_job

    student = save_tiny_bert(tmp_path / "student", with_head=True, layers=1)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (student / name).unlink(missing_ok=True)
    recipe.student = recipe.student.model_copy(update={"init": "pretrained", "pretrained": str(student),
                                                       "teacher_layers": None})
    assert main(["check", str(recipe.save(tmp_path / "r.yaml"))]) == 0
    assert f"note: the saved student {student} has no tokenizer files, so its vocabulary was not checked" in (
        capsys.readouterr().out)
    events = run_job(recipe)
    noted = next(e for e in events if isinstance(e, Notice) and "has no tokenizer files" in e.message)
    events.close()  # the notice comes before the data is read: no need to train
    assert "so its vocabulary was not checked" in noted.message


def test_printed_commands_paste_into_a_shell():
    import shlex

    command = shell_command("workbench", "run", "--resume", "runs/my run-20260101 'quoted'")
    assert shlex.split(command) == ["workbench", "run", "--resume", "runs/my run-20260101 'quoted'"]


def test_check_refuses_a_teacher_cache_on_a_read_only_file_system(recipe, tmp_path, monkeypatch, capsys):
    """Permissions say nothing of a read-only mount (root may write anywhere else): check writes a file there."""
    import tempfile

    from workbench.core import preflight

    cache = tmp_path / "mounted-cache"
    cache.mkdir()
    recipe.teacher.cache_dir = str(cache)
    real = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):  # noqa: A002 (tempfile's name)
        if Path(dir) == cache:
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(preflight.tempfile, "TemporaryFile", read_only)
    assert main(["check", str(recipe.save(tmp_path / "r.yaml"))]) == 2
    assert f"teacher.cache_dir {cache}: {cache} cannot be written (Read-only file system)" in capsys.readouterr().err


def test_labels_are_checked_against_outputs_a_graph_does_not_state(deployed, tmp_path):
    """A graph whose output size is symbolic: the count is checked on the first logits, not trusted."""
    import onnx
    from onnx import TensorProto, helper

    from workbench.core.deploy.predict import BundleError, Classifier

    for name in ("tokenizer.json", "predict.py"):
        shutil.copy(deployed / "bundle" / name, tmp_path / name)
    (tmp_path / "labels.json").write_text('["a", "b"]')
    graph = helper.make_graph(  # logits: the attention mask itself, one "logit" per token
        [helper.make_node("Cast", ["attention_mask"], ["logits"], to=TensorProto.FLOAT)], "mask",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids",
                                                                                             "attention_mask")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "sequence"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "model.onnx")
    classifier = Classifier(tmp_path)
    with pytest.raises(BundleError, match="names 2 labels but the model has 5 outputs"):
        classifier.predict(["good movie day"])  # [CLS] good movie day [SEP]
