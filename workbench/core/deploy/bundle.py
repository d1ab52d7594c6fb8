"""The deploy bundle: a folder an app team runs without the workbench, with only onnxruntime, tokenizers
and numpy installed.

    OUT/model.onnx         the run's int8 ONNX student (or, with model="fp32", its fused fp32 one)
    OUT/model.ort          ORT format of the same model, for ONNX Runtime mobile builds (ort_format=True)
    OUT/model.required_operators.config   the operators a reduced ONNX Runtime build must include
    OUT/tokenizer.json     the student's own tokenizer (the pruned one after vocabulary pruning), with the
                           run's truncation and padding set inside it
    OUT/labels.json        label names in logit order
    OUT/predict.py         the runner (a copy of workbench/core/deploy/predict.py)
    OUT/requirements.txt   onnxruntime, tokenizers and numpy pinned at the versions installed here
    OUT/model-card.md      what the model is, where it comes from, how well and how fast it runs
    OUT/.workbench-bundle.json   the names of the files above that this deploy wrote

The bundle is assembled in a hidden sibling folder and moved into place at the end, so a failed deploy leaves
no half-written bundle, and it is measured (test-split accuracy, batch-1 latency) with its own predict.py code.
A later deploy into the same folder replaces only the files the manifest names: what the receiver added (notes,
the .venv the README suggests) stays; a non-empty folder without a manifest is refused.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from workbench.core.deploy import predict
from workbench.core.deploy.card import CardFacts, model_card
from workbench.core.deploy.errors import DeployError
from workbench.core.deploy.ort_format import OPERATORS_SUFFIX, convert_to_ort
from workbench.core.deploy.output_folder import OutputKind, earlier_output, move_into_place
from workbench.core.deploy.self_check import measure_bundle
from workbench.core.errors import shell_command
from workbench.core.run_folder import RunFolder, read_json
from workbench.core.sources.split_inputs import load_split

MODEL_FILE = "model.onnx"
CARD_FILE = "model-card.md"
# Every name a bundle may write: a manifest naming anything else (edited by hand) never makes deploy delete it.
BUNDLE = OutputKind("bundle", frozenset({MODEL_FILE, "model.ort", "model" + OPERATORS_SUFFIX, "tokenizer.json",
                                        "labels.json", "predict.py", "requirements.txt", CARD_FILE}),
                    marks=(CARD_FILE, "predict.py"))
RUNTIME_PACKAGES = ("onnxruntime", "tokenizers", "numpy")
# The run's ONNX artifacts each choice may ship, best first: the fused fp32 graph is the faster one.
ARTIFACTS = {"int8": ("student-int8.onnx",), "fp32": ("student-fused.onnx", "student-fp32.onnx")}


@dataclass
class Bundle:
    path: Path
    model: str  # "int8" or "fp32"
    artifact: str  # the run's ONNX file it ships, e.g. "student-int8.onnx"
    files: list[str]


def write_bundle(run_dir: str | Path, out_dir: str | Path | None = None, model: str = "int8",
                 ort_format: bool = False) -> Bundle:
    """Write the run's deploy bundle to `out_dir` (default RUN/deploy), replacing an earlier bundle's own files
    there."""
    run = RunFolder.open(run_dir)
    artifact = deployable_artifact(run, model)
    # Absolute, so that `--out .` has a name to stage beside; links are left as they are.
    out = Path(os.path.abspath(Path(out_dir).expanduser())) if out_dir else run.deploy_dir
    earlier = earlier_output(out, BUNDLE)
    staging = out.with_name(f".{out.name}.partial")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        _write_files(run, artifact, staging)
        if ort_format:
            convert_to_ort(staging / MODEL_FILE)
        measured = measure_bundle(staging, load_split(run.path, "test"))
        facts = CardFacts(model, artifact.name, _file_sizes(staging), _requirements(), measured)
        (staging / CARD_FILE).write_text(model_card(run, facts), encoding="utf-8")
        files = move_into_place(staging, out, earlier)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DeployError(f"{out}: cannot write the bundle there ({error.strerror or error}); give a folder you "
                          "can write to") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Bundle(out, model, artifact.name, files)


def deployable_artifact(run: RunFolder, model: str) -> Path:
    """The run's ONNX file to ship as `model` ("int8" or "fp32"), or one line saying why there is none: an
    unfinished run, no such artifact, or one that failed its parity check."""
    _check_finished(run)
    artifact = _artifact(run, model)
    _check_parity(run, artifact.name)
    return artifact


def _check_finished(run: RunFolder) -> None:
    status = run.status().get("status", "unknown")
    if status == "finished":
        return
    if status == "running":
        raise DeployError(f"{run.path}: the run is still running; deploy it once it has finished")
    raise DeployError(f"{run.path}: the run is {status}, not finished; finish it with "
                      f"`{shell_command('workbench', 'run', '--resume', run.path)}`, then deploy it")


def _artifact(run: RunFolder, model: str) -> Path:
    if model not in ARTIFACTS:
        raise DeployError(f"unknown model '{model}'; choose one of: {', '.join(ARTIFACTS)}")
    for name in ARTIFACTS[model]:
        if run.onnx_path(name).is_file():
            return run.onnx_path(name)
    if model == "int8":
        raise DeployError(f"{run.path}: has no int8 ONNX student (onnx/student-int8.onnx); write it with "
                          f"`{shell_command('workbench', 'export', run.path)}` (quantization on in the recipe), "
                          "or deploy --model fp32")
    raise DeployError(f"{run.path}: has no fp32 ONNX student (onnx/student-fp32.onnx); write it with "
                      f"`{shell_command('workbench', 'export', run.path)}`")


def _check_parity(run: RunFolder, artifact: str) -> None:
    """An artifact whose outputs disagreed with its PyTorch model is flagged in the run, never shipped."""
    results = read_json(run.parity_path).get("results") or []
    failed = [r for r in results if r.get("artifact") == artifact and r.get("ok") is False]
    if failed:
        raise DeployError(f"{run.path}: onnx/{artifact} failed its parity check against PyTorch "
                          f"({failed[0].get('message')}); export it again, or deploy the other model (--model)")


def _write_files(run: RunFolder, artifact: Path, folder: Path) -> None:
    shutil.copyfile(artifact, folder / MODEL_FILE)
    labels = student_labels(run.student_dir)
    write_tokenizer(run.student_dir, run.recipe().data.max_length, folder / "tokenizer.json")
    (folder / "labels.json").write_text(json.dumps(labels, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(predict.__file__, folder / "predict.py")
    pins = "".join(f"{name}=={version}\n" for name, version in _requirements().items())
    (folder / "requirements.txt").write_text(pins, encoding="utf-8")


def student_labels(student: Path) -> list[str]:
    """The label names of the student's head, in logit order."""
    from transformers import AutoConfig

    from workbench.core.sources.models import head_labels

    labels = head_labels(AutoConfig.from_pretrained(student, trust_remote_code=False))
    if not labels:
        raise DeployError(f"{student}: has no classification head, so there is nothing to deploy")
    return labels


def write_tokenizer(model_folder: Path, max_length: int, path: Path) -> None:
    """The folder's tokenizer in the tokenizers library's own format, truncating and right-padding as the
    workbench does (to the longest text of a batch, at most the recipe's max_length tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_folder, trust_remote_code=False)
    if tokenizer.pad_token_id is None:
        raise DeployError(f"{model_folder}: the tokenizer has no padding token; give it one and export again")
    backend = tokenizer.backend_tokenizer
    backend.enable_truncation(max_length)
    backend.enable_padding(direction="right", pad_id=tokenizer.pad_token_id, pad_token=tokenizer.pad_token)
    backend.save(str(path))


def _requirements() -> dict[str, str]:
    return {name: metadata.version(name) for name in RUNTIME_PACKAGES}


def _file_sizes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}


