"""The web demo: the run's int8 student in any browser, with no Python and no server.

    OUT/demo.html          one self-contained page: the model, its tokenizer, the label names, ONNX Runtime
                           Web's JavaScript and WebAssembly, the run's headline figures and its parity verdict,
                           and 100 test texts with the labels the workbench gives them. Opens from disk offline.
    OUT/web/index.html     the same page reading its files from beside it, for an app team to host:
    OUT/web/model.onnx  OUT/web/tokenizer.json  and the runtime's files (web_assets.RUNTIME_FILES)

The JavaScript comes from the npm registry at install time (resources/web/package-lock.json, `make
web-assets`); a deploy only copies it. demo.html carries its binary parts gzip-compressed and base64-encoded
(the browser's DecompressionStream unpacks them): half the size of plain base64. The demo is assembled in a
hidden sibling folder and moved into place at the end, as the bundle is.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.deploy.bundle import deployable_artifact, student_labels, write_tokenizer
from workbench.core.deploy.errors import DeployError
from workbench.core.deploy.output_folder import OutputKind, earlier_output, move_into_place
from workbench.core.deploy.web_assets import (
    PAGE,
    RUNTIME_FILES,
    TEMPLATE,
    assets_dir,
    runtime_files,
    unsupported_tokenizer_parts,
)
from workbench.core.methods.html import size_text
from workbench.core.report.headline import benchmarked_headline, latency_shape, static_headline
from workbench.core.run_folder import RunFolder, read_json
from workbench.core.sources.model_runner import OnnxRunner
from workbench.core.sources.split_inputs import encode_batches, load_split, load_tokenizer_from

DEMO_FILE, WEB_DIR = "demo.html", "web"
WEB_DEMO = OutputKind("web demo", frozenset({DEMO_FILE, WEB_DIR}), marks=(DEMO_FILE, WEB_DIR))
MODEL_FILE, TOKENIZER_FILE = "model.onnx", "tokenizer.json"
SAMPLE_TEXTS = 100  # test texts the page carries, with the workbench's labels, for its "run on samples" button


@dataclass
class WebDemo:
    path: Path  # the folder holding demo.html and web/
    demo: Path
    sizes: dict[str, int]  # what demo.html carries by role (model, wasm, ...), in bytes as embedded


def write_web_demo(run_dir: str | Path, out_dir: str | Path | None = None) -> WebDemo:
    """Write the run's web demo to `out_dir` (default RUN/web-demo), replacing an earlier demo there."""
    assets = runtime_files()  # first: without the JavaScript, nothing is written
    run = RunFolder.open(run_dir)
    artifact = deployable_artifact(run, "int8")
    out = Path(os.path.abspath(Path(out_dir).expanduser())) if out_dir else run.web_demo_dir
    earlier = earlier_output(out, WEB_DEMO)
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / WEB_DIR).mkdir(parents=True)
    try:
        web = staging / WEB_DIR
        files = {"model": web / MODEL_FILE, "tokenizer": web / TOKENIZER_FILE,
                 **{role: web / RUNTIME_FILES[role].name for role in assets}}
        shutil.copyfile(artifact, files["model"])
        write_tokenizer(run.student_dir, run.recipe().data.max_length, files["tokenizer"])
        _check_tokenizer(run, files["tokenizer"])
        for role, source in assets.items():
            shutil.copyfile(source, files[role])
        facts = _page_facts(run, artifact)
        _write_page(web / "index.html", {**facts, "files": {role: {"file": path.name} for role, path in files.items()}})
        embedded = {role: {"gzip": _packed(path)} for role, path in files.items()}
        _write_page(staging / DEMO_FILE, {**facts, "files": embedded})
        move_into_place(staging, out, earlier)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    sizes = {role: len(part["gzip"]) for role, part in embedded.items()}
    return WebDemo(out, out / DEMO_FILE, sizes)



def _check_tokenizer(run: RunFolder, tokenizer: Path) -> None:
    unsupported = unsupported_tokenizer_parts(json.loads(tokenizer.read_text(encoding="utf-8")))
    if unsupported:
        raise DeployError(f"{run.student_dir}: its tokenizer uses {', '.join(unsupported)}, which the browser's "
                          "tokenizer library (tokenizers.js) does not have, so the page could not reproduce its ids; "
                          "deploy the Python bundle instead (leave out --format web)")


def _page_facts(run: RunFolder, artifact: Path) -> dict[str, Any]:
    """What the page shows besides the model: labels, the model card's figures, the parity verdict, and the
    first test texts with the labels the workbench's int8 student gives them."""
    recipe = run.recipe()
    test = load_split(run.path, "test")
    texts = test.texts[:SAMPLE_TEXTS]
    labels = student_labels(run.student_dir)
    return {"title": recipe.name, "labels": labels, "max_length": recipe.data.max_length,
            "figures": _figures(run, artifact), "gate": _gate(run, artifact.name),
            "samples": [{"text": text, "label": labels[index]}
                        for text, index in zip(texts, _workbench_labels(run, artifact, texts), strict=True)]}


def _workbench_labels(run: RunFolder, artifact: Path, texts: list[str]) -> list[int]:
    """The int8 student's label of each text alone, through the workbench's own runner and tokenizer: one text
    at a time as the page runs it (dynamic int8 scales depend on the batch)."""
    runner = OnnxRunner(artifact, threads=1)
    batches = encode_batches(texts, load_tokenizer_from(run.student_dir), run.recipe().data.max_length, 1)
    return [int(runner(batch)[0].argmax()) for batch in batches]


def _figures(run: RunFolder, artifact: Path) -> dict[str, Any]:
    """The run's headline (size, speed and accuracy against the teacher, as the report words it) and the rows
    of the page's model card."""
    bench, evaluation, parity = read_json(run.bench_path), read_json(run.evaluation_path), read_json(run.parity_path)
    failed = {r["artifact"] for r in parity.get("results") or [] if r.get("ok") is False}
    shape = latency_shape(bench, run.recipe().data.max_length) if bench.get("models") else None
    headline = ((bench.get("models") and benchmarked_headline(bench, shape, failed))
                or static_headline(run.path, evaluation or None))
    rows = [["Model file", f"{size_text(artifact.stat().st_size)} (int8 ONNX)"]]
    teacher, student = (evaluation.get("teacher") or {}), (evaluation.get("student_int8") or {})
    if "accuracy" in teacher and "accuracy" in student:
        rows.append(["Test accuracy", f"{student['accuracy']:.1%} int8 student, {teacher['accuracy']:.1%} teacher "
                                      "(the run's test split)"])
    return {"headline": headline.text, "basis": headline.basis, "rows": rows}


def _gate(run: RunFolder, artifact: str) -> str:
    """The quality gate's verdict on the shipped file, as the run recorded it."""
    results = read_json(run.parity_path).get("results") or []
    result = next((r for r in results if r.get("artifact") == artifact), None)
    if result is None:
        return "not checked: the run recorded no parity check of this model against PyTorch"
    return str(result.get("verdict") or result.get("message"))


def _packed(path: Path) -> str:
    return base64.b64encode(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)).decode("ascii")


def _write_page(path: Path, payload: dict[str, Any]) -> None:
    """The page template with the payload as JSON (every '<' escaped, so no text can end its script element)
    and the page's own module inline."""
    template, page = ((assets_dir() / name).read_text(encoding="utf-8") for name in (TEMPLATE, PAGE))
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    page = template.replace("<!--payload-->", data, 1).replace("<!--page-->", page, 1)
    path.write_text(page, encoding="utf-8")
